"""Synthetic data in the ReVOS layout, and predictions of it, for the parity
tests and benchmarks of the `revos` protocols.

    ROOT/JPEGImages/<video>/<frame>.jpg
    ROOT/mask_dict.json                  {anno_id: [COCO RLE or null per frame]}
    ROOT/mask_dict_foreground.json       {video: {"masks_rle": [RLE per frame], "foreground_ratio": [...]}}
    ROOT/meta_expressions_<split>_.json  {"videos": {video: {"vid_id", "height", "width", "frames",
                                          "expressions": {exp_id: {"exp", "anno_id", "obj_id", "type_id"}}}}}
    PRED/<video>/<exp_id>/<frame>.png

The layout is that of cilinyan/ReVOS-api as cilinyan/VISA reads it
(`tools/eval_revos.py`); the foreground file is built the way VISA's
`tools/generate_foreground_mask.py` builds it (the union of every instance that
one of the video's expressions names). The sets exercise what the official
scorer gets wrong or handles specially: instances of one expression that
overlap, objects absent from some frames (`null`), no-target expressions
(type_id 2, with no instance or with instances that are never present),
single-frame videos, frames with no foreground at all, and predictions saved
as 0/1 or 0/255 PNGs. Everything is drawn from one seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from instrack.fileio import atomic_write_text


@dataclass(frozen=True)
class RevosSpec:
    videos: int = 6
    max_frames: int = 7
    height: int = 72
    width: int = 96
    seed: int = 0
    split: str = "valid"
    #: how predicted masks are saved: 1 or 255 (mode-L PNGs holding 0/1 or 0/255),
    #: "palette" (mode P, index 1, DAVIS colours), or "mixed" (one of those per expression)
    pred_value: int | str = 1


def encode_rle(mask: np.ndarray) -> dict:
    """COCO RLE of a 2-D mask with a str `counts`, as ReVOS stores it."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _ellipse_track(rng: np.random.Generator, n_frames: int, h: int, w: int, present: np.ndarray,
                   near: tuple | None = None) -> list[np.ndarray | None]:
    """One object moving on a straight line; None where it is absent."""
    if near is None:
        centre = rng.uniform([0.2 * w, 0.2 * h], [0.8 * w, 0.8 * h])
    else:
        # start close to another object, so the two overlap
        centre = np.asarray(near) + rng.uniform(-0.08, 0.08, size=2) * np.array([w, h])
    velocity = rng.uniform(-0.04, 0.04, size=2) * np.array([w, h])
    axes = rng.uniform(0.08, 0.25, size=2) * min(h, w)
    angle = float(rng.uniform(0, 180))
    masks: list[np.ndarray | None] = []
    for t in range(n_frames):
        if not present[t]:
            masks.append(None)
            continue
        mask = np.zeros((h, w), np.uint8)
        cx, cy = centre + t * velocity
        cv2.ellipse(mask, (int(round(cx)), int(round(cy))), (max(1, int(axes[0])), max(1, int(axes[1]))),
                    angle, 0, 360, 1, thickness=-1)
        masks.append(mask)
    return masks


def _predict(rng: np.random.Generator, target: np.ndarray, h: int, w: int, style: str) -> np.ndarray:
    """A plausible tracker output for one frame: the target shifted and grown or
    shrunk, sometimes with a false positive blob elsewhere, sometimes nothing."""
    if style == "empty":
        return np.zeros((h, w), np.uint8)
    out = np.zeros((h, w), np.uint8)
    if target.any():
        dy, dx = (int(v) for v in rng.integers(-4, 5, size=2))
        shifted = np.roll(np.roll(target, dy, axis=0), dx, axis=1)
        k = int(rng.integers(0, 3))
        if k:
            kernel = np.ones((2 * k + 1, 2 * k + 1), np.uint8)
            shifted = cv2.dilate(shifted, kernel) if rng.random() < 0.5 else cv2.erode(shifted, kernel)
        out |= shifted
    if style == "noisy" or not target.any() and rng.random() < 0.5:
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(out, (cx, cy), int(rng.integers(2, max(3, min(h, w) // 6))), 1, thickness=-1)
    return out


def make_revos_set(root: str | Path, pred: str | Path | None = None, spec: RevosSpec = RevosSpec()) -> dict:
    """Write a ReVOS-layout data set at `root` (and predictions at `pred`);
    returns a summary (counts per type_id, which features occur)."""
    root, rng = Path(root), np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    videos: dict = {}
    mask_dict: dict[str, list] = {}
    foreground: dict = {}
    predictions: dict[tuple[str, str], list[np.ndarray]] = {}
    next_anno = 0
    summary = {"type_id": {0: 0, 1: 0, 2: 0}, "single_frame_videos": 0, "overlapping_expressions": 0}
    for v in range(spec.videos):
        name = f"revos-{v:03d}"
        # the first video has one frame; others 2..max_frames
        n_frames = 1 if v == 0 else int(rng.integers(2, spec.max_frames + 1))
        summary["single_frame_videos"] += n_frames == 1
        frames = [f"{5 * t:05d}" for t in range(n_frames)]
        n_objects = int(rng.integers(1, 4))
        anno_ids, tracks = [], []
        for k in range(n_objects):
            present = rng.random(n_frames) < 0.85
            if v == 1:
                present[0] = False  # video 1 starts with a frame without any foreground
                present[-1] = True
            near = None
            if k > 0 and rng.random() < 0.6 and tracks[0][0] is not None:
                ys, xs = np.nonzero(tracks[0][0])
                near = (xs.mean(), ys.mean())
            track = _ellipse_track(rng, n_frames, h, w, present, near)
            anno_ids.append(next_anno)
            mask_dict[str(next_anno)] = [None if m is None else encode_rle(m) for m in track]
            tracks.append(track)
            next_anno += 1
        # an instance that is annotated but never present (used by a no-target expression)
        ghost = next_anno
        mask_dict[str(ghost)] = [None] * n_frames
        next_anno += 1

        expressions: dict[str, dict] = {}
        plans: list[tuple[int, list[int]]] = []
        for k in range(n_objects):
            plans.append((int(rng.integers(0, 2)), [k]))
        if n_objects > 1:
            plans.append((int(rng.integers(0, 2)), list(range(n_objects))))  # several targets, may overlap
        plans.append((2, []))  # no target, no instance
        if v % 2 == 0:
            plans.append((2, [-1]))  # no target: an instance that is never present
        for e, (type_id, members) in enumerate(plans):
            ids = [ghost if m == -1 else anno_ids[m] for m in members]
            expressions[str(e)] = {
                "exp": f"synthetic expression {e} of {name}",
                "anno_id": ids,
                "obj_id": [int(i) for i in ids],
                "type_id": type_id,
            }
            summary["type_id"][type_id] += 1
            unions = []
            overlapping = False
            for t in range(n_frames):
                total = np.zeros((h, w), np.uint8)
                for m in members:
                    if m >= 0 and tracks[m][t] is not None:
                        total += tracks[m][t]
                overlapping |= bool((total > 1).any())
                unions.append((total > 0).astype(np.uint8))
            summary["overlapping_expressions"] += overlapping
            style = str(rng.choice(["good", "good", "noisy", "empty"], p=[0.4, 0.3, 0.2, 0.1]))
            predictions[(name, str(e))] = [_predict(rng, u, h, w, style) for u in unions]

        # foreground: union of every instance named by the video's expressions
        named = sorted({i for e in expressions.values() for i in e["anno_id"]})
        fg_rles, ratios = [], []
        for t in range(n_frames):
            fg = np.zeros((h, w), np.uint8)
            for anno in named:
                if anno != ghost:
                    m = tracks[anno_ids.index(anno)][t]
                    if m is not None:
                        fg |= m
            fg_rles.append(encode_rle(fg))
            ratios.append(float(fg.sum() / (h * w)))
        foreground[name] = {"masks_rle": fg_rles, "foreground_ratio": ratios}
        videos[name] = {"vid_id": v, "height": h, "width": w, "frames": frames, "expressions": expressions}

        # frames: the objects drawn in flat colours (the scorer never reads them;
        # they make the set look like one, and keep generation cheap at 720p)
        image_dir = root / "JPEGImages" / name
        image_dir.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(frames):
            image = np.full((h, w, 3), 96, np.uint8)
            for k, track in enumerate(tracks):
                if track[t] is not None:
                    image[track[t] > 0] = (60 + 70 * k) % 256, 180, (200 - 50 * k) % 256
            cv2.imwrite(str(image_dir / f"{frame}.jpg"), image)

    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / f"meta_expressions_{spec.split}_.json", json.dumps({"videos": videos}))
    atomic_write_text(root / "mask_dict.json", json.dumps(mask_dict))
    atomic_write_text(root / "mask_dict_foreground.json", json.dumps(foreground))

    if pred is not None:
        write_predictions(pred, predictions, videos, spec, rng)
    summary["videos"] = spec.videos
    return summary


def write_predictions(pred: str | Path, predictions: dict, videos: dict, spec: RevosSpec,
                      rng: np.random.Generator) -> None:
    """PRED/<video>/<exp_id>/<frame>.png, saved as spec.pred_value says."""
    from instrack.masks import write_mask

    pred = Path(pred)
    for (name, exp_id), masks in predictions.items():
        value = spec.pred_value
        if value == "mixed":
            value = [1, 255, "palette"][int(rng.integers(0, 3))]
        folder = pred / name / exp_id
        folder.mkdir(parents=True, exist_ok=True)
        for frame, mask in zip(videos[name]["frames"], masks):
            binary = (mask > 0).astype(np.uint8)
            if value == "palette":
                write_mask(folder / f"{frame}.png", binary, palette=True)
            else:
                cv2.imwrite(str(folder / f"{frame}.png"), binary * np.uint8(value))
