"""Three-frame clips (paper §4.1): I_0 for the brain, then I_t and I_{t+1} for
the propagated query, sampled at random from a video; items drawn from several
datasets in proportion to their weights."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from trackgpt.data.readers import TrainItem


def clip_indices(n_frames: int, rng: random.Random) -> tuple[int, int, int]:
    """(0-frame, t, t+1) with 0-frame < t where the video allows; an image
    (one frame) repeats itself."""
    if n_frames <= 1:
        return 0, 0, 0
    if n_frames == 2:
        return 0, 0, 1
    t = rng.randrange(1, n_frames - 1)
    return rng.randrange(0, t), t, t + 1


@dataclass
class Clip:
    item: TrainItem
    indices: tuple[int, int, int]
    images: list[np.ndarray]  # three RGB frames
    targets: list[np.ndarray] | None  # three 0/1/255 masks; None for a text-only item (VQA)


class ClipDataset:
    """A map-style dataset (torch DataLoader compatible) of `length` clips drawn
    deterministically from (seed, index), so every epoch and rank is reproducible."""

    def __init__(self, sources: Sequence[tuple[Sequence[TrainItem], float]], length: int, seed: int = 0):
        self.sources = [(list(items), float(w)) for items, w in sources if items]
        if not self.sources:
            raise ValueError("no training items")
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Clip:
        rng = random.Random(self.seed * 1_000_003 + index)
        weights = [w for _, w in self.sources]
        for _ in range(100):
            items, _ = rng.choices(self.sources, weights=weights)[0]
            item = items[rng.randrange(len(items))]
            if hasattr(item, "sample"):  # stage-1 images choose their class / sentence when drawn
                item = item.sample(rng)
            if item is not None:  # None: an image with no usable class; draw again
                break
        else:
            raise ValueError("100 draws in a row found no usable item (label maps without classes?)")
        idx = clip_indices(len(item.frames), rng)
        targets = [item.target(i) for i in idx] if item.has_target else None
        return Clip(item, idx, [item.image(i) for i in idx], targets)


def collate_clips(clips: list[Clip]) -> list[Clip]:
    """Clips stay a list: frames of different sizes are resized on the device."""
    return clips
