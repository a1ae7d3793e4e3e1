"""Per-frame J and F: instrack's score_frame against the plain DAVIS method, same process.

    python benchmarks/frame_metrics.py                 # 1280x720 (r = 12)
    python benchmarks/frame_metrics.py --height 480 --width 854

The baseline is the DAVIS-2017 procedure written plainly with OpenCV on the
whole frame: boundary maps, each dilated by disk(r) with cv2.dilate, counts.
instrack works on each mask's own window and matches boundary pixels with an
integral image, or, where they are dense, by dilating the window. The cases
cover what scorers meet (objects and shifted predictions, empty frames) and
what a broken model or a hostile submission sends (noise, stripes, a
checkerboard against a full frame), where a per-point method could blow up.
Both give the same numbers (checked here on every case).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from instrack.evaluation.metrics import boundary_map, boundary_radius, disk, score_frame


def davis_plain(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    gt, pred = gt != 0, pred != 0
    union = np.count_nonzero(gt | pred)
    j = 1.0 if union == 0 else np.count_nonzero(gt & pred) / union
    kernel = disk(boundary_radius(*gt.shape))
    gt_b, pred_b = boundary_map(gt), boundary_map(pred)
    n_gt, n_pred = np.count_nonzero(gt_b), np.count_nonzero(pred_b)
    if n_gt == 0 and n_pred == 0:
        return j, 1.0
    if n_gt == 0 or n_pred == 0:
        return j, 0.0
    gt_dil = cv2.dilate(gt_b.view(np.uint8), kernel).view(bool)
    pred_dil = cv2.dilate(pred_b.view(np.uint8), kernel).view(bool)
    precision = np.count_nonzero(pred_b & gt_dil) / n_pred
    recall = np.count_nonzero(gt_b & pred_dil) / n_gt
    return j, 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def cases(height: int, width: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    yy, xx = np.ogrid[:height, :width]
    blob = (yy - height * 0.4) ** 2 / (height * 0.2) ** 2 + (xx - width * 0.5) ** 2 / (width * 0.15) ** 2 <= 1
    small = (yy - height * 0.8) ** 2 + (xx - width * 0.1) ** 2 <= (height * 0.04) ** 2
    full = np.ones((height, width), bool)
    return {
        "object, shifted prediction": (blob, np.roll(blob, (7, -5), axis=(0, 1))),
        "two objects far apart": (blob | small, np.roll(blob | small, (3, 4), axis=(0, 1))),
        "object, empty prediction": (blob, np.zeros_like(blob)),
        "both empty": (np.zeros_like(blob), np.zeros_like(blob)),
        "object, 50% noise": (blob, rng.random(blob.shape) < 0.5),
        "full frame, stripes": (full, (xx % 2 == 0) & np.ones_like(full)),
        "full frame, checkerboard": (full, (yy + xx) % 2 == 0),
    }


def timed(function, gt, pred, repeats: int) -> tuple[float, tuple[float, float]]:
    result = function(gt, pred)
    start = time.perf_counter()
    for _ in range(repeats):
        function(gt, pred)
    return (time.perf_counter() - start) / repeats, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # as in the evaluator's workers
    print(f"{args.width}x{args.height}, r = {boundary_radius(args.height, args.width)}, one thread")
    print(f"{'case':30s} {'plain DAVIS':>12s} {'instrack':>10s} {'ratio':>7s}")
    for name, (gt, pred) in cases(args.height, args.width).items():
        plain_s, expected = timed(davis_plain, gt, pred, args.repeats)
        ours_s, got = timed(score_frame, gt, pred, args.repeats)
        if got != expected:
            raise SystemExit(f"{name}: instrack {got} != plain DAVIS {expected}")
        print(f"{name:30s} {plain_s * 1e3:9.2f} ms {ours_s * 1e3:7.2f} ms {plain_s / ours_s:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
