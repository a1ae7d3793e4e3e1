"""The tracker interface, the tracker registry and the run loop of `instrack track`.

No torch here: model trackers live in their own packages and are named in
TRACKERS by "module:attr" strings, imported only when created.
"""

from __future__ import annotations

from instrack.tracking.base import (
    FrameOutput,
    Tracker,
    UnitResult,
    frame_size,
    iter_frames,
    read_frame,
    track_unit,
    track_video,
)
from instrack.tracking.registry import Registry

#: Built-in trackers. Baselines add theirs with TRACKERS.register(name, "module:attr").
TRACKERS: Registry[Tracker] = Registry(
    "tracker",
    Tracker,
    {
        "null": "instrack.tracking.simple:NullTracker",
        "oracle": "instrack.tracking.simple:OracleTracker",
        "trackgpt": "trackgpt.tracker:build_tracker",
        # baselines (package instrack_baselines, folder baselines/)
        "empty": "instrack_baselines.sanity:EmptyTracker",
        "full": "instrack_baselines.sanity:FullTracker",
        "first-frame-oracle": "instrack_baselines.sanity:FirstFrameOracleTracker",
        "lisa": "instrack_baselines.lisa:build_tracker",
    },
)


def create_tracker(name: str, **options) -> Tracker:
    return TRACKERS.create(name, **options)


__all__ = [
    "TRACKERS",
    "FrameOutput",
    "Registry",
    "Tracker",
    "UnitResult",
    "create_tracker",
    "frame_size",
    "iter_frames",
    "read_frame",
    "track_unit",
    "track_video",
]
