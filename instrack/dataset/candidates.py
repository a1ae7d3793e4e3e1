"""Ranking possible targets in a source video, for maintainers choosing InsTrack's.

A good InsTrack target is visible in most frames, big enough to segment, and
has same-category distractors in the scene: then "the dog" is ambiguous and an
instruction has to carry the reasoning ("the dog that is about to catch the
frisbee"). The score is a heuristic for ordering, not a metric:

    score = visibility * size * (1 + distractors)

visibility: share of frames where the object is present; size: sqrt of its
mean area share when present, relative to 5% of the frame, capped at 1;
distractors: other objects of the same category in the video.

The manifest can name a target by rule ("top-candidate") instead of by id;
curate then resolves it with `rank(...)[0]`, so the ranking is deterministic
(ties broken by object id).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

SIZE_REFERENCE = 0.05


@dataclass(frozen=True)
class Candidate:
    source: str
    video: str
    target: int  # DAVIS object id, or VIPSeg panoptic value
    category: str | None
    n_frames: int
    visible_frames: int
    mean_area: float  # share of the frame when visible
    distractors: int

    @property
    def visibility(self) -> float:
        return self.visible_frames / self.n_frames if self.n_frames else 0.0

    @property
    def score(self) -> float:
        size = min(1.0, math.sqrt(self.mean_area / SIZE_REFERENCE)) if self.mean_area > 0 else 0.0
        return self.visibility * size * (1 + self.distractors)

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "video": self.video,
            "target": self.target,
            "category": self.category,
            "n_frames": self.n_frames,
            "visibility": round(self.visibility, 4),
            "mean_area": round(self.mean_area, 5),
            "distractors": self.distractors,
            "score": round(self.score, 4),
        }


def object_statistics(masks: Iterable[np.ndarray], ignore: set[int]) -> tuple[int, dict[int, tuple[int, float]]]:
    """(frames, {value: (frames visible, summed area share)}) over a video's masks."""
    n = 0
    stats: dict[int, list[float]] = {}
    for mask in masks:
        n += 1
        values, counts = np.unique(mask, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist()):
            if value in ignore:
                continue
            entry = stats.setdefault(value, [0, 0.0])
            entry[0] += 1
            entry[1] += count / mask.size
    return n, {k: (int(v[0]), v[1]) for k, v in stats.items()}


def rank_objects(
    source: str,
    video: str,
    masks: Iterable[np.ndarray],
    category_of: Callable[[int], str | None],
    eligible: Callable[[int], bool],
    ignore: set[int],
) -> list[Candidate]:
    n, stats = object_statistics(masks, ignore)
    objects = [value for value in stats if eligible(value)]
    categories = {value: category_of(value) for value in objects}
    out = []
    for value in objects:
        visible, area = stats[value]
        category = categories[value]
        same = sum(1 for other in objects if other != value and category is not None and categories[other] == category)
        out.append(Candidate(source, video, value, category, n, visible, area / visible, same))
    return sorted(out, key=lambda c: (-c.score, c.target))


def rank_davis(davis, seq: str, frames: list[str] | None = None) -> list[Candidate]:
    """Objects of one DAVIS sequence (ids 1..N; 0 and 255 are not objects)."""
    frames = frames or davis.frames(seq)
    masks = (davis.read_annotation(seq, f) for f in frames)
    return rank_objects(davis.name, seq, masks, lambda v: davis.category(seq, v), lambda v: True, ignore={0, 255})


def rank_vipseg(vipseg, video: str, frames: list[str] | None = None) -> list[Candidate]:
    """Thing instances of one VIPSeg video; stuff and anomalous values are not targets."""
    from instrack.dataset.sources.vipseg import decode_value

    frames = frames or vipseg.frames(video)
    masks = (vipseg.read_annotation(video, f) for f in frames)

    def eligible(value: int) -> bool:
        segment, reason = decode_value(value, vipseg.categories)
        return segment is not None and segment.isthing and reason is None

    return rank_objects(vipseg.name, video, masks, vipseg.category_of, eligible, ignore={0})


def format_table(candidates: list[Candidate]) -> str:
    header = f"{'video':<28} {'target':>6} {'category':<18} {'visible':>7} {'area':>7} {'distr':>5} {'score':>6}"
    lines = [header, "-" * len(header)]
    for c in candidates:
        lines.append(
            f"{c.video[:28]:<28} {c.target:>6} {(c.category or '?')[:18]:<18} "
            f"{c.visibility:>7.2f} {c.mean_area:>7.4f} {c.distractors:>5} {c.score:>6.3f}"
        )
    return "\n".join(lines)
