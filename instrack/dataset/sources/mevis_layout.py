"""The MeViS layout as released (henghuiding/MeViS README, "Dataset"):

    ROOT/<split>/meta_expressions.json
        {"videos": {V: {"frames": ["00000", ...],
                        "expressions": {"0": {"exp": "...", "obj_id": [..], "anno_id": [..]}, ...}}}}
    ROOT/<split>/mask_dict.json      {"<anno_id>": [RLE or null per frame], ...}  (mask_dict.py)
    ROOT/<split>/JPEGImages/<V>/<frame>.jpg

An expression's target in a frame is the union of the masks of its anno_ids.
MeViS v2 adds no-target expressions: their anno_id list is empty (or every
mask of their anno_ids is null), so their ground truth is empty in every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instrack.errors import DataError
from instrack.fileio import read_json

META_NAME = "meta_expressions.json"
MASK_DICT = "mask_dict.json"


@dataclass(frozen=True)
class MevisExpression:
    exp_id: str
    anno_ids: tuple[str, ...]  # as mask_dict.json's keys spell them
    text: str


@dataclass(frozen=True)
class MevisVideo:
    name: str
    frames: tuple[str, ...]
    expressions: tuple[MevisExpression, ...]


@dataclass(frozen=True)
class MevisSplit:
    root: Path  # ROOT/<split>
    split: str
    meta_path: Path
    mask_dict_path: Path
    videos: tuple[MevisVideo, ...]

    def jpeg_path(self, video: str, frame: str) -> Path:
        return self.root / "JPEGImages" / video / f"{frame}.jpg"


def _anno_ids(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DataError(f"{where}: anno_id must be a list of ids")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, str)) or not str(item).lstrip("-").isdigit():
            raise DataError(f"{where}: anno_id {item!r} is not an integer id")
        out.append(str(item))
    return tuple(out)


def read_mevis_split(root: str | Path, split: str, meta_name: str = META_NAME) -> MevisSplit:
    root = Path(root)
    split_dir = root / split
    meta_path = split_dir / meta_name
    if not meta_path.is_file():
        if (root / meta_name).is_file():
            raise DataError(f"{meta_path}: missing; --gt is the folder that holds the split folders "
                            f"(here {root.parent}, with --split {root.name}?)")
        found = sorted(p.name for p in root.iterdir() if (p / meta_name).is_file()) if root.is_dir() else []
        hint = f" (splits here: {', '.join(found)})" if found else ""
        raise DataError(f"{meta_path}: missing{hint}")
    meta = read_json(meta_path)
    if not isinstance(meta, dict) or not isinstance(meta.get("videos"), dict):
        raise DataError(f'{meta_path}: expected {{"videos": {{...}}}}')
    videos = []
    for name, entry in meta["videos"].items():
        where = f"{meta_path}: video {name}"
        if not isinstance(entry, dict) or not isinstance(entry.get("frames"), list) or not entry["frames"]:
            raise DataError(f"{where}: needs a non-empty 'frames' list")
        if not isinstance(entry.get("expressions"), dict):
            raise DataError(f"{where}: needs an 'expressions' object")
        expressions = []
        for exp_id, exp in entry["expressions"].items():
            if not isinstance(exp, dict):
                raise DataError(f"{where}, expression {exp_id}: not an object")
            anno_ids = _anno_ids(exp.get("anno_id"), f"{where}, expression {exp_id}")
            expressions.append(MevisExpression(str(exp_id), anno_ids, str(exp.get("exp", ""))))
        videos.append(MevisVideo(str(name), tuple(str(f) for f in entry["frames"]), tuple(expressions)))
    return MevisSplit(split_dir, split, meta_path, split_dir / MASK_DICT, tuple(videos))
