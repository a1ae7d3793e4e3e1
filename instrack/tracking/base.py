"""The one tracker interface, shared by TrackGPT and every baseline.

A tracker is given a whole video together with the units (instructions) to answer
on it, and streams back one FrameOutput per frame holding a mask for every unit.
Seeing all instructions of a video at once lets a tracker pay for the expensive
per-frame work once (TrackGPT encodes each frame once and decodes six prompts);
streaming frames keeps memory constant however long the video is.

This module imports neither torch nor any model code: the core install (scoring
only) must be able to import it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from instrack.errors import DataError
from instrack.dataset.model import Unit, Video


@dataclass(frozen=True)
class FrameOutput:
    """What a tracker says about one frame, for every unit it was given."""

    index: int
    frame: str
    #: exp_id -> 2-D mask (bool or integer; non-zero = target) at the frame's size
    masks: Mapping[str, np.ndarray]
    #: exp_id -> the tracker's confidence for this frame (TrackGPT: purport score S_p)
    scores: Mapping[str, float] = field(default_factory=dict)
    #: exp_ids for which the tracker re-ran its reasoning step on this frame
    #: (TrackGPT: the brain ran, on frame 0 or by rethinking)
    reasoned: frozenset[str] = frozenset()
    #: exp_id -> text answer produced on this frame (only where reasoning ran)
    answers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class UnitResult:
    """A unit's complete answer, collected from the stream (see track_unit)."""

    unit: Unit
    masks: list[np.ndarray] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    reasoned_frames: list[int] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    @property
    def answer(self) -> str:
        return self.answers[0] if self.answers else ""


class Tracker(ABC):
    """Video + instructions in, per-frame masks and scores out."""

    #: registry name, for reports and messages
    name: ClassVar[str] = "tracker"
    #: True for trackers that read the ground truth (the oracle): their numbers
    #: are a ceiling for checking the pipeline, never a result to report
    uses_ground_truth: ClassVar[bool] = False

    @abstractmethod
    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        """Yield one FrameOutput per frame of `video`, in order, each with a mask
        for every unit in `units` (all of them belong to `video`)."""

    def describe(self) -> dict[str, Any]:
        """Settings worth recording next to the predictions."""
        return {"tracker": self.name, "uses_ground_truth": self.uses_ground_truth}

    def close(self) -> None:
        """Release models or files; the runner calls it once at the end."""


def read_frame(video: Video, frame: str) -> np.ndarray:
    """One frame as an H x W x 3 uint8 RGB array."""
    from PIL import Image

    path = video.image_path(frame)
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError as err:
        raise DataError(f"{path}: frame image missing") from err
    except OSError as err:
        raise DataError(f"{path}: unreadable image ({err})") from err


def iter_frames(video: Video) -> Iterator[tuple[int, str, np.ndarray]]:
    """Stream (index, frame name, RGB image) without holding the video in memory."""
    for index, frame in enumerate(video.frames):
        yield index, frame, read_frame(video, frame)


def frame_size(video: Video) -> tuple[int, int]:
    """(height, width) of the video's frames: from the metadata when it has them,
    else from the first image's header (cheap)."""
    if video.height and video.width:
        return video.height, video.width
    from PIL import Image

    path = video.image_path(video.frames[0])
    try:
        with Image.open(path) as image:
            width, height = image.size
    except OSError as err:
        raise DataError(f"{path}: unreadable image ({err})") from err
    return height, width


def track_unit(tracker: Tracker, unit: Unit) -> UnitResult:
    """Run one unit and keep all its masks in memory (for tests and notebooks;
    the runner streams to disk instead)."""
    return track_video(tracker, unit.video, [unit])[unit.instruction.exp_id]


def track_video(tracker: Tracker, video: Video, units: Sequence[Unit]) -> dict[str, UnitResult]:
    results = {u.instruction.exp_id: UnitResult(u) for u in units}
    for out in tracker.track(video, units):
        for exp_id, result in results.items():
            result.masks.append(np.asarray(out.masks[exp_id]))
            result.scores.append(out.scores.get(exp_id))
            if exp_id in out.reasoned:
                result.reasoned_frames.append(out.index)
            if exp_id in out.answers:
                result.answers.append(out.answers[exp_id])
    return results
