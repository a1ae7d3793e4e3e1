"""A tiny synthetic dataset in the layout of SPEC §1, for smoke tests of trackers
(in the spirit of `vot test`): each video shows a coloured square (the target)
and a distractor disc moving over a textured background, with 6 instructions
(1 seed + 5 rephrasings) pointing at the square. Frames where the target leaves
the picture have empty masks, so absent-target frames are exercised too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from instrack.dataset.layout import write_meta
from instrack.masks import write_mask

SEED_TEXT = "Track the thing a painter would call red."
REPHRASINGS = (
    "Which object has the colour of a ripe tomato? Follow it.",
    "Follow the item whose colour means stop at a traffic light.",
    "Keep an eye on the shape with four equal sides.",
    "Track the object coloured like a fire engine.",
    "Which thing is not round? Track it.",
)


def make_frames(n_frames: int, size: tuple[int, int], rng: np.random.Generator, leave_at: int | None = None):
    """(images, masks) of one video: uint8 RGB frames and 0/1 masks."""
    height, width = size
    side = max(4, min(height, width) // 4)
    radius = side // 2
    yy, xx = np.mgrid[0:height, 0:width]
    background = (rng.integers(40, 90, size=(height, width, 1)) + rng.integers(0, 30, size=(1, 1, 3))).astype(np.uint8)
    y0, x0 = rng.integers(0, height - side), rng.integers(0, width - side)
    vy, vx = rng.integers(-2, 3), rng.integers(1, 4)
    dy, dx = rng.integers(radius, height - radius), rng.integers(radius, width - radius)
    images, masks = [], []
    for t in range(n_frames):
        image = background.copy()
        mask = np.zeros((height, width), dtype=np.uint8)
        disc = (yy - dy) ** 2 + (xx - (dx - 2 * t) % width) ** 2 <= radius**2
        image[disc] = (40, 200, 60)
        if leave_at is None or t < leave_at:
            y = int(np.clip(y0 + vy * t, 0, height - side))
            x = int(np.clip(x0 + vx * t, 0, width - side))
            image[y : y + side, x : x + side] = (220, 30, 30)
            mask[y : y + side, x : x + side] = 1
        images.append(image)
        masks.append(mask)
    return images, masks


def write_synthetic_split(
    root: str | Path,
    split: str = "test",
    *,
    videos: int = 2,
    frames: int = 5,
    size: tuple[int, int] = (48, 64),
    instructions: int = 6,
    seed: int = 0,
) -> Path:
    """Write ROOT/<split>/ with JPEG frames, PNG masks and meta_expressions.json;
    returns ROOT. The last video's target leaves the picture for its last frame."""
    root = Path(root)
    folder = root / split
    rng = np.random.default_rng(seed)
    meta: dict = {"videos": {}}
    texts = (SEED_TEXT,) + REPHRASINGS
    for v in range(videos):
        name = f"vid{v:03d}"
        leave_at = frames - 1 if (v == videos - 1 and frames > 1) else None
        images, masks = make_frames(frames, size, rng, leave_at=leave_at)
        names = [f"{t:05d}" for t in range(frames)]
        (folder / "JPEGImages" / name).mkdir(parents=True, exist_ok=True)
        for frame, image, mask in zip(names, images, masks):
            Image.fromarray(image).save(folder / "JPEGImages" / name / f"{frame}.jpg", quality=95)
            write_mask(folder / "Annotations" / name / f"{frame}.png", mask)
        meta["videos"][name] = {
            "frames": names,
            "height": size[0],
            "width": size[1],
            "expressions": {
                str(i): {"exp": texts[i % len(texts)], "obj_id": [1], "kind": "seed" if i == 0 else "rephrase"}
                for i in range(instructions)
            },
        }
    write_meta(meta, folder / "meta_expressions.json")
    return root
