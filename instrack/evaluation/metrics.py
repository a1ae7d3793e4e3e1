"""Per-frame J and F and per-unit statistics, as SPEC §3–4 define them.

Numerically identical to davisvideochallenge/davis2017-evaluation (checked by
tests/test_metrics_reference.py and, outside the repo, against the official
code itself), but faster: masks stay boolean, the boundary work is done on
the crop that holds both masks rather than on the whole frame, and boundary
pixels are matched by counting, with an integral image, the other boundary's
pixels in the rectangles whose union is the tolerance disk, instead of by
dilating the crop with the disk (the same sets; about 5x faster at 720p).
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
def disk_as_rectangles(radius: int) -> tuple[tuple[int, int], ...]:
    """(half height, half width) of centred rectangles whose union is exactly
    disk(radius): for each distinct half width of the disk's rows, the tallest
    rectangle that fits (tests/test_metrics.py checks the union). Largest area
    first: most points near a boundary fall in the first one tried."""
    half_widths = [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]
    rectangles = []
    for half_width in sorted(set(half_widths), reverse=True):
        half_height = max(dy for dy, w in enumerate(half_widths) if w >= half_width)
        rectangles.append((half_height, half_width))
    return tuple(sorted(rectangles, key=lambda hw: -(2 * hw[0] + 1) * (2 * hw[1] + 1)))


#: an extent argument that the caller did not compute
UNKNOWN = "unknown"


def mask_extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), end-exclusive, of the non-zero pixels of a 2-D mask;
    None when it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[y0:y1].any(axis=0))
    return y0, y1, int(cols[0]), int(cols[-1]) + 1


class PreparedMask:
    """One mask of one frame, ready to be scored against others: its extent,
    area, boundary pixels and the integral image of its boundary map, all
    worked out on its own window (its extent plus one pixel each side) rather
    than on the frame. Ground truth shared by several predictions (MeViS
    expressions with the same objects) is prepared once.

    The window holds every boundary pixel: a pixel above or left of it has
    only background below and right of it, one below or right of it is
    background with background neighbours; inside it, edge replication at a
    window border that is not the frame's border compares background with
    background. So the boundary on the window is the boundary on the frame.
    Any box that holds the mask's non-zero pixels may be passed as `extent`."""

    __slots__ = ("mask", "shape", "radius", "extent", "area", "points", "_window", "_boundary", "_sums", "_origin",
                 "_stride")

    def __init__(self, mask: np.ndarray, extent=UNKNOWN):
        self.mask = mask
        self.shape = mask.shape
        self.radius = boundary_radius(*mask.shape)
        self.extent = mask_extent(mask) if extent is UNKNOWN else extent
        self._sums = None
        if self.extent is None:
            self.area, self.points, self._window = 0, _NO_POINTS, None
            return
        y0, y1, x0, x1 = self.extent
        height, width = self.shape
        self._window = (max(y0 - 1, 0), min(y1 + 1, height), max(x0 - 1, 0), min(x1 + 1, width))
        wy0, wy1, wx0, wx1 = self._window
        inside = _as_bool(mask[wy0:wy1, wx0:wx1])
        self.area = int(np.count_nonzero(inside))
        self._boundary = boundary_map(inside)
        self.points = _points(self._boundary) + np.array([wx0, wy0], np.int32)  # (x, y) in the frame

    def count_near(self, points: np.ndarray) -> int:
        """How many of `points` ((x, y) in the frame) lie within disk(radius)
        of one of this mask's boundary pixels: in the dilation of its boundary
        map by the disk, the set DAVIS's F counts (see matched_within)."""
        if self._window is None or len(points) == 0:
            return 0
        radius = self.radius
        if self._sums is None:
            # padded by 2r + 1: the rectangles around any point within r of the window stay inside
            self._sums, self._stride = _padded_integral(self._boundary, 2 * radius + 1)
            self._origin = (self._window[0] - 2 * radius - 1, self._window[2] - 2 * radius - 1)
            del self._boundary
        wy0, wy1, wx0, wx1 = self._window
        xs, ys = points[:, 0], points[:, 1]
        near = (ys >= wy0 - radius) & (ys < wy1 + radius) & (xs >= wx0 - radius) & (xs < wx1 + radius)
        if not near.all():  # farther than r from the window: farther than r from every boundary pixel
            xs, ys = xs[near], ys[near]
        offsets = (ys.astype(np.intp) - self._origin[0]) * self._stride + (xs.astype(np.intp) - self._origin[1])
        return _count_in_disk(self._sums, self._stride, offsets, radius)


_NO_POINTS = np.empty((0, 2), np.int32)


def _as_bool(mask: np.ndarray) -> np.ndarray:
    return mask if mask.dtype == bool else mask != 0


def score_frame(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None, *,
                gt_extent=UNKNOWN, pred_extent=UNKNOWN) -> tuple[float, float]:
    """J and F of one frame. `gt` and `pred` are boolean or uint8 masks (non-zero
    = inside); `void` marks pixels excluded from both metrics. A caller that
    knows a mask's extent (mask_extent, or any box holding its non-zero
    pixels; None for an empty mask) passes it to save a scan of the frame."""
    if void is not None:
        valid = ~void
        gt, pred = _as_bool(gt) & valid, _as_bool(pred) & valid
        gt_extent = pred_extent = UNKNOWN
    return score_prepared(PreparedMask(gt, gt_extent), PreparedMask(pred, pred_extent))


def score_prepared(gt: PreparedMask, pred: PreparedMask) -> tuple[float, float]:
    """J and F of one frame from its prepared ground truth and prediction."""
    if gt.extent is None and pred.extent is None:
        return 1.0, 1.0  # both empty: J's union and both boundaries are empty
    overlap = _intersection(gt.extent, pred.extent)
    if overlap is None:
        intersection = 0
    else:
        y0, y1, x0, x1 = overlap
        intersection = int(np.count_nonzero(np.logical_and(gt.mask[y0:y1, x0:x1], pred.mask[y0:y1, x0:x1])))
    union = gt.area + pred.area - intersection
    j = 1.0 if union == 0 else intersection / union
    n_gt, n_pred = len(gt.points), len(pred.points)
    if n_gt == 0 and n_pred == 0:
        return j, 1.0
    if n_gt == 0 or n_pred == 0:
        return j, 0.0
    precision = gt.count_near(pred.points) / float(n_pred)
    recall = pred.count_near(gt.points) / float(n_gt)
    if precision + recall == 0:
        return j, 0.0
    return j, 2 * precision * recall / (precision + recall)


def _intersection(a, b) -> tuple[int, int, int, int] | None:
    if a is None or b is None:
        return None
    y0, y1, x0, x1 = max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])
    return (y0, y1, x0, x1) if y0 < y1 and x0 < x1 else None


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


def _points(mask: np.ndarray) -> np.ndarray:
    """(x, y) of the set pixels of a boolean mask (OpenCV's scan is ~2x np.argwhere's)."""
    points = cv2.findNonZero(mask.view(np.uint8))
    return _NO_POINTS if points is None else points.reshape(-1, 2)


def _padded_integral(targets: np.ndarray, pad: int) -> tuple[np.ndarray, int]:
    """The integral image, flattened, of a boolean map padded by `pad` zeros on
    every side, and its row stride: sums[y * stride + x] is the number of
    target pixels in the rows above y and the columns left of x."""
    height, width = targets.shape
    padded = np.zeros((height + 2 * pad, width + 2 * pad), np.uint8)
    padded[pad : pad + height, pad : pad + width] = targets.view(np.uint8)
    return cv2.integral(padded).ravel(), width + 2 * pad + 1  # int32: exact below 2**31 pixels


def _count_in_disk(sums: np.ndarray, stride: int, offsets: np.ndarray, radius: int) -> int:
    """How many of the points at `offsets` (y * stride + x in the padded
    integral image) have a target pixel within disk(radius): the disk is a
    union of centred rectangles, and a rectangle holds a target pixel when its
    sum, from four corners of the integral image, is positive (exact integers)."""
    matched = 0
    pending = offsets
    for half_height, half_width in disk_as_rectangles(radius):
        if pending.size == 0:
            break
        below, above = (half_height + 1) * stride, -half_height * stride
        right, left = half_width + 1, -half_width
        inside = (sums.take(pending + below + right) - sums.take(pending + above + right)
                  - sums.take(pending + below + left) + sums.take(pending + above + left)) > 0
        matched += int(np.count_nonzero(inside))
        pending = pending[~inside]
    return matched


def matched_within(points: np.ndarray, targets: np.ndarray, radius: int) -> int:
    """How many of `points` ((x, y) pixels of the map) have a pixel of the
    boolean map `targets` within disk(radius), i.e. lie in the dilation of
    `targets` by disk(radius)."""
    pad = radius + 1  # every rectangle around every point stays inside the padded map
    sums, stride = _padded_integral(targets, pad)
    offsets = (points[:, 1].astype(np.intp) + pad) * stride + points[:, 0].astype(np.intp) + pad
    return _count_in_disk(sums, stride, offsets, radius)


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
