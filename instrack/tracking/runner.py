"""The run loop behind `instrack track`: dataset units -> tracker -> submission.

* Sharding: rank and world size come from the environment (RANK / WORLD_SIZE, as
  torchrun and `accelerate launch` set them). Whole videos are dealt to ranks, so a
  video's frames are encoded once for all its instructions; the deal is a
  deterministic greedy balance on frames x units, identical in every process.
* Resume: a unit whose folder PRED/<video>/<exp_id>/ already holds exactly one
  valid PNG of the right size per frame is skipped. A unit is written into a
  staging folder and renamed into place when complete, so a killed run leaves no
  half-written unit behind (only a staging folder, removed on the next run).
* Output: the submission layout of SPEC §2, palette PNGs with 1 = target.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from instrack.errors import UsageError
from instrack.fileio import atomic_write_json
from instrack.dataset.layout import read_split
from instrack.masks import MaskError, probe_mask, write_mask
from instrack.dataset.model import Unit, Video
from instrack.tracking.base import Tracker, frame_size

STAGING = ".instrack-staging"


@dataclass(frozen=True)
class Shard:
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Shard":
        env = os.environ if environ is None else environ
        try:
            rank = int(env.get("RANK", "0"))
            world = int(env.get("WORLD_SIZE", "1"))
        except ValueError as err:
            raise UsageError(
                f"RANK={env.get('RANK')!r} / WORLD_SIZE={env.get('WORLD_SIZE')!r} must be integers"
            ) from err
        if world < 1 or not 0 <= rank < world:
            raise UsageError(f"RANK={rank} must lie in [0, WORLD_SIZE={world})")
        return cls(rank, world)


@dataclass(frozen=True)
class RunConfig:
    data: Path
    out: Path
    split: str = "test"
    shard: Shard = Shard()
    #: only these videos (None: all)
    videos: tuple[str, ...] | None = None
    #: rewrite units that are already complete
    overwrite: bool = False
    #: per-unit JSON reports (answers, scores, reasoning frames) go here, if set
    report: Path | None = None
    progress: bool = True


@dataclass
class RunSummary:
    total_units: int = 0  # units of this shard
    written: int = 0
    skipped: int = 0
    frames: int = 0  # unit-frames written
    seconds: float = 0.0
    written_units: list[str] = field(default_factory=list)


def assign_videos(videos: Sequence[Video], world_size: int) -> list[list[Video]]:
    """Deal videos to ranks, biggest first, each to the least-loaded rank.
    Deterministic (ties broken by name), so every process computes the same deal."""
    loads = [0] * world_size
    shards: list[list[Video]] = [[] for _ in range(world_size)]
    ordered = sorted(videos, key=lambda v: (-len(v.frames) * max(1, len(v.instructions)), v.name))
    for video in ordered:
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        shards[rank].append(video)
        loads[rank] += len(video.frames) * max(1, len(video.instructions))
    for shard in shards:
        shard.sort(key=lambda v: v.name)
    return shards


def unit_dir(out: Path, unit: Unit) -> Path:
    return out / unit.video.name / unit.instruction.exp_id


def unit_complete(out: Path, unit: Unit, size: tuple[int, int]) -> bool:
    """True when the unit's folder has exactly its frames, each a readable
    single-channel PNG of the video's size (header check only: cheap)."""
    folder = unit_dir(out, unit)
    if not folder.is_dir():
        return False
    expected = {f"{frame}.png" for frame in unit.video.frames}
    present = {p.name for p in folder.iterdir()}
    if present != expected:
        return False
    for name in expected:
        try:
            if probe_mask(folder / name) != size:
                return False
        except (MaskError, OSError):
            return False
    return True


def _check_masks(tracker: Tracker, unit_ids: list[str], masks: dict, size: tuple[int, int], where: str) -> None:
    for exp_id in unit_ids:
        if exp_id not in masks:
            raise RuntimeError(f"tracker {tracker.name!r} gave no mask for {where}/{exp_id}")
        shape = np.shape(masks[exp_id])
        if tuple(shape) != size:
            raise RuntimeError(
                f"tracker {tracker.name!r} gave a {shape} mask for {where}/{exp_id}, expected {size}"
            )


def run_tracking(tracker: Tracker, config: RunConfig) -> RunSummary:
    """Answer every pending unit of this shard and write it into config.out."""
    split = read_split(config.data, config.split)
    videos = list(split.videos.values())
    if config.videos is not None:
        unknown = sorted(set(config.videos) - set(split.videos))
        if unknown:
            raise UsageError(f"--video: {', '.join(unknown)} not in {config.data}/{config.split}")
        videos = [v for v in videos if v.name in set(config.videos)]
    mine = assign_videos(videos, config.shard.world_size)[config.shard.rank]

    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    staging_root = out / STAGING
    # Leftovers of this rank's killed runs (other ranks may be running now: not theirs).
    prefix = f"rank{config.shard.rank}-"
    if staging_root.is_dir():
        for stale in staging_root.iterdir():
            if stale.name.startswith(prefix):
                shutil.rmtree(stale, ignore_errors=True)
    staging = staging_root / f"{prefix}{os.getpid()}"

    summary = RunSummary()
    pending: list[tuple[Video, list[Unit], tuple[int, int]]] = []
    for video in mine:
        units = list(video.units())
        summary.total_units += len(units)
        if not units:
            continue
        size = frame_size(video)
        todo = []
        for unit in units:
            if not config.overwrite and unit_complete(out, unit, size):
                summary.skipped += 1
            else:
                todo.append(unit)
        if todo:
            pending.append((video, todo, size))

    if tracker.uses_ground_truth:
        print(
            f"note: tracker {tracker.name!r} reads the ground truth; its predictions check the "
            "pipeline and are not a result",
            file=sys.stderr,
        )
    from tqdm import tqdm

    total_frames = sum(len(v.frames) * len(u) for v, u, _ in pending)
    desc = f"{tracker.name} [rank {config.shard.rank}/{config.shard.world_size}]"
    start = time.perf_counter()
    with tqdm(total=total_frames, desc=desc, unit="frame", file=sys.stderr, disable=not config.progress,
              dynamic_ncols=True) as bar:
        for video, units, size in pending:
            _run_video(tracker, video, units, size, out, staging, config, summary, bar)
    summary.seconds = time.perf_counter() - start
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging_root.rmdir()  # only when no other rank is still staging
    except OSError:
        pass
    return summary


def _run_video(tracker, video, units, size, out, staging, config, summary, bar) -> None:
    ids = [u.instruction.exp_id for u in units]
    folders = {exp_id: staging / video.name / exp_id for exp_id in ids}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    reports: dict[str, dict[str, Any]] = {
        exp_id: {"video": video.name, "exp_id": exp_id, "tracker": tracker.describe(),
                  "shard": [config.shard.rank, config.shard.world_size], "scores": [],
                 "reasoned_frames": [], "answers": []}
        for exp_id in ids
    }
    seen = 0
    for output in tracker.track(video, units):
        if output.index != seen or output.frame != video.frames[seen]:
            raise RuntimeError(
                f"tracker {tracker.name!r} gave frame {output.index} ({output.frame}) of {video.name} "
                f"where frame {seen} ({video.frames[seen]}) was due"
            )
        _check_masks(tracker, ids, output.masks, size, video.name)
        for exp_id in ids:
            mask = np.asarray(output.masks[exp_id]) != 0
            write_mask(folders[exp_id] / f"{output.frame}.png", mask.astype(np.uint8), palette=True)
            report = reports[exp_id]
            score = output.scores.get(exp_id)
            report["scores"].append(None if score is None else float(score))
            if exp_id in output.reasoned:
                report["reasoned_frames"].append(output.index)
            if exp_id in output.answers:
                report["answers"].append({"frame": output.index, "text": output.answers[exp_id]})
        seen += 1
        bar.update(len(ids))
    if seen != len(video.frames):
        raise RuntimeError(f"tracker {tracker.name!r} stopped after {seen} of {len(video.frames)} frames of {video.name}")
    for unit in units:
        exp_id = unit.instruction.exp_id
        target = unit_dir(out, unit)
        if target.exists():  # an incomplete or invalid leftover, or --overwrite
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Rename after writing the report: a unit in place is a unit fully done.
        if config.report is not None:
            atomic_write_json(Path(config.report) / video.name / f"{exp_id}.json", reports[exp_id])
        os.replace(folders[exp_id], target)
        summary.written += 1
        summary.frames += len(video.frames)
        summary.written_units.append(str(unit))
    shutil.rmtree(staging / video.name, ignore_errors=True)


__all__ = ["RunConfig", "RunSummary", "Shard", "assign_videos", "run_tracking", "unit_complete"]
