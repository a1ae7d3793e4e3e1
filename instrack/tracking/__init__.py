"""The tracker interface, the tracker registry and the run loop of `instrack track`.

No torch here: model trackers live in their own packages, which name them in the
`instrack.trackers` entry-point group ("name = module:attr"); TRACKERS holds those
strings and imports a tracker's module only when it is created.
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

#: Entry-point group through which packages add trackers ("name = module:attr").
TRACKER_GROUP = "instrack.trackers"


def _installed_trackers() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {entry.name: entry.value for entry in entry_points(group=TRACKER_GROUP)}


#: The core trackers, then every installed package's (a core name wins).
#: More can be added at run time with TRACKERS.register(name, "module:attr").
TRACKERS: Registry[Tracker] = Registry(
    "tracker",
    Tracker,
    {
        **_installed_trackers(),
        "null": "instrack.tracking.simple:NullTracker",
        "oracle": "instrack.tracking.simple:OracleTracker",
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
