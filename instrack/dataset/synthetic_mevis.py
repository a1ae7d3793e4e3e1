"""Synthetic MeViS-layout data for benchmarks and parity tests: moving,
sometimes overlapping ellipses that enter and leave (null masks), expressions
referring to one or several of them or to none (MeViS v2 no-target), and noisy
predictions saved as 0/1 or 0/255 PNGs. Everything follows one seed.

    ROOT/<split>/meta_expressions.json, mask_dict.json, JPEGImages/<video>/<frame>.jpg
    PRED/<video>/<exp_id>/<frame>.png
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class MevisSyntheticSpec:
    videos: int = 6
    expressions: int = 4  # per video
    frames: int = 8
    height: int = 72
    width: int = 128
    max_objects: int = 3
    #: share of expressions that refer to no object
    no_target: float = 0.15
    #: every how many videos one has a single frame (0: none)
    single_frame_every: int = 4
    #: value of the predicted target: 1, 255, or 0 to alternate per video
    pred_value: int = 0
    seed: int = 0
    split: str = "valid_u"


def _objects(rng: np.random.Generator, spec: MevisSyntheticSpec, n_frames: int, n_objects: int) -> np.ndarray:
    """[object, frame, H, W] uint8 masks; an object is visible on a random frame interval."""
    h, w = spec.height, spec.width
    out = np.zeros((n_objects, n_frames, h, w), dtype=np.uint8)
    for k in range(n_objects):
        start = rng.uniform([0.15 * w, 0.15 * h], [0.85 * w, 0.85 * h])
        velocity = rng.uniform(-0.02, 0.02, size=2) * np.array([w, h])
        axes = rng.uniform(0.06, 0.22, size=2) * min(h, w)
        angle = float(rng.uniform(0, 180))
        first = int(rng.integers(0, max(1, n_frames // 3) + 1)) if rng.random() < 0.4 else 0
        last = int(rng.integers(2 * n_frames // 3, n_frames + 1)) if rng.random() < 0.4 else n_frames
        first = min(first, n_frames - 1)
        last = min(max(last, first + 1), n_frames)
        for t in range(first, last):
            cx, cy = start + velocity * t
            box = ((float(cx), float(cy)), (float(2 * axes[0]), float(2 * axes[1])), angle + 3.0 * t)
            cv2.ellipse(out[k, t], box, 1, thickness=-1)
    return out


def _rle(mask: np.ndarray) -> dict | None:
    from pycocotools import mask as mask_utils

    if not mask.any():
        return None
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _noisy(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """A plausible prediction: shifted, grown or shrunk; sometimes lost, sometimes a false blob."""
    r = rng.random()
    if r < 0.05:
        return np.zeros_like(mask)
    out = mask
    if out.any():
        dy, dx = (int(v) for v in rng.integers(-4, 5, size=2))
        out = np.roll(out, (dy, dx), axis=(0, 1))
        size = int(rng.integers(1, 5))
        kernel = np.ones((size, size), np.uint8)
        out = cv2.dilate(out, kernel) if rng.random() < 0.5 else cv2.erode(out, kernel)
    if r > 0.85:
        h, w = mask.shape
        y, x = int(rng.integers(0, max(1, h - 10))), int(rng.integers(0, max(1, w - 10)))
        out = out.copy()
        out[y:y + max(2, h // 8), x:x + max(2, w // 8)] = 1
    return out


def _png(mask: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", mask)
    assert ok
    return data.tobytes()


def write_mevis(root: str | Path, pred: str | Path | None, spec: MevisSyntheticSpec = MevisSyntheticSpec(),
                progress=None) -> dict:
    """Write the split ROOT/<spec.split>/ and predictions at `pred` (None: none);
    returns counts. Same spec and seed, same bytes."""
    rng = np.random.default_rng(spec.seed)
    split_dir = Path(root) / spec.split
    split_dir.mkdir(parents=True, exist_ok=True)
    jpeg = io.BytesIO()
    Image.new("RGB", (spec.width, spec.height), (90, 110, 130)).save(jpeg, format="JPEG")
    videos, next_anno = {}, 0
    counts = {"videos": 0, "expressions": 0, "no_target": 0, "frames": 0}
    with open(split_dir / "mask_dict.json.tmp", "w", encoding="ascii") as mask_dict:
        mask_dict.write("{")
        for v in range(spec.videos):
            name = f"synthetic{v:03d}"
            single = spec.single_frame_every and v % spec.single_frame_every == spec.single_frame_every - 1
            n_frames = 1 if single else spec.frames
            frames = [f"{t:05d}" for t in range(n_frames)]
            n_objects = int(rng.integers(1, spec.max_objects + 1))
            objects = _objects(rng, spec, n_frames, n_objects)
            anno_ids = list(range(next_anno, next_anno + n_objects))
            next_anno += n_objects
            for k, anno in enumerate(anno_ids):
                if anno:
                    mask_dict.write(", ")
                mask_dict.write(json.dumps(str(anno)) + ": " + json.dumps([_rle(objects[k, t]) for t in range(n_frames)]))
            expressions = {}
            value = spec.pred_value or (1 if v % 2 == 0 else 255)
            for e in range(spec.expressions):
                if rng.random() < spec.no_target:
                    chosen: list[int] = []
                else:
                    size = int(rng.integers(1, n_objects + 1))
                    chosen = sorted(int(i) for i in rng.choice(n_objects, size=size, replace=False))
                expressions[str(e)] = {
                    "exp": f"expression {e} of {name}" if chosen else f"something that is not in {name}",
                    "obj_id": chosen,
                    "anno_id": [anno_ids[i] for i in chosen],
                }
                counts["no_target"] += not chosen
                if pred is None:
                    continue
                folder = Path(pred) / name / str(e)
                folder.mkdir(parents=True, exist_ok=True)
                for t, frame in enumerate(frames):
                    target = objects[chosen, t].max(axis=0) if chosen else np.zeros((spec.height, spec.width), np.uint8)
                    (folder / f"{frame}.png").write_bytes(_png(_noisy(rng, target) * np.uint8(value)))
            videos[name] = {"frames": frames, "expressions": expressions}
            image_dir = split_dir / "JPEGImages" / name
            image_dir.mkdir(parents=True, exist_ok=True)
            for frame in frames:
                (image_dir / f"{frame}.jpg").write_bytes(jpeg.getvalue())
            counts["videos"] += 1
            counts["expressions"] += len(expressions)
            counts["frames"] += n_frames
            if progress:
                progress(v + 1, spec.videos)
        mask_dict.write("}")
    (split_dir / "mask_dict.json.tmp").replace(split_dir / "mask_dict.json")
    (split_dir / "meta_expressions.json").write_text(json.dumps({"videos": videos}), encoding="utf-8")
    return counts
