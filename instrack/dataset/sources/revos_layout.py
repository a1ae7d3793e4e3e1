"""The ReVOS layout, as cilinyan/ReVOS-api releases it and cilinyan/VISA
`tools/eval_revos.py` reads it:

    ROOT/JPEGImages/<video>/<frame>.jpg
    ROOT/meta_expressions_<split>_.json  {"videos": {video: {"frames": [...], "height", "width",
                                          "expressions": {exp_id: {"exp", "anno_id": [...], "type_id"}}}}}
    ROOT/mask_dict.json                  {str(anno_id): [COCO RLE or null, one per frame]}
    ROOT/mask_dict_foreground.json       {video: {"masks_rle": [RLE (or list of RLEs), one per frame]}}

type_id: 0 referring, 1 reasoning, 2 no target. Everything the scorer relies
on is checked here, and a problem is a DataError naming the file and the key:
the official scorer would meet it inside a bare `except` and score the
expression 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instrack.errors import DataError
from instrack.fileio import read_json

MASKS = "mask_dict.json"
FOREGROUND = "mask_dict_foreground.json"
TYPE_IDS = (0, 1, 2)


def meta_name(split: str) -> str:
    return f"meta_expressions_{split}_.json"


@dataclass(frozen=True)
class RevosExpression:
    exp_id: str
    text: str
    anno_ids: tuple[str, ...]  # keys of mask_dict.json
    type_id: int


@dataclass(frozen=True)
class RevosVideo:
    name: str
    frames: tuple[str, ...]
    height: int | None
    width: int | None
    expressions: tuple[RevosExpression, ...]


@dataclass(frozen=True)
class RevosSplit:
    root: Path
    split: str
    videos: tuple[RevosVideo, ...]

    @property
    def meta_path(self) -> Path:
        return self.root / meta_name(self.split)

    @property
    def mask_dict_path(self) -> Path:
        return self.root / MASKS

    @property
    def foreground_path(self) -> Path:
        return self.root / FOREGROUND

    def jpeg_path(self, video: str, frame: str) -> Path:
        return self.root / "JPEGImages" / video / f"{frame}.jpg"


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: missing")
    return read_json(path)


def read_revos_split(root: str | Path, split: str) -> RevosSplit:
    """The videos and expressions of one split, checked; the mask files are
    read later, per video (see instrack.dataset.sources.mask_dict)."""
    root = Path(root)
    path = root / meta_name(split)
    if not path.is_file():
        found = sorted(p.name for p in root.glob("meta_expressions_*_.json")) if root.is_dir() else []
        hint = f"; found {', '.join(found)}" if found else ""
        raise DataError(f"{path}: missing (ReVOS layout: ROOT/meta_expressions_<split>_.json){hint}")
    data = _load_json(path)
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise DataError(f'{path}: expected {{"videos": {{...}}}}')
    out = []
    for name, video in videos.items():
        where = f"{path}: video {name!r}"
        if not isinstance(video, dict):
            raise DataError(f"{where}: not an object")
        frames = video.get("frames")
        if not isinstance(frames, list) or not frames or not all(isinstance(f, str) and f for f in frames):
            raise DataError(f"{where}: 'frames' must be a non-empty list of frame names")
        if len(set(frames)) != len(frames):
            raise DataError(f"{where}: 'frames' repeats a name")
        height, width = video.get("height"), video.get("width")
        if (height is None) != (width is None) or height is not None and not (
            _positive_int(height) and _positive_int(width)
        ):
            raise DataError(f"{where}: 'height' and 'width' must both be positive integers")
        expressions = video.get("expressions")
        if not isinstance(expressions, dict):
            raise DataError(f"{where}: 'expressions' must be an object")
        parsed = []
        for exp_id, expression in expressions.items():
            exp_where = f"{where}, expression {exp_id!r}"
            if not isinstance(expression, dict):
                raise DataError(f"{exp_where}: not an object")
            anno_ids = expression.get("anno_id")
            if not isinstance(anno_ids, list) or not all(
                _positive_int(a, allow_zero=True) or isinstance(a, str) for a in anno_ids
            ):
                raise DataError(f"{exp_where}: 'anno_id' must be a list of instance ids")
            type_id = expression.get("type_id")
            if type_id not in TYPE_IDS or isinstance(type_id, bool):
                raise DataError(f"{exp_where}: 'type_id' must be 0 (referring), 1 (reasoning) or 2 (no target), "
                                f"not {type_id!r}")
            parsed.append(RevosExpression(str(exp_id), str(expression.get("exp", "")),
                                          tuple(str(a) for a in anno_ids), type_id))
        if parsed:
            out.append(RevosVideo(str(name), tuple(frames), height, width, tuple(parsed)))
    if not out:
        raise DataError(f"{path}: no expression to evaluate")
    for name in (MASKS, FOREGROUND):
        if not (root / name).is_file():
            raise DataError(f"{root / name}: missing (ReVOS layout: ROOT/{{{MASKS}, {FOREGROUND}, {meta_name(split)}}})")
    return RevosSplit(root, split, tuple(out))


def _positive_int(value: Any, allow_zero: bool = False) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)


def rle_size(rle: Any) -> tuple[int, int] | None:
    """(height, width) of a COCO RLE dict, or None if it is not one."""
    if not isinstance(rle, dict) or "counts" not in rle:
        return None
    size = rle.get("size")
    if isinstance(size, list) and len(size) == 2 and all(_positive_int(s) for s in size):
        return size[0], size[1]
    return None


def load_foreground(path: Path, videos: set[str]) -> dict[str, Any]:
    """The entries of `videos` in mask_dict_foreground.json. The file is loaded
    whole (one RLE per frame per video: far smaller than mask_dict.json, which
    is streamed), and only the split's videos are kept."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected {{video: {{'masks_rle': [...]}}}}")
    return {name: data[name] for name in videos if name in data}


def check_foreground(path: Path, video: RevosVideo, entry: Any, size: tuple[int, int] | None) -> tuple[int, int]:
    """Check one video's foreground masks; return the frame size."""
    where = f"{path}: video {video.name!r}"
    if entry is None:
        raise DataError(f"{where}: missing")
    frames = entry.get("masks_rle") if isinstance(entry, dict) else None
    if not isinstance(frames, list) or len(frames) != len(video.frames):
        got = len(frames) if isinstance(frames, list) else "no"
        raise DataError(f"{where}: {got} 'masks_rle' entries, the video has {len(video.frames)} frame(s)")
    for index, item in enumerate(frames):
        for rle in item if isinstance(item, list) else [item]:
            got = rle_size(rle)
            if got is None:
                raise DataError(f"{where}, frame {video.frames[index]}: not a COCO RLE "
                                "(the official scorer would score every expression of this video 0)")
            if size is not None and got != size:
                raise DataError(f"{where}, frame {video.frames[index]}: size {got[0]}x{got[1]}, "
                                f"expected {size[0]}x{size[1]}")
            size = got
        if isinstance(item, list) and not item:
            raise DataError(f"{where}, frame {video.frames[index]}: empty list of masks")
    return size
