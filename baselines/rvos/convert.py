"""Turn what a referring-VOS code wrote into a submission of SPEC §2.

The official scripts write `<video>/<exp_id>/<frame>.png` with 0 / 255 under a
folder whose name differs per code (`valid`, `Annotations`, ...), sometimes as a
zip. `find_prediction_root` finds the folder that holds the split's videos;
`convert_predictions` checks that every (video, exp_id, frame) is there at the
frame's size and writes palette PNGs with 1 = target. Nothing missing is ever
filled in: a gap is an error naming the files.

A pixel is the target when its value is 1 or at least 128: the scripts write
0/255 (ReferFormer and its descendants) or 0/1 (some forks), and a value in
between is a resampling artefact of a 0/255 mask.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrack.errors import InsTrackError, Problem, SubmissionError, UsageError
from instrack.dataset.layout import read_split
from instrack.masks import MaskError, read_mask, write_mask

MAX_DEPTH = 4
STAGING = ".instrack-convert"


@dataclass(frozen=True)
class ConvertSummary:
    out: Path
    source: Path
    units: int
    frames: int


def binarize(mask: np.ndarray) -> np.ndarray:
    return (mask == 1) | (mask >= 128)


def find_prediction_root(folder: Path, videos: set[str]) -> Path:
    """The folder under `folder` (depth <= 4) whose subfolders cover most of `videos`."""
    from collections import deque

    best, best_hits = None, 0
    queue = deque([(folder, 0)])  # breadth first: on a tie the shallowest folder wins
    while queue:
        current, depth = queue.popleft()
        try:
            children = [p for p in current.iterdir() if p.is_dir()]
        except OSError:
            continue
        hits = sum(1 for child in children if child.name in videos)
        if hits > best_hits:
            best, best_hits = current, hits
        if depth < MAX_DEPTH:
            queue.extend((child, depth + 1) for child in children if child.name not in videos)
    if best is None:
        raise InsTrackError(
            f"{folder}: no folder of <video>/<exp_id>/<frame>.png for any video of the split "
            f"(looked {MAX_DEPTH} levels deep for e.g. {sorted(videos)[:3]})"
        )
    return best


def convert_predictions(pred: str | Path, data: str | Path, split: str, out: str | Path,
                        progress: bool = True) -> ConvertSummary:
    """Convert the official outputs at `pred` (folder or .zip) for `split` of the
    InsTrack root `data` into the submission folder `out`."""
    pred = Path(pred)
    if not pred.exists():
        raise UsageError(f"{pred}: no such folder or zip")
    if pred.is_file():
        if not zipfile.is_zipfile(pred):
            raise UsageError(f"{pred}: neither a folder nor a zip of predictions")
        with tempfile.TemporaryDirectory(prefix="instrack-rvos-") as tmp:
            _safe_extract(pred, Path(tmp))
            summary = convert_predictions(tmp, data, split, out, progress)
            return ConvertSummary(summary.out, pred, summary.units, summary.frames)
    target = read_split(data, split)
    wanted = {name: v for name, v in target.videos.items() if v.instructions}
    root = find_prediction_root(pred, set(wanted))
    out = Path(out)
    if out.resolve() == root.resolve() or root.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out}: must not lie inside the predictions {root}")

    problems: list[Problem] = []
    for name, video in wanted.items():
        for instruction in video.instructions:
            folder = root / name / instruction.exp_id
            if not folder.is_dir():
                problems.append(Problem(str(folder), "missing (no predictions for this instruction)"))
                continue
            absent = [f for f in video.frames if not (folder / f"{f}.png").is_file()]
            if absent:
                more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
                problems.append(Problem(str(folder), f"frames missing: {', '.join(absent[:3])}{more}"))
    if problems:
        raise SubmissionError(str(root), problems)

    from tqdm import tqdm

    staging = out / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    units = frames = 0
    total = sum(len(v.frames) * len(v.instructions) for v in wanted.values())
    with tqdm(total=total, desc=f"converting {root.name}", unit="frame", file=sys.stderr,
              disable=not progress, dynamic_ncols=True) as bar:
        for name, video in wanted.items():
            size = None
            for instruction in video.instructions:
                src = root / name / instruction.exp_id
                dst = staging / name / instruction.exp_id
                dst.mkdir(parents=True, exist_ok=True)
                for frame in video.frames:
                    path = src / f"{frame}.png"
                    try:
                        mask = read_mask(path)
                    except MaskError as err:
                        raise SubmissionError(str(root), [Problem(str(path), str(err))]) from err
                    if size is None:
                        size = _frame_size(video)
                    if mask.shape != size:
                        raise SubmissionError(str(root), [Problem(
                            str(path), f"size {mask.shape[0]}x{mask.shape[1]}, the frame is {size[0]}x{size[1]}")])
                    write_mask(dst / f"{frame}.png", binarize(mask).astype(np.uint8), palette=True)
                    frames += 1
                    bar.update()
                # A unit appears in `out` only when complete (rename is atomic).
                final = out / name / instruction.exp_id
                if final.exists():
                    shutil.rmtree(final)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, final)
                units += 1
    shutil.rmtree(staging, ignore_errors=True)
    return ConvertSummary(out, root, units, frames)


def _frame_size(video) -> tuple[int, int]:
    if video.height and video.width:
        return video.height, video.width
    from instrack.tracking.base import frame_size

    return frame_size(video)


def _safe_extract(archive: Path, into: Path) -> None:
    """Extract a zip, refusing members that would land outside `into`."""
    base = into.resolve()
    with zipfile.ZipFile(archive) as z:
        for member in z.infolist():
            target = (into / member.filename).resolve()
            if base != target and base not in target.parents:
                raise UsageError(f"{archive}: member {member.filename!r} points outside the archive")
        z.extractall(into)
