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

import json
from pathlib import Path
from typing import Any

import numpy as np

from instrack.errors import DataError


def read_mask_dict(path: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise DataError(f"{path}: expected {{anno_id: [RLE or null per frame, ...]}}")
    return {str(k): v for k, v in data.items()}


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
