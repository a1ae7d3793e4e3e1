"""Hand-computed values and the edge cases of SPEC §3–4."""

import numpy as np
import pytest

from instrack.evaluation.metrics import (UNKNOWN, PreparedMask, boundary_map, boundary_radius, decay_edges, dilate_disk,
                                        disk, disk_as_rectangles,
                                        f_measure, jaccard, mask_extent, matched_within, score_frame, statistics)


def masks(h=20, w=30):
    return np.zeros((h, w), bool), np.zeros((h, w), bool)


def test_both_empty_is_perfect():
    gt, pred = masks()
    assert jaccard(gt, pred) == 1.0 and f_measure(gt, pred) == 1.0


def test_one_empty_scores_zero():
    gt, pred = masks()
    gt[5:10, 5:10] = True
    assert jaccard(gt, pred) == 0.0 and f_measure(gt, pred) == 0.0
    assert jaccard(pred, gt) == 0.0 and f_measure(pred, gt) == 0.0


def test_empty_gt_full_frame_prediction():
    gt, pred = masks()
    pred[:] = True
    # a full-frame mask has no boundary, nor has an empty one: F = 1, J = 0
    assert jaccard(gt, pred) == 0.0
    assert f_measure(gt, pred) == 1.0


def test_full_frame_object():
    gt, pred = masks()
    gt[:] = pred[:] = True
    assert jaccard(gt, pred) == 1.0 and f_measure(gt, pred) == 1.0


def test_hand_computed_jaccard():
    gt, pred = masks()
    gt[0:4, 0:4] = True  # 16 px
    pred[2:6, 2:6] = True  # 16 px, overlap 4
    assert jaccard(gt, pred) == pytest.approx(4 / 28)


def test_single_pixel_in_corner():
    gt, pred = masks()
    gt[-1, -1] = True
    # the pixel itself has no lower/right neighbour: its boundary is the pixels above and left of it
    assert boundary_map(gt).sum() == 3
    assert f_measure(gt, gt.copy()) == 1.0
    assert jaccard(gt, gt.copy()) == 1.0
    pred = np.zeros_like(gt)
    pred[0, 0] = True
    assert f_measure(gt, pred) == 0.0  # far apart: nothing matches


def test_border_is_never_a_boundary():
    gt, _ = masks()
    gt[:, :10] = True  # touches top, bottom and left borders
    b = boundary_map(gt)
    assert b[:, 9].all() and b.sum() == gt.shape[0]


def test_void_is_excluded():
    gt, pred = masks()
    gt[5:10, 5:10] = True
    pred[5:10, 5:12] = True
    void = np.zeros_like(gt)
    void[:, 10:] = True
    assert jaccard(gt, pred) < 1.0
    assert jaccard(gt, pred, void) == 1.0
    assert f_measure(gt, pred, void) == 1.0


def test_radius_matches_davis():
    assert boundary_radius(480, 854) == 8
    assert boundary_radius(361, 641) == 6


def test_f_tolerance_is_a_disk_not_a_square():
    gt, pred = masks(100, 100)
    gt[40:60, 40:60] = True
    r = boundary_radius(100, 100)  # 2
    shifted = np.roll(np.roll(gt, r, axis=0), r, axis=1)  # corners move by r*sqrt(2) > r
    assert f_measure(gt, np.roll(gt, r, axis=0)) == 1.0
    assert f_measure(gt, shifted) < 1.0


def test_decay_edges_are_exact_for_long_videos():
    # the official code keeps these in uint8: for 300 frames its last edge wraps to 43
    assert decay_edges(300).tolist() == [0, 75, 150, 224, 299]
    assert decay_edges(1).tolist() == [0, 0, 0, 0, 0]
    assert decay_edges(3).tolist() == [0, 1, 1, 2, 2]


def test_statistics_recall_and_decay():
    values = np.array([1.0, 1.0, 0.5, 0.0, 0.0])
    s = statistics(values)
    assert s.mean == pytest.approx(0.5)
    assert s.recall == pytest.approx(2 / 5)  # 0.5 is not > 0.5
    # edges [0,1,2,3,4]: bin0 = v[0:2], bin3 = v[3:5]
    assert s.decay == pytest.approx(1.0)


def test_statistics_300_frames():
    values = np.linspace(1, 0, 300)
    s = statistics(values)
    assert s.decay == pytest.approx(np.mean(values[0:76]) - np.mean(values[224:300]))
    assert np.isfinite(s.decay)


def test_one_frame_video():
    s = statistics(np.array([0.7]))
    assert (s.mean, s.recall, s.decay) == (0.7, 1.0, 0.0)


@pytest.mark.parametrize("radius", [1, 2, 3, 6, 8, 9, 12, 13])
def test_rectangles_cover_exactly_the_disk(radius):
    covered = np.zeros((2 * radius + 1, 2 * radius + 1), np.uint8)
    for half_height, half_width in disk_as_rectangles(radius):
        covered[radius - half_height : radius + half_height + 1, radius - half_width : radius + half_width + 1] = 1
    assert np.array_equal(covered, disk(radius))


@pytest.mark.parametrize("radius", [1, 2, 3, 6, 8, 9, 12, 13])
@pytest.mark.parametrize("density", [0.0005, 0.01, 0.2])
def test_matched_within_equals_opencv_dilation_by_the_disk(radius, density):
    """The integral-image count against OpenCV's own dilation by disk(radius)."""
    import cv2

    rng = np.random.default_rng(radius)
    targets = rng.random((157, 291)) < density
    points_map = rng.random(targets.shape) < 0.05
    points = np.argwhere(points_map)[:, ::-1]  # (x, y)
    dilated = cv2.dilate(targets.astype(np.uint8), disk(radius)).astype(bool)
    assert matched_within(points, targets, radius) == int(np.count_nonzero(dilated & points_map))


@pytest.mark.parametrize("radius", [1, 2, 3, 6, 8, 9, 12, 13])
def test_rectangle_dilation_equals_disk_dilation(radius):
    import cv2

    image = (np.random.default_rng(radius).random((57, 91)) < 0.01).astype(np.uint8)
    assert np.array_equal(dilate_disk(image, radius), cv2.dilate(image, disk(radius)))


@pytest.mark.parametrize("dilate", [False, True])
@pytest.mark.parametrize("size", [(30, 40), (400, 700), (720, 1280)])
def test_count_near_equals_opencv_dilation_of_the_boundary_by_the_disk(size, dilate, monkeypatch):
    """PreparedMask.count_near, the code the scorer runs, on points inside,
    around and far outside the mask's window, by integral image and by
    dilation, against OpenCV's own dilation of the boundary map by disk(r)."""
    import cv2

    from instrack.evaluation import metrics

    monkeypatch.setattr(metrics, "DENSE_POINTS", 10**9 if dilate else 0)  # always / never dilate
    rng = np.random.default_rng(size[0])
    mask = np.zeros(size, bool)
    y, x = size[0] // 3, size[1] // 4
    mask[y : y + size[0] // 3, x : x + size[1] // 3] = rng.random((size[0] // 3, size[1] // 3)) < 0.6
    prepared = PreparedMask(mask)
    radius = boundary_radius(*size)
    dilated = cv2.dilate(boundary_map(mask).astype(np.uint8), disk(radius)).astype(bool)
    points = np.argwhere(rng.random(size) < 0.05)[:, ::-1].astype(np.int32)  # (x, y) all over the frame
    assert prepared.count_near_points(points) == int(np.count_nonzero(dilated[points[:, 1], points[:, 0]]))
    assert prepared.count_near_points(points[:0]) == 0
    # another mask's boundary, thin or dense, anywhere: its pixels in the dilation
    for other in (np.roll(mask, (size[0] // 5, -size[1] // 6), axis=(0, 1)), rng.random(size) < 0.5,
                  np.pad(mask, ((0, 0), (size[1] // 2, 0)))[:, : size[1]]):
        expected = int(np.count_nonzero(boundary_map(other) & dilated))
        assert prepared.count_near(PreparedMask(other)) == expected


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="10x10"):
        score_frame(np.ones((10, 10), bool), np.ones((20, 20), bool))


def test_extent_is_the_box_of_the_set_pixels_and_any_larger_box_scores_the_same():
    rng = np.random.default_rng(5)
    for _ in range(50):
        gt = np.zeros((120, 200), bool)
        pred = np.zeros((120, 200), np.uint8)
        y, x = rng.integers(0, 100, 2)
        gt[y : y + 15, x : x + 30] = True
        pred[y + 3 : y + 20, x + 10 : x + 40] = 255
        y0, y1, x0, x1 = mask_extent(gt)
        rows, cols = np.flatnonzero(gt.any(axis=1)), np.flatnonzero(gt.any(axis=0))
        assert (y0, y1 - 1, x0, x1 - 1) == (rows[0], rows[-1], cols[0], cols[-1])
        exact = score_frame(gt, pred)
        assert score_frame(gt, pred, gt_extent=UNKNOWN, pred_extent=mask_extent(pred)) == exact
        larger = (max(y0 - 7, 0), y1 + 4, 0, x1 + 30)
        assert score_frame(gt, pred, gt_extent=larger, pred_extent=(0, 120, 0, 200)) == exact
    assert mask_extent(np.zeros((4, 4), bool)) is None
    assert score_frame(np.zeros((4, 4), bool), np.zeros((4, 4), bool), gt_extent=None, pred_extent=None) == (1.0, 1.0)
