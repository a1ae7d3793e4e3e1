"""`instrack import-release`: a release archive -> an InsTrack root (SPEC §1).

Masks go through curate's writer (`encode_mask`, `write_replace`), metadata
through `atomic_write_json`, checksums through `write_checksums`; the result
is verified with check-data's `check_root`. Everything is built in a staging
folder next to ROOT and renamed onto ROOT only when nothing is wrong, so ROOT
is either the whole release or untouched. With `partial=True` the mappable
part is written, and the rest is still listed (the command exits 2).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from instrack.dataset.checksums import write_checksums
from instrack.dataset.curate import encode_mask, write_replace
from instrack.dataset.integrity import check_root
from instrack.dataset.layout import META
from instrack.dataset.model import SEED
from instrack.dataset.release.layouts import FoundTarget, infer_kinds, read_release
from instrack.dataset.release.unpack import ArchiveRefused, unpack
from instrack.errors import DataError, UsageError
from instrack.fileio import atomic_write_json

VIPSEG_NAME = re.compile(r"^\d+_[A-Za-z0-9_-]{11}$")  # VIPSeg: <index>_<YouTube id>
#: Section 3.6 of the paper.
PAPER = {"train": 143, "test": 40, "instructions": 6, "seeds": 1, "davis2017": 32, "vipseg": 151}


@dataclass
class ImportReport:
    out: Path
    written: bool = False
    problems: list[str] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)
    layouts: dict[str, str] = field(default_factory=dict)
    videos: list[dict[str, Any]] = field(default_factory=list)  # one summary per written video

    def composition_lines(self) -> list[str]:
        return composition_lines(self.videos)


@lru_cache(maxsize=None)
def _licence(source: str) -> str | None:
    from instrack.dataset.manifest import load_manifest

    return load_manifest().sources.get(source, {}).get("licence")


@lru_cache(maxsize=None)
def guess_source(name: str) -> str | None:
    from instrack.dataset.davis_facts import davis_sequence_names

    if VIPSEG_NAME.match(name):
        return "vipseg"
    return "davis2017" if name in davis_sequence_names() else None


def _write_target(target: FoundTarget, root: Path, sums: dict[str, str]) -> dict[str, Any]:
    """Write one video's frames and masks; returns its meta entry. DataError on
    anything that does not fit (nothing of this video is kept then)."""
    split_dir = root / target.split
    image_dir, mask_dir = split_dir / "JPEGImages" / target.name, split_dir / "Annotations" / target.name
    written: dict[str, str] = {}
    height = width = None
    visible = 0
    try:
        for frame in target.frames:
            source = target.images[frame]
            data = source.read_bytes()
            try:
                with Image.open(io.BytesIO(data)) as image:
                    if image.format != "JPEG":
                        raise DataError(f"{source}: a {image.format} file, not a JPEG")
                    size = (image.height, image.width)
            except (OSError, SyntaxError) as err:
                raise DataError(f"{source}: not a readable image ({err})") from err
            if height is None:
                height, width = size
            elif size != (height, width):
                raise DataError(f"{source}: {size[1]}x{size[0]}, the video's first frame is {width}x{height}")
            mask = target.mask(frame)
            if mask is None:
                mask = np.zeros(size, np.uint8)
            if mask.shape != size:
                raise DataError(
                    f"{target.source_video} frame {frame}: mask is {mask.shape[1]}x{mask.shape[0]} "
                    f"but its frame is {size[1]}x{size[0]}"
                )
            visible += bool((mask == 1).any())
            png = encode_mask(mask)
            for folder, suffix, payload in ((image_dir, ".jpg", data), (mask_dir, ".png", png)):
                path = folder / f"{frame}{suffix}"
                write_replace(path, payload)
                written[path.relative_to(root).as_posix()] = hashlib.sha256(payload).hexdigest()
        if visible == 0:
            raise DataError(f"{target.source_video}: target {target.target_ref} never appears in its frames")
    except DataError:
        shutil.rmtree(image_dir, ignore_errors=True)
        shutil.rmtree(mask_dir, ignore_errors=True)
        raise
    sums.update(written)
    source = guess_source(target.source_video)
    meta: dict[str, Any] = {"frames": target.frames, "height": height, "width": width}
    if source:
        meta["source"] = source
    meta["source_sequence"] = target.source_video
    if source and _licence(source):
        meta["licence"] = _licence(source)
    meta["release"] = {"layout": target.layout, "split": target.source_split, "video": target.source_video,
                       **target.target_ref, **({"extra": target.extra} if target.extra else {})}
    if target.ids_in_masks is not None:
        meta["release"]["ids_in_masks"] = sorted(target.ids_in_masks)
    if isinstance(target.extra.get("category"), str):
        meta["category"] = target.extra["category"]
    meta["expressions"] = {
        i.exp_id: {"exp": i.text, "obj_id": [1], "kind": i.kind, **i.extra} for i in target.instructions
    }
    return meta


def _summary(target: FoundTarget) -> dict[str, Any]:
    kinds = Counter(i.kind for i in target.instructions)
    return {
        "name": target.name,
        "split": target.split,
        "source": guess_source(target.source_video),
        "instructions": len(target.instructions),
        "seeds": kinds[SEED],
        "seed_inferred": any(i.kind == SEED and i.extra.get("kind_inferred") for i in target.instructions),
        "seed_text": next((i.text for i in target.instructions if i.kind == SEED), None),
    }


def composition_lines(videos: list[dict[str, Any]]) -> list[str]:
    """What was found, next to the paper's composition (section 3.6)."""
    by_split = Counter(v["split"] for v in videos)
    per_video = Counter(v["instructions"] for v in videos)
    sources = Counter(v["source"] or "unknown" for v in videos)
    inferred = sum(v["seed_inferred"] for v in videos)
    lines = [
        f"videos: {len(videos)} ("
        + ", ".join(f"{s} {n}" for s, n in sorted(by_split.items()))
        + f"); paper: {PAPER['train'] + PAPER['test']} (train {PAPER['train']}, test {PAPER['test']})",
        "instructions per video: "
        + ", ".join(f"{k} in {n} video(s)" for k, n in sorted(per_video.items()))
        + f"; paper: {PAPER['instructions']} (1 seed + 5 rephrasings)",
        f"seeds: {sum(v['seeds'] for v in videos)} in {len(videos)} video(s); "
        + (f"{inferred} labelled by position (the first instruction; the release does not say)" if inferred
           else "all labelled by the release")
        + f"; paper: {PAPER['seeds']} per video",
        "sources (from video names): "
        + ", ".join(f"{s} {n}" for s, n in sorted(sources.items()))
        + f"; paper: davis2017 {PAPER['davis2017']}, vipseg {PAPER['vipseg']}",
    ]
    return lines


def import_release(
    path: str | os.PathLike, out: str | os.PathLike, force: bool = False, partial: bool = False,
    progress: bool = False, splits: list[str] | None = None,
) -> ImportReport:
    out = Path(out)
    report = ImportReport(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise UsageError(f"{out}: exists and is not empty (give --force to replace it)")
    work = out.parent / f".{out.name}.import-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        try:
            tree = unpack(path, work / "unpacked")
        except ArchiveRefused as err:
            report.problems.extend(err.problems)
            return report
        found = read_release(tree, splits)
        report.splits, report.layouts = found.splits, found.layouts
        report.problems.extend(found.problems)
        staging = work / "root"
        staging.mkdir()
        sums: dict[str, str] = {}
        metas: dict[str, dict[str, Any]] = {}
        from tqdm import tqdm

        for target in tqdm(found.targets, desc="import", unit="video", disable=not progress, file=sys.stderr):
            infer_kinds(target)
            try:
                metas.setdefault(target.split, {})[target.name] = _write_target(target, staging, sums)
            except DataError as err:
                report.problems.append(str(err))
                continue
            report.videos.append(_summary(target))
        if not metas:
            report.problems.append(f"{path}: nothing in it could be imported")
            return report
        for split, videos in metas.items():
            meta_path = staging / split / META
            atomic_write_json(meta_path, {"videos": videos})
            sums[meta_path.relative_to(staging).as_posix()] = hashlib.sha256(meta_path.read_bytes()).hexdigest()
        write_checksums(staging, sums)
        problems, _ = check_root(staging, progress=False)
        report.problems.extend(f"check-data: {str(p).replace(str(staging), str(out))}" for p in problems)
        if report.problems and not partial:
            return report
        if out.exists():
            shutil.move(str(out), str(work / "replaced"))
        os.replace(staging, out)
        report.written = True
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)
