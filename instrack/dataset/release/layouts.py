"""Recognising a release's layout and reading it into one neutral form.

Three layouts of this family of datasets are recognised, per split folder
(any split name: train, valid, val, test, ...):

* Ref-YouTube-VOS style: `meta_expressions.json` (in the split folder, or in
  `meta_expressions/<split>/`) + `JPEGImages/<video>/` + palette
  `Annotations/<video>/<frame>.png`; an expression's `obj_id` names palette
  ids. InsTrack's own layout (SPEC §1) is this style with binary masks.
* MeViS style: the same plus `mask_dict.json` (COCO RLE per annotation id and
  frame); an expression's `anno_id` list names the annotations it refers to.
* One folder per target (ReasonVOS style): `Annotations/<video>/<target>/<frame>.png`
  binary masks; an expression's `obj_id` (or `anno_id`) names the folder, or the
  video has a single folder.

A source video whose expressions point at several targets becomes one InsTrack
video per target (`<video>__<target>`), since every InsTrack video has exactly
one target. Everything that cannot be mapped is a problem naming its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from instrack.dataset.layout import META
from instrack.dataset.model import KINDS, REPHRASE, SEED
from instrack.dataset.release.mask_dict import decode_rle, read_mask_dict
from instrack.errors import DataError
from instrack.fileio import read_json
from instrack.masks import MaskError, read_mask

REF_YTVOS, MEVIS, PER_TARGET = "ref-youtube-vos", "mevis", "per-target-folders"
HELD_OUT = {"valid", "val", "test"}
IMAGE_SUFFIXES = (".jpg", ".jpeg")
VOID = 255


@dataclass
class FoundInstruction:
    exp_id: str
    text: str
    kind: str | None  # None: not given by the release (inferred later)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FoundTarget:
    """One InsTrack video to write: a source video and one target in it."""

    name: str
    split: str
    layout: str
    source_split: str
    source_video: str
    target_ref: dict[str, Any]  # {"obj_id": [...]} | {"anno_id": [...]} | {"folder": NAME}
    frames: list[str]
    images: dict[str, Path]
    instructions: list[FoundInstruction]
    mask: Callable[[str], np.ndarray | None]  # frame -> uint8 (1 target, 255 void, 0 else), None: absent
    extra: dict[str, Any] = field(default_factory=dict)
    # Palette layouts: the object ids seen in the masks read so far. Only a palette
    # with other objects than the target can be the source's own numbering.
    ids_in_masks: set[int] | None = None


@dataclass
class Found:
    targets: list[FoundTarget] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)  # release split folder -> InsTrack split
    layouts: dict[str, str] = field(default_factory=dict)  # release split folder -> layout


def _load_json(path: Path) -> Any:
    return read_json(path)


def find_split_folders(tree: Path) -> list[tuple[str, Path, Path]]:
    """(split name, split folder holding JPEGImages/, its meta_expressions.json)."""
    out = []
    for meta in sorted(tree.rglob(META)):
        if any(part.startswith(".") or part == "__MACOSX" for part in meta.relative_to(tree).parts):
            continue
        folder = meta.parent
        if (folder / "JPEGImages").is_dir():
            out.append((folder.name, folder, meta))
        elif folder.parent.name == "meta_expressions":  # Ref-YouTube-VOS: meta_expressions/<split>/
            split_folder = folder.parent.parent / folder.name
            if (split_folder / "JPEGImages").is_dir():
                out.append((folder.name, split_folder, meta))
    return out


def instrack_split(name: str, all_names: set[str]) -> str:
    """The paper has train and test: a held-out split named valid/val becomes
    test unless the release also has a split called test."""
    lowered = name.lower()
    if lowered in ("valid", "val") and "test" not in {n.lower() for n in all_names}:
        return "test"
    return lowered if lowered.isidentifier() else name


def safe_name(name: Any) -> bool:
    """A name that can be one folder or file stem inside the tree: no separators,
    no '..', not hidden, not empty (a release's meta could name '../../etc')."""
    return (
        isinstance(name, str)
        and bool(name)
        and not name.startswith(".")
        and not any(c in name for c in '/\\\0:')
        and name.strip() == name
    )


def _ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in values):
        return None
    return [str(v) for v in values]


def _order(exp_id: str) -> tuple[int, Any]:
    return (0, int(exp_id)) if exp_id.isdigit() else (1, exp_id)


def read_release(tree: Path, only: list[str] | None = None) -> Found:
    """`only`: the release's split folder names to import (default: all)."""
    found = Found()
    folders = find_split_folders(tree)
    if only:
        unknown = sorted(set(only) - {name for name, _, _ in folders})
        found.problems += [f"{tree}: no split {u!r} (splits: {', '.join(n for n, _, _ in folders)})" for u in unknown]
        folders = [f for f in folders if f[0] in only]
    if not folders:
        found.problems.append(
            f"{tree}: no split folder recognised (expected <split>/meta_expressions.json next to "
            f"<split>/JPEGImages/, or meta_expressions/<split>/meta_expressions.json)"
        )
        return found
    names = {name for name, _, _ in folders}
    seen_names: set[tuple[str, str]] = set()
    for name, folder, meta_path in folders:
        split = instrack_split(name, names)
        found.splits[str(folder.relative_to(tree))] = split
        try:
            meta = _load_json(meta_path)
        except DataError as err:
            found.problems.append(str(err))
            continue
        videos = meta.get("videos") if isinstance(meta, dict) else None
        if not isinstance(videos, dict):
            found.problems.append(f'{meta_path}: expected {{"videos": {{...}}}}')
            continue
        mask_dict_path = folder / "mask_dict.json"
        mask_dict = None
        if mask_dict_path.is_file():
            try:
                mask_dict = read_mask_dict(mask_dict_path)
            except DataError as err:
                found.problems.append(str(err))
                continue
        layout = MEVIS if mask_dict is not None else None
        for video, entry in videos.items():
            where = f"{meta_path}: video {video!r}"
            try:
                targets, video_layout = _read_video(folder, split, name, video, entry, mask_dict, where)
            except DataError as err:
                found.problems.append(str(err))
                continue
            layout = layout or video_layout
            for target in targets:
                key = (target.split, target.name)
                if key in seen_names:
                    found.problems.append(f"{where}: InsTrack video name {target.name!r} occurs twice in {split}")
                    continue
                seen_names.add(key)
                found.targets.append(target)
        found.layouts[str(folder.relative_to(tree))] = layout or "empty"
    return found


def _read_video(folder, split, source_split, video, entry, mask_dict, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("expressions"), dict):
        raise DataError(f'{where}: expected {{"frames": [...], "expressions": {{...}}}}')
    if not safe_name(video):
        raise DataError(f"{where}: {video!r} cannot be a folder name (separators, '..' or hidden)")
    image_dir = folder / "JPEGImages" / video
    if not image_dir.is_dir():
        raise DataError(f"{image_dir}: missing (the frames of video {video!r})")
    images = {p.stem: p for p in sorted(image_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    frames = entry.get("frames")
    if frames is None:
        frames = sorted(images)
    if not isinstance(frames, list) or not frames or not all(safe_name(f) for f in frames):
        raise DataError(f'{where}: "frames" must be a non-empty list of frame names (no separators)')
    if len(set(frames)) != len(frames):
        raise DataError(f'{where}: "frames" lists a frame twice')
    missing = [f for f in frames if f not in images]
    if missing:
        raise DataError(f"{image_dir / (missing[0] + '.jpg')}: missing ({len(missing)} listed frame(s) have no JPEG)")
    ann_dir = folder / "Annotations" / video
    if mask_dict is not None:
        layout = MEVIS
    elif not ann_dir.is_dir():
        raise DataError(f"{ann_dir}: missing (no ground-truth masks: a held-out split whose masks are not in the release?)")
    elif any(p.is_dir() for p in ann_dir.iterdir()):
        layout = PER_TARGET
    else:
        layout = REF_YTVOS
    groups: dict[tuple[str, ...], list[FoundInstruction]] = {}
    for exp_id, value in sorted(entry["expressions"].items(), key=lambda kv: _order(str(kv[0]))):
        ewhere = f"{where}, expression {exp_id!r}"
        if not isinstance(value, dict) or not isinstance(value.get("exp"), str) or not value["exp"].strip():
            raise DataError(f'{ewhere}: expected {{"exp": TEXT, ...}} with a non-empty text')
        kind = value.get("kind")
        if kind is not None and kind not in KINDS:
            raise DataError(f'{ewhere}: "kind" must be one of {", ".join(KINDS)}, not {kind!r}')
        if layout == MEVIS:
            key = _ids(value.get("anno_id"))
            if key is None:
                raise DataError(f'{ewhere}: MeViS layout needs an "anno_id" list')
        elif layout == PER_TARGET:
            key = _ids(value.get("obj_id", value.get("anno_id")))
            subfolders = sorted(p.name for p in ann_dir.iterdir() if p.is_dir())
            if key is None and len(subfolders) == 1:
                key = subfolders
            if key is None or len(key) != 1:
                raise DataError(f"{ewhere}: names no single target folder of {ann_dir} (folders: {', '.join(subfolders)})")
        else:
            key = _ids(value.get("obj_id"))
            if key is None:
                raise DataError(f'{ewhere}: needs an "obj_id" (the palette id(s) of its target)')
        extra = {k: v for k, v in value.items() if k not in ("exp", "obj_id", "anno_id", "kind")}
        groups.setdefault(tuple(key), []).append(FoundInstruction(str(exp_id), value["exp"], kind, extra))
    if not groups:
        raise DataError(f"{where}: no expressions")
    targets = []
    for key, instructions in groups.items():
        if layout == MEVIS:
            ref = {"anno_id": list(key)}
            mask = _mevis_mask(mask_dict, list(key), frames, folder / "mask_dict.json", video)
        elif layout == PER_TARGET:
            ref = {"folder": key[0]}
            mask = _folder_mask(ann_dir / key[0])
        else:
            ints = [int(k) for k in key if k.isdigit()]
            if len(ints) != len(key):
                raise DataError(f"{where}: obj_id {list(key)} are not palette ids (integers)")
            ref = {"obj_id": ints}
            seen: set[int] = set()
            mask = _palette_mask(ann_dir, ints, seen)
        name = video if len(groups) == 1 else f"{video}__{'-'.join(key)}"
        if not safe_name(name):
            raise DataError(f"{where}: target {list(key)} cannot be part of a folder name")
        targets.append(
            FoundTarget(name, split, layout, source_split, video, ref, list(frames), images, instructions, mask,
                        {k: v for k, v in entry.items() if k not in ("frames", "expressions")},
                        seen if layout == REF_YTVOS else None)
        )
    return targets, layout


def _read_png(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: missing mask")
    try:
        return read_mask(path)
    except (MaskError, OSError) as err:
        raise DataError(f"{path}: {err}") from err


def _palette_mask(ann_dir: Path, ids: list[int], seen: set[int]) -> Callable[[str], np.ndarray]:
    def mask(frame: str) -> np.ndarray:
        labels = _read_png(ann_dir / f"{frame}.png")
        seen.update(int(v) for v in np.unique(labels) if v not in (0, VOID))
        out = np.zeros(labels.shape, np.uint8)
        if VOID not in ids:
            out[labels == VOID] = VOID
        out[np.isin(labels, ids)] = 1
        return out

    return mask


def _folder_mask(target_dir: Path) -> Callable[[str], np.ndarray]:
    def mask(frame: str) -> np.ndarray:
        labels = _read_png(target_dir / f"{frame}.png")
        return (labels != 0).astype(np.uint8)

    return mask


def _mevis_mask(mask_dict, anno_ids, frames, path, video) -> Callable[[str], np.ndarray]:
    for anno in anno_ids:
        if anno not in mask_dict:
            raise DataError(f"{path}: no annotation {anno!r} (named by video {video!r})")
        if len(mask_dict[anno]) != len(frames):
            raise DataError(
                f"{path}: annotation {anno!r} has {len(mask_dict[anno])} frame(s), video {video!r} lists {len(frames)}"
            )
    index = {f: i for i, f in enumerate(frames)}

    def mask(frame: str) -> np.ndarray | None:
        out = None
        for anno in anno_ids:
            decoded = decode_rle(mask_dict[anno][index[frame]], f"{path}: annotation {anno!r}, frame {frame}")
            if decoded is None:
                continue
            if out is None:
                out = decoded.copy()
            elif out.shape != decoded.shape:
                raise DataError(f"{path}: annotations {anno_ids} differ in size in frame {frame} of {video!r}")
            else:
                out |= decoded
        return None if out is None else out.astype(np.uint8)  # None: absent in this frame

    return mask


def infer_kinds(target: FoundTarget) -> int:
    """Seed/rephrase for instructions the release does not label: the first
    (lowest exp_id) is the seed, as the paper numbers them. Returns how many
    were inferred."""
    inferred = 0
    for position, instruction in enumerate(target.instructions):
        if instruction.kind is None:
            instruction.kind = SEED if position == 0 and not any(i.kind == SEED for i in target.instructions) else REPHRASE
            instruction.extra["kind_inferred"] = True
            inferred += 1
    return inferred
