"""Two trackers that need no model and run anywhere, to check the pipeline:

* `null` predicts the background everywhere. Its J on a unit is the fraction of
  frames whose target is absent (J = 1 when both masks are empty), so its score
  can be computed by hand.
* `oracle` copies the ground truth (void counts as background) and must score
  exactly 1.0. It READS THE GROUND TRUTH: a pipeline check, never a result.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from instrack.errors import DataError, UsageError
from instrack.masks import MaskError, read_mask
from instrack.dataset.model import Unit, Video
from instrack.tracking.base import FrameOutput, Tracker, frame_size


def no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        flags = ", ".join("--" + key.replace("_", "-") for key in sorted(options))
        raise UsageError(f"tracker {name!r} takes no options (got {flags})")


class ConstantTracker(Tracker):
    """The same mask (all background or all target) on every frame, a fixed score."""

    name = "constant"
    fill: bool = False
    score: float = 0.0

    def __init__(self, **options: Any):
        no_options(self.name, options)

    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        height, width = frame_size(video)
        mask = np.full((height, width), self.fill, dtype=bool)
        for index, frame in enumerate(video.frames):
            yield FrameOutput(
                index=index,
                frame=frame,
                masks={u.instruction.exp_id: mask for u in units},
                scores={u.instruction.exp_id: self.score for u in units},
            )


class NullTracker(ConstantTracker):
    """Empty masks on every frame, score 0."""

    name = "null"


class OracleTracker(Tracker):
    """The ground-truth mask of each unit's objects (labelled: uses ground truth)."""

    name = "oracle"
    uses_ground_truth = True

    def __init__(self, **options: Any):
        no_options(self.name, options)

    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        for index, frame in enumerate(video.frames):
            path = video.mask_path(frame)
            try:
                gt = read_mask(path)
            except FileNotFoundError as err:
                raise DataError(f"{path}: ground-truth mask missing (the oracle needs it)") from err
            except MaskError as err:
                raise DataError(f"{path}: {err}") from err
            masks = {}
            for unit in units:
                # Target = union of the instruction's objects; 255 (void) is not one.
                ids = [i for i in unit.instruction.obj_ids if i != 255]
                masks[unit.instruction.exp_id] = np.isin(gt, ids)
            yield FrameOutput(
                index=index,
                frame=frame,
                masks=masks,
                scores={u.instruction.exp_id: 1.0 for u in units},
            )
