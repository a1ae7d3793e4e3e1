"""Dataset benchmark: export-hf, load_dataset, import-hf and instrack.load.

    python benchmarks/dataset.py                                  # 40 videos x 60 frames x 480x854
    python benchmarks/dataset.py --videos 4 --frames 10           # quick look
    python benchmarks/dataset.py --workdir /data/bench --keep     # keep the folders to inspect

Builds a synthetic dataset root in the SPEC §1 layout (textured frames with a
moving target, JPEG quality 90 like DAVIS's; binary masks with a void band) and
reports, from one run on one machine: the folder's size; `export-hf` time and
the export's size; `datasets.load_dataset` of the videos config (first time,
with an empty cache, and again); decoding one video's frames and masks from
it; `import-hf` time (and that the result is byte-identical); and
`instrack.load` latency from both forms: the index (load() returning) and the
first unit's pixels (all frames and masks of the first video decoded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def make_dataset(root: Path, videos: int, frames: int, height: int, width: int) -> None:
    from instrack.dataset.checksums import write_checksums
    from instrack.fileio import atomic_write_json

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    meta = {}
    for v in range(videos):
        name = f"video-{v:03d}"
        # A smooth scene plus fine texture: JPEG sizes near real footage's, not noise's.
        texture = rng.normal(0, 10, size=(height + frames * 2, width + frames * 4, 3)).astype(np.float32)
        colour = rng.uniform(40, 200, size=3).astype(np.float32)
        for dirname in ("JPEGImages", "Annotations"):
            (root / "test" / dirname / name).mkdir(parents=True, exist_ok=True)
        names = []
        for f in range(frames):
            shift = texture[f * 2 : f * 2 + height, f * 4 : f * 4 + width]
            scene = colour + (40 * np.sin(xx / (37 + v) + f / 9) + 30 * np.cos(yy / 53))[..., None]
            cy, cx = height * (0.3 + 0.4 * f / frames), width * (0.2 + 0.6 * f / frames)
            target = ((yy - cy) / (height * 0.18)) ** 2 + ((xx - cx) / (width * 0.12)) ** 2 <= 1
            ring = ((yy - cy) / (height * 0.18 + 3)) ** 2 + ((xx - cx) / (width * 0.12 + 3)) ** 2 <= 1
            image = np.clip(scene + shift + target[..., None] * 60, 0, 255).astype(np.uint8)
            mask = np.where(target, 1, np.where(ring, 255, 0)).astype(np.uint8)
            frame = f"{f:05d}"
            names.append(frame)
            Image.fromarray(image).save(root / "test" / "JPEGImages" / name / f"{frame}.jpg", quality=90)
            Image.fromarray(mask, mode="L").save(
                root / "test" / "Annotations" / name / f"{frame}.png", compress_level=6
            )
        expressions = {"0": {"exp": f"Which object would you follow in {name}?", "obj_id": [1], "kind": "seed"}}
        expressions.update(
            {str(k): {"exp": f"Rephrasing {k} of {name}", "obj_id": [1], "kind": "rephrase"} for k in range(1, 6)}
        )
        meta[name] = {
            "frames": names,
            "height": height,
            "width": width,
            "source": "synthetic",
            "expressions": expressions,
        }
    atomic_write_json(root / "test" / "meta_expressions.json", {"videos": meta})
    write_checksums(root)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the folders")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    from instrack.dataset.hf import export_hf, import_hf
    from instrack.dataset.loading import load

    work = args.workdir or Path(tempfile.mkdtemp(prefix="instrack-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    root, export, back, cache = work / "root", work / "export", work / "back", work / "hf-cache"
    for path in (root, export, back, cache):
        shutil.rmtree(path, ignore_errors=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results: dict[str, float | int | str] = {
        "videos": args.videos,
        "frames": args.frames,
        "resolution": f"{args.height}x{args.width}",
    }
    _, results["generate_s"] = timed(lambda: make_dataset(root, args.videos, args.frames, args.height, args.width))
    results["folder_mb"] = folder_bytes(root) / 2**20

    _, results["export_hf_s"] = timed(lambda: export_hf(root, export, progress=False))
    results["export_mb"] = folder_bytes(export) / 2**20

    import datasets

    def load_videos():
        return datasets.load_dataset(str(export), "videos", split="test", cache_dir=str(cache))

    ds, results["load_dataset_first_s"] = timed(load_videos)
    _, results["load_dataset_again_s"] = timed(load_videos)
    results["hf_cache_mb"] = folder_bytes(cache) / 2**20

    def decode_one():
        row = ds[len(ds) // 2]
        return [np.asarray(im) for im in row["frames"]], [np.asarray(m) for m in row["masks"]]

    _, results["load_dataset_decode_one_video_s"] = timed(decode_one)

    _, results["import_hf_s"] = timed(lambda: import_hf(export, back, progress=False))
    same = all((back / p.relative_to(root)).read_bytes() == p.read_bytes() for p in root.rglob("*") if p.is_file())
    results["import_byte_identical"] = "yes" if same else "NO"

    for form, path in (("folder", root), ("export", export)):
        data, results[f"instrack_load_index_{form}_s"] = timed(lambda path=path: load(path, split="test"))

        def first(data=data):
            unit = data[0]
            return unit.frames, unit.masks

        _, results[f"instrack_load_first_unit_{form}_s"] = timed(first)

    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    elif args.keep:
        print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
