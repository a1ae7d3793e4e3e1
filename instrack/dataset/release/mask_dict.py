"""MeViS-style masks: `mask_dict.json` maps an annotation id to one COCO RLE
(or null, the object absent) per frame of its video, in the order of the
video's "frames" list; an expression's `anno_id` list names the annotations
whose union it refers to.

Importing reads a release's mask_dict whole (one video at a time is converted);
decoding goes through the evaluator's checked decoder
(`instrack.dataset.sources.mask_dict.decode_rle`), which checks the counts before
pycocotools sees them: pycocotools trusts its input and writes past its buffer
on counts that overrun the frame, and an archive is untrusted input.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from instrack.errors import DataError


class MaskDict(Mapping):
    """anno_id -> its list of RLEs (or null), read by offset from the file when
    asked: the evaluator's streaming index (`index_mask_dict`), so a release's
    mask_dict, GBs for MeViS's train split, is never held whole in memory. The
    last anno_id read is kept, since conversion asks for it frame after frame."""

    def __init__(self, path: Path):
        from instrack.dataset.sources.mask_dict import MaskDictReader, index_mask_dict

        entries = index_mask_dict(path)
        self._lengths = {key: entry.n_frames for key, entry in entries.items()}
        self._reader = MaskDictReader(str(path), {k: (e.offset, e.length) for k, e in entries.items()})
        self._last: tuple[str, list] | None = None

    def __getitem__(self, anno_id: str) -> list:
        if self._last is None or self._last[0] != anno_id:
            if anno_id not in self._lengths:
                raise KeyError(anno_id)
            self._last = (anno_id, self._reader.rles(anno_id))
        return self._last[1]

    def __contains__(self, anno_id: object) -> bool:
        return anno_id in self._lengths

    def __iter__(self):
        return iter(self._lengths)

    def __len__(self) -> int:
        return len(self._lengths)


def read_mask_dict(path: Path) -> MaskDict:
    """The release's mask_dict.json, indexed (DataError naming the file if it is not
    {anno_id: [RLE or null per frame, ...]})."""
    return MaskDict(Path(path))


def decode_rle(rle: Any, where: str) -> np.ndarray | None:
    """A boolean mask, or None for an absent object (null)."""
    from instrack.dataset.sources.mask_dict import decode_rle as checked_decode

    if rle is None:
        return None
    size = rle.get("size") if isinstance(rle, dict) else None
    if (not isinstance(size, list) or len(size) != 2 or "counts" not in rle
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)):
        raise DataError(f'{where}: expected a COCO RLE {{"size": [H, W], "counts": ...}} or null')
    return checked_decode(rle, (size[0], size[1]), where).astype(bool)


def encode_rle(mask: np.ndarray) -> dict:
    """The compressed COCO RLE of a boolean mask, counts as a string (as MeViS stores it)."""
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode()}
