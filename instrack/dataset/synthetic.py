"""Synthetic DAVIS-style data for benchmarks and tests: moving ellipses with
void borders in the official DAVIS layout, and noisy predictions of them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from instrack.masks import davis_palette


@dataclass(frozen=True)
class SyntheticSpec:
    sequences: int = 30
    frames: int = 70
    height: int = 480
    width: int = 854
    max_objects: int = 3
    seed: int = 0


def _object_masks(rng: np.random.Generator, spec: SyntheticSpec, n_objects: int) -> np.ndarray:
    """Label maps [frames, H, W]: each object an ellipse moving on a straight path,
    with a 255 void ring around it (as DAVIS annotates uncertain edges)."""
    h, w = spec.height, spec.width
    labels = np.zeros((spec.frames, h, w), dtype=np.uint8)
    params = []
    for _ in range(n_objects):
        start = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
        velocity = rng.uniform(-0.006, 0.006, size=2) * np.array([w, h])
        axes = rng.uniform(0.04, 0.18, size=2) * min(h, w)
        angle = rng.uniform(0, 180)
        params.append((start, velocity, axes, angle))
    for t in range(spec.frames):
        for k, (start, velocity, axes, angle) in enumerate(params, start=1):
            cx, cy = start + velocity * t
            box = ((float(cx), float(cy)), (float(2 * axes[0]), float(2 * axes[1])), float(angle + 0.5 * t))
            ring = np.zeros((h, w), dtype=np.uint8)
            cv2.ellipse(ring, box, 1, thickness=3)
            body = np.zeros((h, w), dtype=np.uint8)
            cv2.ellipse(body, box, 1, thickness=-1)
            labels[t][body > 0] = k
            labels[t][(ring > 0) & (labels[t] == 0)] = 255
    return labels


def _noisy(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """A plausible prediction of one object: shifted, grown or shrunk, sometimes lost."""
    if rng.random() < 0.05:
        return np.zeros_like(mask)
    dy, dx = rng.integers(-12, 13, size=2)
    out = np.roll(mask, (int(dy), int(dx)), axis=(0, 1))
    size = int(rng.integers(1, 9))
    kernel = np.ones((size, size), np.uint8)
    out = cv2.dilate(out, kernel) if rng.random() < 0.5 else cv2.erode(out, kernel)
    return out


def _png(labels: np.ndarray) -> bytes:
    image = Image.fromarray(labels, mode="L").convert("P")
    image.putpalette(davis_palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_davis(root: str | Path, pred_semi: str | Path, pred_unsup: str | Path | None = None,
                spec: SyntheticSpec = SyntheticSpec(), subset: str = "val") -> list[str]:
    """Write a DAVIS-2017 layout at `root` and predictions for both protocols."""
    rng = np.random.default_rng(spec.seed)
    root, pred_semi = Path(root), Path(pred_semi)
    jpeg = io.BytesIO()
    Image.new("RGB", (spec.width, spec.height), (90, 110, 130)).save(jpeg, format="JPEG")
    names = [f"synthetic-{i:03d}" for i in range(spec.sequences)]
    (root / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "2017" / f"{subset}.txt").write_text("\n".join(names) + "\n")
    for name in names:
        n_objects = int(rng.integers(1, spec.max_objects + 1))
        labels = _object_masks(rng, spec, n_objects)
        folders = {
            "img": root / "JPEGImages" / "480p" / name,
            "semi": root / "Annotations" / "480p" / name,
            "unsup": root / "Annotations_unsupervised" / "480p" / name,
            "pred_semi": pred_semi / name,
        }
        if pred_unsup is not None:
            folders["pred_unsup"] = Path(pred_unsup) / name
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        # unsupervised predictions: ids permuted, sometimes an extra false proposal
        permutation = rng.permutation(n_objects) + 1
        extra = rng.random() < 0.3
        for t in range(spec.frames):
            frame = f"{t:05d}"
            (folders["img"] / f"{frame}.jpg").write_bytes(jpeg.getvalue())
            gt_png = _png(labels[t])
            (folders["semi"] / f"{frame}.png").write_bytes(gt_png)
            (folders["unsup"] / f"{frame}.png").write_bytes(gt_png)
            pred = np.zeros((spec.height, spec.width), dtype=np.uint8)
            pred_u = np.zeros_like(pred)
            for k in range(1, n_objects + 1):
                noisy = _noisy(rng, (labels[t] == k).astype(np.uint8))
                pred[noisy > 0] = k
                pred_u[noisy > 0] = permutation[k - 1]
            if extra:
                y, x = int(rng.integers(0, spec.height - 40)), int(rng.integers(0, spec.width - 40))
                pred_u[y:y + 30, x:x + 30] = n_objects + 1
            (folders["pred_semi"] / f"{frame}.png").write_bytes(_png(pred))
            if pred_unsup is not None:
                (folders["pred_unsup"] / f"{frame}.png").write_bytes(_png(pred_u))
    return names
