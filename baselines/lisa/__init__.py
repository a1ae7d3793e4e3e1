"""LISA* (TrackGPT paper §4.2): LISA's reasoning segmentation applied to video with
the [SEG] embedding of the first frame reused on every frame.

    instrack track --tracker lisa --preset tiny --data ROOT --out PRED      # CPU smoke run
    LISA_CHECKPOINT=~/LISA-7B-v1 CLIP_CHECKPOINT=~/clip-vit-large-patch14 \\
        instrack track --tracker lisa --preset 7b --data ROOT --out PRED    # GPU
"""

from __future__ import annotations

import os
from typing import Any


def build_tracker(**options: Any):
    """Registry entry: the weights' folders come from LISA_CHECKPOINT / CLIP_CHECKPOINT
    when not given (`instrack track` has no --lisa / --clip flags of its own)."""
    from instrack_baselines.lisa.tracker import build_tracker as build

    options.setdefault("lisa", os.environ.get("LISA_CHECKPOINT") or None)
    options.setdefault("clip", os.environ.get("CLIP_CHECKPOINT") or None)
    return build(**options)


__all__ = ["build_tracker"]
