"""The fast metrics against a slow, independent formulation on random masks.

The reference pads with edge replication to find boundaries and matches
boundary pixels by brute-force Euclidean distances (no dilation, no crop)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from instrack.evaluation.metrics import boundary_radius, f_measure, jaccard


def reference_boundary(mask):
    padded = np.pad(mask, ((0, 1), (0, 1)), mode="edge")
    right = padded[:-1, 1:]
    down = padded[1:, :-1]
    diag = padded[1:, 1:]
    return (mask != right) | (mask != down) | (mask != diag)


def reference_f(gt, pred, void=None):
    if void is not None:
        gt, pred = gt & ~void, pred & ~void
    r = boundary_radius(*gt.shape)
    gb, pb = np.argwhere(reference_boundary(gt)), np.argwhere(reference_boundary(pred))
    if len(gb) == 0 and len(pb) == 0:
        return 1.0
    if len(gb) == 0 or len(pb) == 0:
        return 0.0
    d_pred = cKDTree(gb).query(pb)[0]
    d_gt = cKDTree(pb).query(gb)[0]
    precision = np.mean(d_pred <= r + 1e-9)
    recall = np.mean(d_gt <= r + 1e-9)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def reference_j(gt, pred, void=None):
    valid = np.ones_like(gt) if void is None else ~void
    union = ((gt | pred) & valid).sum()
    return 1.0 if union == 0 else ((gt & pred) & valid).sum() / union


@st.composite
def mask_pairs(draw):
    h = draw(st.integers(1, 70))
    w = draw(st.integers(1, 90))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["blobs", "noise", "rect"]))

    def one():
        if kind == "noise":
            return rng.random((h, w)) < rng.random()
        if kind == "rect":
            m = np.zeros((h, w), bool)
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(0, h + 1), x0:x0 + rng.integers(0, w + 1)] = True
            return m
        m = np.zeros((h, w), bool)
        for _ in range(rng.integers(0, 4)):
            cy, cx, rad = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 2 + max(h, w) // 2)
            yy, xx = np.ogrid[:h, :w]
            m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= rad**2
        return m

    void = rng.random((h, w)) < 0.1 if draw(st.booleans()) else None
    return one(), one(), void


@settings(max_examples=300, deadline=None)
@given(mask_pairs())
def test_fast_equals_reference(pair):
    gt, pred, void = pair
    assert jaccard(gt, pred, void) == reference_j(gt, pred, void)
    assert f_measure(gt, pred, void) == reference_f(gt, pred, void)  # the same integer counts: exactly equal


def test_large_odd_frame():
    rng = np.random.default_rng(1)
    yy, xx = np.ogrid[:361, :641]
    gt = (yy - 180) ** 2 + (xx - 300) ** 2 < 90**2
    pred = (yy - 185 + rng.integers(-3, 3)) ** 2 + (xx - 310) ** 2 < 85**2
    assert abs(f_measure(gt, pred) - reference_f(gt, pred)) < 1e-12


@st.composite
def large_pairs(draw):
    """Frames up to 720x1280 (tolerance radius up to 12, as for MeViS): a few
    small shapes far apart (sparse boundaries on large frames), or noise and
    stripes (dense boundaries), as boolean or 0/255 uint8 masks."""
    h = draw(st.integers(100, 720))
    w = draw(st.integers(100, 1280))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    yy, xx = np.ogrid[:h, :w]

    def shapes():
        m = np.zeros((h, w), bool)
        for _ in range(rng.integers(0, 4)):
            cy, cx, rad = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 40)
            m |= (yy - cy) ** 2 + (xx - cx) ** 2 <= rad**2
        return m

    def dense():
        m = np.zeros((h, w), bool)
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        patch = m[y0 : y0 + rng.integers(1, 200), x0 : x0 + rng.integers(1, 300)]
        if rng.random() < 0.5:
            patch[...] = rng.random(patch.shape) < rng.random()
        else:
            patch[:, :: rng.integers(2, 5)] = True
        return m

    gt = shapes() if rng.random() < 0.7 else dense()
    choice = rng.random()
    # the prediction: the ground truth shifted by a few pixels, unrelated shapes, or noise
    pred = np.roll(gt, tuple(rng.integers(-15, 16, 2)), axis=(0, 1)) if choice < 0.5 else (
        shapes() if choice < 0.8 else dense())
    if draw(st.booleans()):
        pred = pred.astype(np.uint8) * 255
    return gt, pred


@settings(max_examples=40, deadline=None)
@given(large_pairs())
def test_fast_equals_reference_on_large_frames(pair):
    gt, pred = pair
    assert jaccard(gt, pred) == reference_j(gt, pred != 0)
    assert f_measure(gt, pred) == reference_f(gt, pred != 0)


@settings(max_examples=40, deadline=None)
@given(large_pairs())
def test_integral_and_dilation_matching_both_equal_the_reference(pair):
    """Boundary points are matched with an integral image or, when they are
    dense, by dilating the window; force each in turn."""
    from instrack.evaluation import metrics

    gt, pred = pair
    expected = reference_f(gt, pred != 0)
    saved = metrics.DENSE_POINTS
    try:
        for dense_points in (0, 10**9):  # never / always dilate
            metrics.DENSE_POINTS = dense_points
            assert f_measure(gt, pred) == expected, dense_points
    finally:
        metrics.DENSE_POINTS = saved


def test_one_prepared_ground_truth_scored_against_many_predictions_equals_fresh_scores():
    """As the MeViS job does: one PreparedMask per target and frame, shared."""
    from instrack.evaluation.metrics import PreparedMask, score_prepared

    rng = np.random.default_rng(11)
    yy, xx = np.ogrid[:720, :1280]
    gt = ((yy - 300) ** 2 + (xx - 500) ** 2 <= 90**2) | ((yy - 650) ** 2 + (xx - 1250) ** 2 <= 60**2)
    shared = PreparedMask(gt)
    for _ in range(30):
        dy, dx = rng.integers(-40, 41, 2)
        pred = np.roll(gt, (dy, dx), axis=(0, 1)).astype(np.uint8) * 255
        if rng.random() < 0.3:
            pred[rng.random(pred.shape) < 0.001] = 255
        expected = (reference_j(gt, pred != 0), reference_f(gt, pred != 0))
        assert score_prepared(shared, PreparedMask(pred)) == expected
        assert score_prepared(PreparedMask(pred), shared) == (expected[0], reference_f(pred != 0, gt))
