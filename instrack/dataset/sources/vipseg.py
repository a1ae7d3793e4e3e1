"""Reading VIPSeg as downloaded.

    VIPSeg/imgs/<video>/<frame>.jpg          (VIPSeg_720P/images/ after change2_720p.py)
    VIPSeg/panomasks/<video>/<frame>.png     16-bit PNG of integers
    VIPSeg/panoVIPSeg_categories.json        [{"id": 0, "name": "wall", "isthing": 0}, ...]
    VIPSeg/{train,val,test}.txt              optional video lists

A panomask value v is: 0 void; 1..124 a stuff class (category id v - 1);
>= 125 a thing instance, category id v // 100 - 1, instance v % 100 (so the
README's "person is 61, instances 6100, 6101, ...": person is id 60 in the
JSON). Values are read as integers from the PNG, never through an 8-bit
conversion, which would fold instance ids together. Values that contradict
the category list (a "thing" value whose category is stuff, a category the
list lacks) are reported as anomalies, not passed through.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from instrack.errors import DataError
from instrack.fileio import read_json
from instrack.masks import MaskError, read_mask

VOID = 0
THING_MIN = 125
CATEGORIES_FILE = "panoVIPSeg_categories.json"
_IMAGE_DIRS = ("imgs", "images")  # original release, 720P conversion


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    isthing: bool


@dataclass(frozen=True)
class Segment:
    """One panoptic value in a video: a stuff class or a thing instance."""

    value: int
    category: Category | None
    instance: int | None  # None for stuff

    @property
    def isthing(self) -> bool:
        return self.instance is not None


@dataclass(frozen=True)
class Anomaly:
    where: str
    value: int | None  # None when the whole file is the problem
    reason: str

    def __str__(self) -> str:
        what = "" if self.value is None else f"value {self.value}: "
        return f"{self.where}: {what}{self.reason}"


def load_categories(path: str | Path) -> dict[int, Category]:
    path = Path(path)
    try:
        entries = read_json(path)
    except FileNotFoundError as err:
        raise DataError(f"{path}: missing (VIPSeg ships it beside imgs/ and panomasks/)") from err
    if isinstance(entries, dict):  # the COCO-style json wraps them
        entries = entries.get("categories", [])
    out: dict[int, Category] = {}
    for entry in entries:
        try:
            out[int(entry["id"])] = Category(int(entry["id"]), str(entry["name"]), bool(entry["isthing"]))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"{path}: category entry {entry!r} lacks id/name/isthing") from err
    if not out:
        raise DataError(f"{path}: no categories")
    return out


def decode_value(value: int, categories: dict[int, Category]) -> tuple[Segment | None, str | None]:
    """(segment, anomaly reason) for one panomask value; (None, None) for void."""
    if value == VOID:
        return None, None
    if value < 0:
        return None, "negative value"
    if value < THING_MIN:
        category = categories.get(value - 1)
        if category is None:
            return Segment(value, None, None), f"stuff value with unknown category {value - 1}"
        if category.isthing:
            # A thing class painted without an instance id: usable as a region,
            # but not as one object.
            return Segment(value, category, None), f"'{category.name}' is a thing class but has no instance id"
        return Segment(value, category, None), None
    category_id, instance = value // 100 - 1, value % 100
    category = categories.get(category_id)
    if category is None:
        return Segment(value, None, instance), f"thing value with unknown category {category_id}"
    if not category.isthing:
        return Segment(value, category, instance), f"thing value but '{category.name}' is a stuff class"
    return Segment(value, category, instance), None


def read_panomask(path: str | Path) -> tuple[np.ndarray, str | None]:
    """(int32 array of panoptic values, anomaly or None). An 8-bit file is read
    but flagged: VIPSeg writes 16-bit PNGs, so 8 bits means a lossy conversion."""
    path = Path(path)
    try:
        values = read_mask(path)
    except (MaskError, OSError) as err:
        raise DataError(f"{path}: {err}") from err
    anomaly = None
    if values.dtype == np.uint8:
        anomaly = "8-bit PNG: VIPSeg panomasks are 16-bit, this one was probably converted and lost its instance ids"
    return values.astype(np.int32, copy=False), anomaly


class VipsegSource:
    """A VIPSeg folder (the one holding imgs/ or images/, and panomasks/)."""

    name = "vipseg"

    def __init__(self, root: str | Path, categories: str | Path | None = None):
        self.root = Path(root)
        image_dir = next((self.root / d for d in _IMAGE_DIRS if (self.root / d).is_dir()), None)
        if image_dir is None:
            raise DataError(f"{self.root}: not a VIPSeg folder (expected imgs/ and panomasks/ inside it)")
        self.images = image_dir
        self.masks = self.root / "panomasks"
        if not self.masks.is_dir():
            raise DataError(f"{self.masks}: missing (VIPSeg's panoptic masks)")
        self.categories_path = Path(categories) if categories else self.root / CATEGORIES_FILE

    @cached_property
    def categories(self) -> dict[int, Category]:
        return load_categories(self.categories_path)

    def splits(self) -> dict[str, list[str]]:
        out = {}
        for split in ("train", "val", "test"):
            path = self.root / f"{split}.txt"
            if path.is_file():
                out[split] = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return out

    def split_of(self, video: str) -> str | None:
        for split, names in self.splits().items():
            if video in names:
                return split
        return None

    def sequences(self, split: str | None = None) -> list[str]:
        if split is not None:
            names = self.splits().get(split)
            if names is None:
                raise DataError(f"{self.root / (split + '.txt')}: missing")
            return names
        return sorted(p.name for p in self.masks.iterdir() if p.is_dir() and not p.name.startswith("."))

    def require(self, video: str) -> None:
        if not (self.images / video).is_dir():
            raise DataError(f"{self.images / video}: VIPSeg video {video!r} not found")
        if not (self.masks / video).is_dir():
            raise DataError(f"{self.masks / video}: no panoptic masks for {video!r} (VIPSeg's test set has none)")

    def frames(self, video: str) -> list[str]:
        """Frames that have both an image and a mask, in order."""
        self.require(video)
        images = {p.stem for p in (self.images / video).glob("*.jpg")}
        masks = {p.stem for p in (self.masks / video).glob("*.png")}
        if not images:
            raise DataError(f"{self.images / video}: no .jpg frames")
        missing = sorted(images - masks)
        if missing:
            raise DataError(f"{self.masks / video}: no mask for frame {missing[0]} ({len(missing)} frame(s) lack one)")
        return sorted(images)

    def image_path(self, video: str, frame: str) -> Path:
        return self.images / video / f"{frame}.jpg"

    def annotation_path(self, video: str, frame: str) -> Path:
        return self.masks / video / f"{frame}.png"

    def read_annotation(self, video: str, frame: str) -> np.ndarray:
        values, _ = read_panomask(self.annotation_path(video, frame))
        return values

    def image_size(self, video: str, frame: str) -> tuple[int, int]:
        with Image.open(self.image_path(video, frame)) as image:
            return image.height, image.width

    def segments(self, video: str, frames: list[str] | None = None) -> tuple[dict[int, Segment], list[Anomaly]]:
        """Every panoptic value of a video, decoded, and the anomalies found."""
        found: dict[int, Segment] = {}
        anomalies: list[Anomaly] = []
        reported: set[tuple[int, str]] = set()
        for frame in frames or self.frames(video):
            path = self.annotation_path(video, frame)
            values, file_anomaly = read_panomask(path)
            if file_anomaly:
                anomalies.append(Anomaly(str(path), None, file_anomaly))
            for value in np.unique(values).tolist():
                if value in found or value == VOID:
                    continue
                segment, reason = decode_value(value, self.categories)
                if reason and (value, reason) not in reported:
                    reported.add((value, reason))
                    anomalies.append(Anomaly(str(path), value, reason))
                if segment is not None:
                    found[value] = segment
        return found, anomalies

    def category_of(self, value: int) -> str | None:
        segment, _ = decode_value(value, self.categories)
        return segment.category.name if segment and segment.category else None
