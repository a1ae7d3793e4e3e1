"""Stage-1 semantic and part segmentation sets (paper §4.1, following LISA), read
in the layouts their releases ship:

* `ade20k`: ADEChallengeData2016: ROOT/images/training/*.jpg,
  ROOT/annotations/training/*.png (0 = "other", void; k = class k of
  ROOT/objectInfo150.txt, whose Name column lists synonyms, the first is used).
* `cocostuff`: stuffthingmaps_trainval2017: ROOT/train2017/*.png (value v =
  COCO-Stuff class v+1, 255 unlabelled), class names from ROOT/labels.txt in
  the COCO-Stuff repository's "N: name" form (0: unlabeled), images from the COCO
  train2017 folder (ROOT/images/train2017, or LISA's sibling ../coco/train2017).
* `paco_lvis`: PACO: ROOT/annotations/paco_lvis_v1_train.json (COCO format;
  "object" or "object:part" names with "_(sense)" suffixes), images under COCO's
  folder by file_name ("train2017/...").
* `pascal_part`: VLPart's PASCAL-Part: ROOT/train.json (COCO format,
  "object:part" names), images ROOT/VOCdevkit/VOC2010/JPEGImages.
* `partimagenet`: PartImageNet: ROOT/annotations/train.json (or
  annotations/train/train.json; COCO format, part names with the object
  super-category), images ROOT/images/train.

As in LISA, each draw picks an image, then one class present in it (label
maps) or one annotation (COCO sets); the target is that class's pixels. LISA's
choices kept (they are LISA's, not the paper's): ADE20K's "other" and COCO-Stuff's
"*-other"-style merged classes (names with "-") are void, part names read "object
part" or "the part of the object" at random.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrack.errors import DataError
from instrack.fileio import read_json
from trackgpt.data.readers import TrainItem


# ---- targets -----------------------------------------------------------------


@dataclass(frozen=True)
class LabelMapTarget:
    """Pixels of one class of a label-map PNG; some values are void."""

    path: Path
    value: int
    void: tuple[int, ...] = (255,)

    def load(self, index: int) -> np.ndarray:
        label = read_label_map(self.path)
        out = (label == self.value).astype(np.uint8)
        out[np.isin(label, self.void)] = 255
        return out


@dataclass(frozen=True)
class CocoTarget:
    """One COCO annotation's segmentation (polygons, RLE or uncompressed RLE)."""

    segmentation: object  # as in the JSON; frozen dataclass needs no hashing of it
    height: int
    width: int

    def load(self, index: int) -> np.ndarray:
        return decode_coco_segmentation(self.segmentation, self.height, self.width)

    __hash__ = object.__hash__


def decode_coco_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """A binary mask from a COCO segmentation; DataError when it is malformed."""
    try:
        return _decode_coco(segmentation, height, width)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:
        raise DataError(f"malformed COCO segmentation ({type(err).__name__}: {err})") from err


def _decode_coco(segmentation, height: int, width: int) -> np.ndarray:
    import warnings

    from pycocotools import mask as coco_mask

    if isinstance(segmentation, list):  # polygons
        if not segmentation:
            return np.zeros((height, width), np.uint8)
        rles = coco_mask.frPyObjects(segmentation, height, width)
        rle = coco_mask.merge(rles)
    elif isinstance(segmentation.get("counts"), list):  # uncompressed RLE
        rle = coco_mask.frPyObjects(segmentation, height, width)
    else:
        rle = dict(segmentation)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode()
    with warnings.catch_warnings():  # pycocotools 2.0.x vs NumPy 2's copy keyword: noise only
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(rle).astype(np.uint8)


def read_label_map(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode not in ("L", "P", "I", "I;16"):
                raise DataError(f"{path}: label map in mode {image.mode}, expected one channel of class indices")
            return np.asarray(image)
    except OSError as err:
        raise DataError(f"{path}: unreadable label map ({err})") from err


# ---- label-map sets (ADE20K, COCO-Stuff) -------------------------------------


@dataclass(frozen=True)
class LabelMapImage:
    """An image whose label map is read when it is drawn (indexing 118k COCO-Stuff
    maps up front would take minutes): `sample` picks a class present in it."""

    source: str
    image: Path
    label: Path
    names: tuple[str, ...]  # label value -> class name ("" for void values)
    void: tuple[int, ...]

    def sample(self, rng: random.Random) -> TrainItem | None:
        label = read_label_map(self.label)
        present = [int(v) for v in np.unique(label) if int(v) not in self.void and int(v) < len(self.names)
                   and self.names[int(v)]]
        if not present:
            return None
        value = rng.choice(present)
        return TrainItem(f"{self.source}:{self.image.stem}:{value}", (self.image,), (), (), self.names[value],
                         "referring", target_source=LabelMapTarget(self.label, value, self.void),
                         source=self.source)


def _ade20k_names(root: Path) -> list[str]:
    """objectInfo150.txt (tab-separated Idx Ratio Train Val Name, as released) or
    object150_info.csv (CSAIL's repository; Name with ';' between synonyms)."""
    for name in ("objectInfo150.txt", "objectInfo150.csv", "object150_info.csv"):
        path = root / name
        if path.is_file():
            break
    else:
        raise DataError(f"{root}: no objectInfo150.txt (ADE20K's class list, part of ADEChallengeData2016)")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sep = "\t" if "\t" in lines[0] else ","
    header = [h.strip().lower() for h in lines[0].split(sep)]
    if "name" not in header or "idx" not in header:
        raise DataError(f"{path}: expected a header with Idx and Name columns, got {lines[0]!r}")
    names = [""] * 151  # value 0 = "other objects": void, as LISA
    for number, line in enumerate(lines[1:], 2):
        cells = line.split(sep)
        try:
            index = int(cells[header.index("idx")])
            name = sep.join(cells[header.index("name"):]).strip().strip('"')
        except (ValueError, IndexError) as err:
            raise DataError(f"{path}:{number}: expected Idx and Name ({err})") from err
        if not 1 <= index <= 150:
            raise DataError(f"{path}:{number}: class index {index} outside 1..150")
        names[index] = re.split(r"[;,]", name)[0].strip()
    return names


def read_ade20k(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[LabelMapImage]:
    root = Path(root)
    folder = {"train": "training", "val": "validation"}.get(split, split)
    images = root / "images" / folder
    if not images.is_dir():
        raise DataError(f"{root}: no images/{folder} (ADEChallengeData2016 layout)")
    names = tuple(_ade20k_names(root))
    out = []
    for image in sorted(images.glob("*.jpg")):
        label = root / "annotations" / folder / f"{image.stem}.png"
        if not label.is_file():
            raise DataError(f"{image}: no annotation {label}")
        out.append(LabelMapImage("ade20k", image, label, names, (0, 255)))
    return out


def _coco_images(root: Path, split: str) -> Path:
    candidates = [root / "images" / f"{split}2017", root.parent / "coco" / f"{split}2017"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataError(f"{root}: COCO {split}2017 images not found (looked in {candidates[0]} and {candidates[1]})")


def read_cocostuff(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[LabelMapImage]:
    root = Path(root)
    labels = root / f"{split}2017"
    if not labels.is_dir():
        raise DataError(f"{root}: no {split}2017 label maps (stuffthingmaps_trainval2017 layout)")
    names_path = root / "labels.txt"
    if not names_path.is_file():
        raise DataError(f"{root}: no labels.txt (COCO-Stuff's 'N: name' class list, 0: unlabeled)")
    table = {}
    for number, line in enumerate(names_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        key, sep, name = line.partition(":")
        if not sep or not key.strip().isdigit():
            raise DataError(f"{names_path}:{number}: expected 'N: name', got {line!r}")
        table[int(key)] = name.strip()
    # PNG value v is class v+1 (0 is person); 255 unlabelled. LISA voids names with "-".
    names = tuple("" if "-" in table.get(v + 1, "-") else table[v + 1] for v in range(max(table)))
    void = tuple(v for v in range(256) if v >= len(names) or not names[v])
    images = _coco_images(root, split)
    out = []
    for label in sorted(labels.glob("*.png")):
        out.append(LabelMapImage("cocostuff", images / f"{label.stem}.jpg", label, names, void))
    return out


# ---- COCO-format part sets (PACO-LVIS, PASCAL-Part, PartImageNet) ------------


@dataclass(frozen=True)
class CocoImage:
    """An image of a COCO-format set with its annotations; `sample` picks one."""

    source: str
    image: Path
    height: int
    width: int
    annotations: tuple[tuple[object, tuple[str, ...]], ...]  # (segmentation, name: (object,) or (object, part))

    def sample(self, rng: random.Random) -> TrainItem:
        segmentation, name = self.annotations[rng.randrange(len(self.annotations))]
        if len(name) == 2:
            obj, part = name
            text = f"{obj} {part}" if rng.random() < 0.5 else f"the {part} of the {obj}"
        else:
            text = name[0]
        return TrainItem(f"{self.source}:{self.image.stem}", (self.image,), (), (), text, "referring",
                         target_source=CocoTarget(segmentation, self.height, self.width), source=self.source)

    __hash__ = object.__hash__


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    return read_json(path)


def _coco_items(source: str, ann_path: Path, image_root: Path, name_of) -> list[CocoImage]:
    data = _load_json(ann_path)
    try:
        names = {int(c["id"]): name_of(c) for c in data["categories"]}
        by_image: dict[int, list] = {}
        for ann in data["annotations"]:
            if ann.get("segmentation"):
                by_image.setdefault(int(ann["image_id"]), []).append((ann["segmentation"], names[int(ann["category_id"])]))
        out = []
        for info in data["images"]:
            anns = by_image.get(int(info["id"]))
            if anns:
                out.append(CocoImage(source, image_root / info["file_name"], int(info["height"]), int(info["width"]),
                                     tuple(anns)))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataError(f"{ann_path}: not a COCO-format annotation file ({type(err).__name__}: {err})") from err
    return out


def _strip_sense(name: str) -> str:
    """LVIS names carry a sense: "bench_(seat)" -> "bench"; underscores read as spaces."""
    return name.split("_(")[0].replace("_", " ").strip()


def _object_part(category: dict) -> tuple[str, ...]:
    parts = category["name"].strip().split(":")
    if len(parts) > 2:
        raise ValueError(f"category name {category['name']!r}")
    return tuple(_strip_sense(p) for p in parts)


def read_paco_lvis(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[CocoImage]:
    root = Path(root)
    ann = root / "annotations" / f"paco_lvis_v1_{split}.json"
    # PACO's file_name starts with "train2017/": the image root is COCO's folder.
    candidates = [root / "images", root.parent.parent / "coco", root.parent / "coco"]
    image_root = next((c for c in candidates if c.is_dir()), None)
    if image_root is None:
        raise DataError(f"{root}: COCO images not found (looked in {', '.join(map(str, candidates))})")
    return _coco_items("paco_lvis", ann, image_root, _object_part)


def read_pascal_part(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[CocoImage]:
    root = Path(root)
    return _coco_items("pascal_part", root / f"{split}.json", root / "VOCdevkit" / "VOC2010" / "JPEGImages",
                       _object_part)


def read_partimagenet(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[CocoImage]:
    root = Path(root)
    candidates = [root / "annotations" / f"{split}.json", root / "annotations" / split / f"{split}.json"]
    ann = next((c for c in candidates if c.is_file()), candidates[0])

    def name_of(category: dict) -> tuple[str, ...]:
        obj, part = category.get("supercategory", ""), category["name"]
        part = part[len(obj):].strip() if obj and part.lower().startswith(obj.lower()) else part
        return (obj.lower(), part.lower()) if obj else (part.lower(),)

    return _coco_items("partimagenet", ann, root / "images" / split, name_of)
