"""Per-frame J and F and per-unit statistics, as SPEC §3–4 define them.

Numerically identical to davisvideochallenge/davis2017-evaluation (checked by
tests/test_metrics_reference.py and, outside the repo, against the official
code itself), but faster: masks stay boolean, and the boundary work is done
on the crop that holds both masks rather than on the whole frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

BOUNDARY_FRACTION = 0.008  # r = ceil(0.008 * image diagonal), DAVIS's bound_th


def boundary_radius(height: int, width: int) -> int:
    return int(math.ceil(BOUNDARY_FRACTION * math.hypot(height, width)))


@lru_cache(maxsize=16)
def disk(radius: int) -> np.ndarray:
    """All offsets with dy^2 + dx^2 <= r^2 (not OpenCV's MORPH_ELLIPSE, which differs)."""
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)


def jaccard(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """|P & G & ~V| / |(P | G) & ~V|, and 1 when that union is empty."""
    if void is None:
        inter = np.count_nonzero(gt & pred)
        union = np.count_nonzero(gt | pred)
    else:
        valid = ~void
        inter = np.count_nonzero(gt & pred & valid)
        union = np.count_nonzero((gt | pred) & valid)
    return 1.0 if union == 0 else inter / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Pixels that differ from their right, lower or lower-right neighbour;
    neighbours beyond the last row/column are edge-replicated (never a boundary)."""
    out = np.zeros(mask.shape, dtype=bool)
    np.not_equal(mask[:, :-1], mask[:, 1:], out=out[:, :-1])
    out[:-1, :] |= mask[:-1, :] != mask[1:, :]
    out[:-1, :-1] |= mask[:-1, :-1] != mask[1:, 1:]
    return out


def _extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def f_measure(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """Boundary F-measure with tolerance r = ceil(0.008 * diagonal) (SPEC §3)."""
    height, width = gt.shape
    if void is not None:
        valid = ~void
        gt = gt & valid
        pred = pred & valid
    both = gt | pred
    extent = _extent(both)
    if extent is None:
        return 1.0  # both boundaries empty
    # Crop to the masks' extent plus one row/column each side. The row before
    # the extent can hold boundary pixels; the row after is background in both
    # masks, so replicating it at the crop's edge adds no boundary. Boundary
    # pixels all lie inside the crop, so dilating there equals dilating the frame.
    y0, y1, x0, x1 = extent
    y0, x0 = max(y0 - 1, 0), max(x0 - 1, 0)
    y1, x1 = min(y1 + 2, height), min(x1 + 2, width)
    gt_b = boundary_map(gt[y0:y1, x0:x1])
    pred_b = boundary_map(pred[y0:y1, x0:x1])
    n_gt = np.count_nonzero(gt_b)
    n_pred = np.count_nonzero(pred_b)
    if n_gt == 0 and n_pred == 0:
        return 1.0
    if n_gt == 0 or n_pred == 0:
        return 0.0
    kernel = disk(boundary_radius(height, width))
    gt_dil = cv2.dilate(gt_b.view(np.uint8), kernel).view(bool)
    pred_dil = cv2.dilate(pred_b.view(np.uint8), kernel).view(bool)
    precision = np.count_nonzero(pred_b & gt_dil) / float(n_pred)
    recall = np.count_nonzero(gt_b & pred_dil) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def decay_edges(n: int) -> np.ndarray:
    """e_k = floor(k (N - 1) / 4 + 1/2), k = 0..4, in int64 (DAVIS keeps them in
    uint8, which wraps for N >= 256)."""
    k = np.arange(5, dtype=np.int64)
    return (k * (n - 1) + 2) // 4


@dataclass(frozen=True)
class Statistics:
    mean: float
    recall: float
    decay: float


def statistics(per_frame: np.ndarray) -> Statistics:
    """Mean, recall (share of frames > 0.5) and decay of one unit's per-frame values."""
    values = np.asarray(per_frame, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no frames to summarise")
    edges = decay_edges(values.size)
    first = values[edges[0] : edges[1] + 1]
    last = values[edges[3] : edges[4] + 1]
    return Statistics(
        mean=float(np.mean(values)),
        recall=float(np.mean(values > 0.5)),
        decay=float(np.mean(first) - np.mean(last)),
    )
