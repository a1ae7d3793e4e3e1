"""Readers that turn dataset layouts into training items: one (video, expression)
each, with lazy access to frames and target masks.

* `instrack`: the InsTrack layout (SPEC §1); each video's seed and, optionally,
  its rephrasings (stage 3, paper Table 4 ⑤).
* `refytvos`: Ref-YouTube-VOS as released: ROOT/train/{JPEGImages,Annotations},
  expressions in ROOT/meta_expressions/train/meta_expressions.json (or
  ROOT/train/meta_expressions.json); annotation PNGs hold object ids.
* `images`: image referring / reasoning segmentation data from a JSON Lines
  manifest of our own, one {"image": PATH, "mask": PATH, "text": TEXT,
  "style": "referring"|"instruction", "obj_id": [ids]} per line, paths relative
  to the manifest; an image is a one-frame video.
* stage 1 of §4.1 in the released formats: image_sets.py (ADE20K, COCO-Stuff,
  PACO-LVIS, PASCAL-Part, PartImageNet), refer.py (RefCOCO/+/g),
  conversations.py (LLaVA-Instruct-150k, ReasonSeg).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from instrack.errors import DataError, UsageError
from instrack.fileio import read_json
from instrack.dataset.layout import parse_meta, read_split
from instrack.masks import MaskError, read_mask
from instrack.dataset.model import REPHRASE


class TargetSource(Protocol):
    """Where an item's target masks come from when they are not palette PNGs of
    object ids (label maps, COCO polygons / RLE, LabelMe polygons)."""

    def load(self, index: int) -> np.ndarray:
        """The target of frame `index`: 0 background, 1 target, 255 void."""


@dataclass(frozen=True)
class TrainItem:
    """One training conversation about one video or image (an image is a
    one-frame video). Picklable: DataLoader workers receive items."""

    name: str
    frames: tuple[Path, ...]
    masks: tuple[Path, ...]  # palette / id PNGs, one per frame (video data)
    obj_ids: tuple[int, ...]
    text: str  # target description, instruction or reasoning query
    style: str  # "referring", "instruction" or "vqa" (text only)
    #: a free-form answer kept after <TK>, <PO> (ReasonSeg explanations)
    explanation: str | None = None
    #: the (user, assistant) turns of a text-only conversation (VQA)
    turns: tuple[tuple[str, str], ...] = ()
    #: targets not stored as id PNGs; None: `masks` with `obj_ids`
    target_source: TargetSource | None = None
    #: the dataset it came from (the sampling mix, logs)
    source: str = ""

    @property
    def has_target(self) -> bool:
        return self.style != "vqa"

    def conversation(self, rng=None, options=None) -> list[tuple[str, str]]:
        """The (user, assistant) turns the brain is trained on (data/templates.py)."""
        from trackgpt.data import templates

        if self.style == "vqa":
            return templates.vqa_turns(self.turns)
        return templates.conversation(self.text, self.style, rng, explanation=self.explanation,
                                      options=options or templates.DEFAULT_OPTIONS)

    def image(self, index: int) -> np.ndarray:
        return read_rgb(self.frames[index])

    def target(self, index: int) -> np.ndarray | None:
        """0 = background, 1 = target (union of obj_ids), 255 = void; None for text-only items."""
        if not self.has_target:
            return None
        if self.target_source is not None:
            return self.target_source.load(index)
        path = self.masks[index]
        try:
            ann = read_mask(path)
        except (MaskError, OSError) as err:
            raise DataError(f"{path}: {err}") from err
        out = np.isin(ann, self.obj_ids).astype(np.uint8)
        if 255 not in self.obj_ids:
            out[ann == 255] = 255
        return out


def read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as err:
        raise DataError(f"{path}: unreadable image ({err})") from err


def _items_from_split(split, style: str, rephrasings: bool, source: str) -> list[TrainItem]:
    items = []
    for video in split.videos.values():
        frames = tuple(video.image_path(f) for f in video.frames)
        masks = tuple(video.mask_path(f) for f in video.frames)
        for ins in video.instructions:
            if ins.kind == REPHRASE and not rephrasings:
                continue
            items.append(TrainItem(f"{video.name}/{ins.exp_id}", frames, masks, ins.obj_ids, ins.text, style,
                                   source=source))
    return items


def read_instrack(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    return _items_from_split(read_split(root, split), "instruction", rephrasings, "instrack")


def read_ref_youtube_vos(root: str | Path, split: str = "train", rephrasings: bool = True) -> list[TrainItem]:
    root = Path(root)
    candidates = [root / "meta_expressions" / split / "meta_expressions.json", root / split / "meta_expressions.json"]
    meta_path = next((p for p in candidates if p.is_file()), None)
    if meta_path is None:
        raise DataError(f"{root}: no Ref-YouTube-VOS expressions (looked for {candidates[0]} and {candidates[1]})")
    meta = read_json(meta_path)
    return _items_from_split(parse_meta(meta, split, root / split, str(meta_path)), "referring", rephrasings, "refytvos")


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
        items.append(TrainItem(f"{path.stem}:{number}", (image,), (mask,), obj_ids, text, style, source="images"))
    return items


def _lazy(module: str, name: str) -> Callable[..., list]:
    def read(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    read.__name__ = name
    return read


#: dataset kind -> reader(path, split=, rephrasings=) -> items. Stage-1 readers
#: may return lazy items (with `sample(rng) -> TrainItem`) that choose the class
#: or sentence when drawn.
READERS: dict[str, Callable[..., list]] = {
    "instrack": read_instrack,
    "refytvos": read_ref_youtube_vos,
    "images": read_image_manifest,
    "ade20k": _lazy("trackgpt.data.image_sets", "read_ade20k"),
    "cocostuff": _lazy("trackgpt.data.image_sets", "read_cocostuff"),
    "paco_lvis": _lazy("trackgpt.data.image_sets", "read_paco_lvis"),
    "pascal_part": _lazy("trackgpt.data.image_sets", "read_pascal_part"),
    "partimagenet": _lazy("trackgpt.data.image_sets", "read_partimagenet"),
    "refcoco": _lazy("trackgpt.data.refer", "read_refcoco"),
    "refcoco+": _lazy("trackgpt.data.refer", "read_refcoco_plus"),
    "refcocog": _lazy("trackgpt.data.refer", "read_refcocog"),
    "llava_instruct": _lazy("trackgpt.data.conversations", "read_llava_instruct"),
    "reasonseg": _lazy("trackgpt.data.conversations", "read_reasonseg"),
}


def read_dataset(kind: str, path: str | Path, split: str = "train", rephrasings: bool = True) -> list:
    if kind not in READERS:
        raise UsageError(f"--data {kind}=...: unknown dataset kind (known: {', '.join(READERS)})")
    if not Path(path).exists():
        raise DataError(f"{path}: not found (--data {kind}=...)")
    items = READERS[kind](path, split=split, rephrasings=rephrasings)
    if not items:
        raise DataError(f"{path}: no training items ({kind}, split {split})")
    return items
