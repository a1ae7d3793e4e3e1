"""MeViS-style masks: `mask_dict.json` maps an annotation id to one COCO RLE
(or null, the object absent) per frame of its video, in the order of the
video's "frames" list; an expression's `anno_id` list names the annotations
whose union it refers to.

A small reader for importing releases (issue 13). The evaluation protocols may
grow their own reader of the same format; the two should be unified.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

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
    if rle is None:
        return None
    if not isinstance(rle, dict) or not isinstance(rle.get("size"), list) or "counts" not in rle:
        raise DataError(f'{where}: expected a COCO RLE {{"size": [H, W], "counts": ...}} or null')
    h, w = rle["size"]
    counts = rle["counts"]
    try:
        if isinstance(counts, list):  # uncompressed RLE
            if sum(counts) != h * w:
                raise ValueError(f"run lengths sum to {sum(counts)}, not {h}x{w}")
            compressed = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        else:
            compressed = {"size": [h, w], "counts": counts.encode() if isinstance(counts, str) else counts}
        return coco_mask.decode(compressed).astype(bool)
    except (TypeError, ValueError) as err:
        raise DataError(f"{where}: undecodable RLE ({err})") from err


def encode_rle(mask: np.ndarray) -> dict:
    """The compressed COCO RLE of a boolean mask, counts as a string (as MeViS stores it)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode()}
