"""Sanity baselines: they need no model, run anywhere, and bracket the evaluator's
range on any split, so a reproduced table always has rows to compare against.

* `empty`  predicts background everywhere (the `null` tracker of
  instrack.tracking.simple under the name the tables use; reused, not rewritten).
* `full`   predicts the whole frame as the target on every frame.
* `first-frame-oracle` READS THE GROUND TRUTH of frame 0 and repeats that mask on
  every frame: what a tracker that never moves would score. It is labelled as
  using ground truth everywhere it appears and is never a result to report.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from instrack.dataset.model import Unit, Video
from instrack.tracking.base import FrameOutput, Tracker
from instrack.tracking.simple import ConstantTracker, NullTracker, OracleTracker, no_options

#: tracker name -> what a table should say about the row
LABELS: dict[str, str] = {
    "empty": "Empty masks (sanity)",
    "full": "Full-frame masks (sanity)",
    "first-frame-oracle": "First-frame GT repeated (sanity, uses ground truth)",
}


class EmptyTracker(NullTracker):
    """Background everywhere: the null tracker under its table name."""

    name = "empty"


class FullTracker(ConstantTracker):
    """Every pixel of every frame is the target, score 1."""

    name = "full"
    fill = True
    score = 1.0


class FirstFrameOracleTracker(Tracker):
    """Frame 0's ground truth for each unit, repeated on every frame.

    USES GROUND TRUTH: a static-target ceiling for checking the pipeline."""

    name = "first-frame-oracle"
    uses_ground_truth = True

    def __init__(self, **options: Any):
        no_options(self.name, options)
        # The oracle already knows how to read a unit's target (union of its
        # obj_ids, void as background) and to name a missing or bad file.
        self._oracle = OracleTracker()

    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        # The oracle streams lazily: taking its first output reads frame 0 only.
        first = next(iter(self._oracle.track(video, units)))
        masks = {exp_id: np.asarray(mask, dtype=bool) for exp_id, mask in first.masks.items()}
        for index, frame in enumerate(video.frames):
            yield FrameOutput(
                index=index,
                frame=frame,
                masks=masks,
                scores={exp_id: 1.0 for exp_id in masks},
            )


__all__ = ["LABELS", "EmptyTracker", "FirstFrameOracleTracker", "FullTracker"]
