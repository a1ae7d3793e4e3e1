"""Per-frame J and F and per-unit statistics, as SPEC §3–4 define them.

Numerically identical to davisvideochallenge/davis2017-evaluation (checked by
tests/test_metrics_reference.py and, outside the repo, against the official
code itself), but faster: masks stay boolean, the boundary work is done on
the crop that holds both masks rather than on the whole frame, and where the
boundaries are sparse on that crop (large objects at 720p) their pixels are
matched by nearest-neighbour distance instead of by dilating the crop.
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


@lru_cache(maxsize=16)
def disk_as_rectangles(radius: int) -> tuple[np.ndarray, ...]:
    """Centred rectangles whose union is exactly disk(radius).

    Dilating by each rectangle (separable, constant cost per pixel in OpenCV)
    and taking the maximum equals dilating by the disk, at about 60% of the cost
    of OpenCV's generic kernel (tests/test_metrics.py checks the equality)."""
    half_widths = [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]
    rectangles = []
    for half_width in sorted(set(half_widths), reverse=True):
        half_height = max(dy for dy, w in enumerate(half_widths) if w >= half_width)
        rectangles.append(np.ones((2 * half_height + 1, 2 * half_width + 1), np.uint8))
    return tuple(rectangles)


def dilate_disk(image: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of a uint8 image (1 to 4 channels) by disk(radius)."""
    out = None
    for rectangle in disk_as_rectangles(radius):
        dilated = cv2.dilate(image, rectangle)
        out = dilated if out is None else np.maximum(out, dilated, out=out)
    return out


def _crop(gt: np.ndarray, pred: np.ndarray) -> tuple[slice, slice] | None:
    """The extent of gt | pred plus one row/column each side (clipped), or None
    when both are empty. Everything J and F look at lies inside it: the row
    before the extent can hold boundary pixels; the row after is background in
    both masks, so the edge replication at the crop's border adds no boundary."""
    union = np.logical_or(gt, pred)
    rows = np.flatnonzero(union.any(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = rows[0], rows[-1]
    cols = np.flatnonzero(union[y0 : y1 + 1].any(axis=0))
    x0, x1 = cols[0], cols[-1]
    height, width = gt.shape
    return slice(max(y0 - 1, 0), min(y1 + 2, height)), slice(max(x0 - 1, 0), min(x1 + 2, width))


def _as_bool(mask: np.ndarray) -> np.ndarray:
    return mask if mask.dtype == bool else mask != 0


def score_frame(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> tuple[float, float]:
    """J and F of one frame. `gt` and `pred` are boolean or uint8 masks (non-zero
    = inside); `void` marks pixels excluded from both metrics."""
    radius = boundary_radius(*gt.shape)
    window = _crop(gt, pred)
    if window is None:
        return 1.0, 1.0  # both empty: J's union and both boundaries are empty
    gt, pred = _as_bool(gt[window]), _as_bool(pred[window])
    if void is not None:
        valid = ~void[window]
        gt, pred = gt & valid, pred & valid
    union = np.count_nonzero(gt | pred)
    j = 1.0 if union == 0 else np.count_nonzero(gt & pred) / union
    return j, _f_on_crop(gt, pred, radius)


def jaccard(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """|P & G & ~V| / |(P | G) & ~V|, and 1 when that union is empty."""
    return score_frame(gt, pred, void)[0]


def f_measure(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """Boundary F-measure with tolerance r = ceil(0.008 * diagonal) (SPEC §3)."""
    return score_frame(gt, pred, void)[1]


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Pixels that differ from their right, lower or lower-right neighbour;
    neighbours beyond the last row/column are edge-replicated (never a boundary)."""
    out = np.zeros(mask.shape, dtype=bool)
    np.not_equal(mask[:, :-1], mask[:, 1:], out=out[:, :-1])
    out[:-1, :] |= mask[:-1, :] != mask[1:, :]
    out[:-1, :-1] |= mask[:-1, :-1] != mask[1:, 1:]
    return out


def _f_on_crop(gt: np.ndarray, pred: np.ndarray, radius: int | None) -> float:
    gt_b = boundary_map(gt)
    pred_b = boundary_map(pred)
    n_gt = np.count_nonzero(gt_b)
    n_pred = np.count_nonzero(pred_b)
    if n_gt == 0 and n_pred == 0:
        return 1.0
    if n_gt == 0 or n_pred == 0:
        return 0.0
    if (n_gt + n_pred) * POINTS_PER_AREA < gt_b.size:
        # few boundary pixels on a large crop: match them by nearest-neighbour
        # distance instead of dilating the whole crop (same sets, see _matched)
        gt_points, pred_points = _points(gt_b), _points(pred_b)
        precision = _matched(pred_points, gt_points, radius) / float(n_pred)
        recall = _matched(gt_points, pred_points, radius) / float(n_gt)
    else:
        # both boundary maps dilated in one call, as the two channels of one image
        dilated = dilate_disk(np.dstack((gt_b, pred_b)).view(np.uint8), radius).view(bool)
        gt_dil, pred_dil = dilated[..., 0], dilated[..., 1]
        precision = np.count_nonzero(pred_b & gt_dil) / float(n_pred)
        recall = np.count_nonzero(gt_b & pred_dil) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


#: below one boundary pixel per this many crop pixels, nearest neighbours beat dilation
POINTS_PER_AREA = 24


def _points(mask: np.ndarray) -> np.ndarray:
    """(x, y) of the set pixels of a boolean mask (OpenCV's scan is ~2x np.argwhere's)."""
    return cv2.findNonZero(mask.view(np.uint8)).reshape(-1, 2)


def _matched(points: np.ndarray, targets: np.ndarray, radius: int) -> int:
    """How many of `points` have a target within disk(radius), i.e. at squared
    distance <= radius^2: exactly the pixels the dilation by disk(radius) of the
    targets covers. Distances are square roots of integers, exact enough in
    float64 that d <= radius decides the same as d^2 <= radius^2."""
    from scipy.spatial import cKDTree

    distances, _ = cKDTree(targets).query(points, k=1, distance_upper_bound=radius + 0.5)
    return int(np.count_nonzero(distances <= radius))


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
