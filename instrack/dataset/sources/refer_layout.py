"""The Ref-YouTube-VOS layout, which Ref-DAVIS17 shares once ReferFormer's
tools/data/convert_davis_to_ytvos.py has converted it (wjn922/ReferFormer):

    ROOT/meta_expressions/<split>/meta_expressions.json
        {"videos": {V: {"expressions": {"0": {"exp": "...", "obj_id": "1"}, ...},
                        "frames": ["00000", ...]}}}
    ROOT/<split>/Annotations/<V>/<frame>.png    palette PNG, value = object id
    ROOT/<split>/JPEGImages/<V>/<frame>.jpg

Splits are named "train" and "valid" (and "test" for Ref-YouTube-VOS); "val"
is read as "valid". Ref-DAVIS17's valid/Annotations are DAVIS's unsupervised
annotations, as the converter moves them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from instrack.dataset.sources.davis_layout import DavisSequence
from instrack.errors import DataError
from instrack.fileio import read_json

META_DIR = "meta_expressions"
META_NAME = "meta_expressions.json"


@dataclass(frozen=True)
class ReferExpression:
    exp_id: str
    obj_ids: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class ReferVideo:
    name: str
    frames: tuple[str, ...]
    mask_dir: Path
    expressions: tuple[ReferExpression, ...]

    def mask_path(self, frame: str) -> Path:
        return self.mask_dir / f"{frame}.png"


@dataclass(frozen=True)
class ReferLayout:
    root: Path
    split: str
    meta_path: Path
    videos: tuple[ReferVideo, ...]


def is_refer_layout(root: str | Path) -> bool:
    return (Path(root) / META_DIR).is_dir()


def _split_name(root: Path, split: str) -> str:
    if not (root / META_DIR / split).is_dir() and split == "val" and (root / META_DIR / "valid").is_dir():
        return "valid"
    return split


def parse_obj_ids(value, where: str) -> tuple[int, ...]:
    """obj_id as the converters write it ("1"), or an int, or a list of either."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not (isinstance(item, int) or (isinstance(item, str) and item.isdigit())):
            raise DataError(f"{where}: obj_id {value!r} is not an object id (a non-negative integer)")
        out.append(int(item))
    if not out:
        raise DataError(f"{where}: obj_id is empty")
    return tuple(out)


def _load_meta(path: Path) -> dict:
    if not path.is_file():
        found = sorted(p.name for p in path.parent.parent.iterdir() if p.is_dir()) if path.parent.parent.is_dir() else []
        hint = f" (splits here: {', '.join(found)})" if found else ""
        raise DataError(f"{path}: missing{hint}")
    meta = read_json(path)
    if not isinstance(meta, dict) or not isinstance(meta.get("videos"), dict):
        raise DataError(f'{path}: expected {{"videos": {{...}}}}')
    return meta["videos"]


def _mask_frames(mask_dir: Path) -> set[str]:
    try:
        return {name[:-4] for name in os.listdir(mask_dir) if name.endswith(".png")}
    except FileNotFoundError:
        return set()


def read_refer_layout(root: str | Path, split: str) -> ReferLayout:
    root = Path(root)
    split = _split_name(root, split)
    meta_path = root / META_DIR / split / META_NAME
    videos = []
    for name, entry in _load_meta(meta_path).items():
        where = f"{meta_path}: video {name}"
        if not isinstance(entry, dict) or not isinstance(entry.get("frames"), list) or not entry["frames"]:
            raise DataError(f"{where}: needs a non-empty 'frames' list")
        if not isinstance(entry.get("expressions"), dict):
            raise DataError(f"{where}: needs an 'expressions' object")
        frames = tuple(str(f) for f in entry["frames"])
        mask_dir = root / split / "Annotations" / name
        present = _mask_frames(mask_dir)
        missing = [f for f in frames if f not in present]
        if missing:
            raise DataError(f"{mask_dir}: no ground-truth PNG for {len(missing)} of {len(frames)} frame(s) "
                            f"listed in {meta_path} (first: {missing[0]}.png)")
        expressions = []
        for exp_id, exp in entry["expressions"].items():
            if not isinstance(exp, dict) or "obj_id" not in exp:
                raise DataError(f"{where}, expression {exp_id}: needs an obj_id")
            obj_ids = parse_obj_ids(exp["obj_id"], f"{where}, expression {exp_id}")
            expressions.append(ReferExpression(str(exp_id), obj_ids, str(exp.get("exp", ""))))
        videos.append(ReferVideo(name, frames, mask_dir, tuple(expressions)))
    return ReferLayout(root, split, meta_path, tuple(videos))


def read_refer_sequences(root: str | Path, split: str) -> tuple[list[DavisSequence], str]:
    """The layout's videos as DAVIS sequences (frames: the ground-truth PNGs in
    sorted order, objects: ids 1..max of the first), for the DAVIS protocols."""
    root = Path(root)
    split = _split_name(root, split)
    meta_path = root / META_DIR / split / META_NAME
    sequences = []
    for name in _load_meta(meta_path):
        mask_dir = root / split / "Annotations" / name
        frames = tuple(sorted(_mask_frames(mask_dir)))
        if not frames:
            raise DataError(f"{mask_dir}: no ground-truth PNGs for video {name} listed in {meta_path}")
        sequences.append(DavisSequence(name, frames, mask_dir))
    return sequences, split
