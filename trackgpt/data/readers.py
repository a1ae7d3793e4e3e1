"""Readers that turn dataset layouts into training items: one (video, expression)
each, with lazy access to frames and target masks.

* `instrack`: the InsTrack layout (SPEC §1); each video's seed and, optionally,
  its rephrasings (stage 3, paper Table 4 ⑤).
* `refytvos`: Ref-YouTube-VOS as released: ROOT/train/{JPEGImages,Annotations},
  expressions in ROOT/meta_expressions/train/meta_expressions.json (or
  ROOT/train/meta_expressions.json); annotation PNGs hold object ids.
* `images`: image referring / reasoning segmentation data (stage 1) from a JSON
  Lines manifest, one {"image": PATH, "mask": PATH, "text": TEXT,
  "style": "referring"|"instruction", "obj_id": [ids]} per line, paths relative
  to the manifest; an image is a one-frame video.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from instrack.errors import DataError, UsageError
from instrack.dataset.layout import parse_meta, read_split
from instrack.masks import MaskError, read_mask
from instrack.dataset.model import REPHRASE


@dataclass(frozen=True)
class TrainItem:
    name: str
    frames: tuple[Path, ...]
    masks: tuple[Path, ...]
    obj_ids: tuple[int, ...]
    text: str
    style: str  # "referring" or "instruction"

    def image(self, index: int) -> np.ndarray:
        from PIL import Image

        path = self.frames[index]
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        except OSError as err:
            raise DataError(f"{path}: unreadable image ({err})") from err

    def target(self, index: int) -> np.ndarray:
        """0 = background, 1 = target (union of obj_ids), 255 = void."""
        path = self.masks[index]
        try:
            ann = read_mask(path)
        except (MaskError, OSError) as err:
            raise DataError(f"{path}: {err}") from err
        out = np.isin(ann, self.obj_ids).astype(np.uint8)
        if 255 not in self.obj_ids:
            out[ann == 255] = 255
        return out


def _items_from_split(split, style: str, rephrasings: bool) -> list[TrainItem]:
    items = []
    for video in split.videos.values():
        frames = tuple(video.image_path(f) for f in video.frames)
        masks = tuple(video.mask_path(f) for f in video.frames)
        for ins in video.instructions:
            if ins.kind == REPHRASE and not rephrasings:
                continue
            items.append(TrainItem(f"{video.name}/{ins.exp_id}", frames, masks, ins.obj_ids, ins.text, style))
    return items


def read_instrack(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    return _items_from_split(read_split(root, split), "instruction", rephrasings)


def read_ref_youtube_vos(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    root = Path(root)
    candidates = [root / "meta_expressions" / split / "meta_expressions.json", root / split / "meta_expressions.json"]
    meta_path = next((p for p in candidates if p.is_file()), None)
    if meta_path is None:
        raise DataError(f"{root}: no Ref-YouTube-VOS expressions (looked for {candidates[0]} and {candidates[1]})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{meta_path}: not valid JSON ({err})") from err
    return _items_from_split(parse_meta(meta, split, root / split, str(meta_path)), "referring", rephrasings)


def read_image_manifest(path: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: image manifest (JSON Lines) not found")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            image, mask, text = path.parent / rec["image"], path.parent / rec["mask"], rec["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise DataError(f"{path}:{number}: expected {{\"image\", \"mask\", \"text\"}} ({err})") from err
        obj_ids = tuple(int(i) for i in rec.get("obj_id", [1]))
        style = rec.get("style", "referring")
        items.append(TrainItem(f"{path.stem}:{number}", (image,), (mask,), obj_ids, text, style))
    return items


READERS: dict[str, Callable[..., list[TrainItem]]] = {
    "instrack": read_instrack,
    "refytvos": read_ref_youtube_vos,
    "images": read_image_manifest,
}


def read_dataset(kind: str, path: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    if kind not in READERS:
        raise UsageError(f"--data {kind}=...: unknown dataset kind (known: {', '.join(READERS)})")
    items = READERS[kind](path, split=split, rephrasings=rephrasings)
    if not items:
        raise DataError(f"{path}: no training items ({kind}, split {split})")
    return items
