"""Export an InsTrack split in the Ref-YouTube-VOS layout the official
referring-VOS code reads:

    OUT/valid/JPEGImages/<video>/<frame>.jpg
    OUT/meta_expressions/valid/meta_expressions.json   {"videos": {V: {"expressions": {E: {"exp": T}}, "frames": [...]}}}
    OUT/meta_expressions/test/meta_expressions.json    {"videos": {}}

The scripts subtract the test videos from the validation list, so an empty test
file keeps every exported video. Frames are hard-linked when the file system
allows (no copy of a large split), else copied. Ground-truth masks are never
exported: the baselines see what a tracker sees.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from instrack.errors import DataError, UsageError
from instrack.fileio import atomic_write_json
from instrack.dataset.layout import read_split

YTVOS_SPLIT = "valid"


@dataclass(frozen=True)
class ExportSummary:
    root: Path
    videos: int
    expressions: int
    frames: int


def _place(src: Path, dst: Path, mode: str) -> None:
    if dst.exists():
        if dst.stat().st_size == src.stat().st_size:
            return  # a previous export: frames never change under a split
        dst.unlink()
    if mode == "link":
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy instead
    shutil.copyfile(src, dst)


def export_ytvos(data: str | Path, split: str, out: str | Path, *, mode: str = "link",
                 videos: tuple[str, ...] | None = None) -> ExportSummary:
    """Write `split` of the InsTrack root `data` under `out` in the Ref-YouTube-VOS layout."""
    if mode not in ("link", "copy"):
        raise UsageError(f"export mode {mode!r}: use link or copy")
    source = read_split(data, split)
    chosen = list(source.videos.values())
    if videos is not None:
        unknown = sorted(set(videos) - set(source.videos))
        if unknown:
            raise UsageError(f"--video: {', '.join(unknown)} not in {Path(data) / split}")
        chosen = [v for v in chosen if v.name in set(videos)]
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    meta: dict = {"videos": {}}
    n_frames = n_exp = 0
    for video in chosen:
        if not video.instructions:
            continue
        folder = out / YTVOS_SPLIT / "JPEGImages" / video.name
        folder.mkdir(parents=True, exist_ok=True)
        for frame in video.frames:
            src = video.image_path(frame)
            if not src.is_file():
                raise DataError(f"{src}: frame image missing")
            _place(src, folder / f"{frame}.jpg", mode)
        n_frames += len(video.frames)
        meta["videos"][video.name] = {
            "expressions": {i.exp_id: {"exp": i.text} for i in video.instructions},
            "frames": list(video.frames),
        }
        n_exp += len(video.instructions)
    if not meta["videos"]:
        raise DataError(f"{Path(data) / split}: no video with an instruction to export")
    atomic_write_json(out / "meta_expressions" / YTVOS_SPLIT / "meta_expressions.json", meta)
    atomic_write_json(out / "meta_expressions" / "test" / "meta_expressions.json", {"videos": {}})
    return ExportSummary(out, len(meta["videos"]), n_exp, n_frames)
