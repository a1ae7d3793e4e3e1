"""Reading and writing the dataset layout of SPEC §1:

    ROOT/<split>/meta_expressions.json
    ROOT/<split>/JPEGImages/<video>/<frame>.jpg
    ROOT/<split>/Annotations/<video>/<frame>.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instrack.errors import DataError
from instrack.fileio import atomic_write_json, read_json
from instrack.dataset.model import KINDS, Instruction, Split, Video

META = "meta_expressions.json"
_VIDEO_KEYS = {"frames", "expressions", "height", "width", "source"}
_INSTRUCTION_KEYS = {"exp", "obj_id", "kind"}


def split_dir(root: str | Path, split: str) -> Path:
    return Path(root) / split


def available_splits(root: str | Path) -> list[str]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / META).is_file())


def read_split(root: str | Path, split: str = "test") -> Split:
    """Read one split; every structural problem is a DataError naming the file."""
    root = Path(root)
    folder = split_dir(root, split)
    meta_path = folder / META
    if not root.exists():
        raise DataError(f"{root}: dataset folder does not exist")
    if not meta_path.is_file():
        found = available_splits(root)
        hint = f" (splits here: {', '.join(found)})" if found else " (no split folder with a meta_expressions.json)"
        raise DataError(f"{meta_path}: missing{hint}")
    meta = read_json(meta_path)
    return parse_meta(meta, split=split, root=folder, where=str(meta_path))


def parse_meta(meta: Any, split: str, root: Path | None, where: str) -> Split:
    if not isinstance(meta, dict) or not isinstance(meta.get("videos"), dict):
        raise DataError(f'{where}: expected {{"videos": {{...}}}} at the top level')
    videos: dict[str, Video] = {}
    for name, entry in meta["videos"].items():
        videos[name] = _parse_video(name, entry, split, root, f"{where}: video {name!r}")
    return Split(name=split, root=root, videos=videos)


def _parse_video(name: str, entry: Any, split: str, root: Path | None, where: str) -> Video:
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object")
    frames = entry.get("frames")
    if not isinstance(frames, list) or not frames or not all(isinstance(f, str) for f in frames):
        raise DataError(f'{where}: "frames" must be a non-empty list of frame names')
    if len(set(frames)) != len(frames):
        raise DataError(f"{where}: duplicate frame names")
    expressions = entry.get("expressions", {})
    if not isinstance(expressions, dict):
        raise DataError(f'{where}: "expressions" must be an object')
    instructions = tuple(
        _parse_instruction(str(exp_id), value, f"{where}, expression {exp_id!r}")
        for exp_id, value in expressions.items()
    )
    height, width = entry.get("height"), entry.get("width")
    for key, value in (("height", height), ("width", width)):
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise DataError(f'{where}: "{key}" must be a positive integer')
    extra = {k: v for k, v in entry.items() if k not in _VIDEO_KEYS}
    return Video(
        name=name,
        frames=tuple(frames),
        instructions=instructions,
        split=split,
        root=root,
        height=height,
        width=width,
        source=entry.get("source"),
        extra=extra,
    )


def _parse_instruction(exp_id: str, value: Any, where: str) -> Instruction:
    if not isinstance(value, dict) or not isinstance(value.get("exp"), str):
        raise DataError(f'{where}: expected {{"exp": TEXT, "obj_id": [...]}}')
    obj_ids = value.get("obj_id", [1])
    if isinstance(obj_ids, (int, str)):
        obj_ids = [obj_ids]
    try:
        obj_tuple = tuple(int(o) for o in obj_ids)
    except (TypeError, ValueError) as err:
        raise DataError(f'{where}: "obj_id" must be a list of integers') from err
    if not obj_tuple:
        raise DataError(f'{where}: "obj_id" is empty')
    kind = value.get("kind", "seed")
    if kind not in KINDS:
        raise DataError(f'{where}: "kind" must be one of {", ".join(KINDS)}, not {kind!r}')
    extra = {k: v for k, v in value.items() if k not in _INSTRUCTION_KEYS}
    return Instruction(exp_id=exp_id, text=value["exp"], obj_ids=obj_tuple, kind=kind, extra=extra)


def write_meta(split: Split | dict, path: str | Path) -> None:
    data = split.to_json() if isinstance(split, Split) else split
    atomic_write_json(path, data)
