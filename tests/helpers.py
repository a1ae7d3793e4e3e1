"""Builders for tiny datasets and submissions in the real layouts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from instrack.masks import davis_palette


def png_bytes(array: np.ndarray, mode: str = "L", palette: bool = False) -> bytes:
    image = Image.fromarray(np.asarray(array, dtype=np.uint8), mode="L")
    if palette:
        image = image.convert("P")
        image.putpalette(davis_palette())
    elif mode != "L":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: Path, array: np.ndarray, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(array, **kwargs))


def make_instrack(root: Path, videos: dict[str, list[np.ndarray]], n_instructions: int = 2,
                  split: str = "test", source: str = "synthetic") -> Path:
    """A dataset in the SPEC §1 layout; each video's label maps use 1 = target, 255 = void."""
    meta = {"videos": {}}
    for name, labels in videos.items():
        frames = [f"{t:05d}" for t in range(len(labels))]
        for frame, label in zip(frames, labels):
            write_png(root / split / "Annotations" / name / f"{frame}.png", label)
            jpg = root / split / "JPEGImages" / name / f"{frame}.jpg"
            jpg.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (label.shape[1], label.shape[0])).save(jpg)
        meta["videos"][name] = {
            "frames": frames,
            "height": int(labels[0].shape[0]),
            "width": int(labels[0].shape[1]),
            "source": source,
            "expressions": {
                str(i): {"exp": f"instruction {i} of {name}", "obj_id": [1], "kind": "seed" if i == 0 else "rephrase"}
                for i in range(n_instructions)
            },
        }
    (root / split / "meta_expressions.json").write_text(json.dumps(meta))
    return root


def write_submission(pred: Path, masks: dict[tuple[str, str], list[np.ndarray]], **kwargs) -> Path:
    for (video, exp_id), frames in masks.items():
        for t, mask in enumerate(frames):
            write_png(pred / video / exp_id / f"{t:05d}.png", mask, **kwargs)
    return pred


def moving_square(n_frames: int, height: int = 60, width: int = 80, size: int = 20, step: int = 2,
                  void: bool = False) -> list[np.ndarray]:
    labels = []
    for t in range(n_frames):
        label = np.zeros((height, width), np.uint8)
        y, x = 10 + (t * step) % (height - size - 10), 5 + (t * step) % (width - size - 5)
        label[y:y + size, x:x + size] = 1
        if void:
            label[y - 1, x:x + size] = 255
        labels.append(label)
    return labels


def need_extra(extra: str, *modules: str) -> None:
    """Skip the calling test module (or test) when a package of an extra is missing,
    saying which and how to install it. In CI (INSTRACK_REQUIRE_SERVERS=1) the
    skip fails the run (conftest.py), so a broken extra cannot pass as a skip."""
    import importlib

    import pytest

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            pytest.skip(f"the [{extra}] extra is not installed (import {module}: {err}); "
                        f"pip install -e '.[{extra},test]'", allow_module_level=True)


def need(condition: bool, reason: str) -> None:
    """Skip a test whose server or browser is missing, with the reason; in CI
    (INSTRACK_REQUIRE_SERVERS=1, set by .ci/run) fail instead."""
    import os

    import pytest

    if condition:
        return
    if os.environ.get("INSTRACK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (INSTRACK_REQUIRE_SERVERS=1)")
    pytest.skip(reason)


def not_the_sample(tmp: Path) -> Path:
    """A copy of the bundled sample that does not count as the sample (its
    meta_expressions.json is re-serialised, so its digest differs): a stand-in
    for an InsTrack root in tests of what happens to non-sample results."""
    import shutil

    from instrack.dataset.sample import SPLIT, sample_root

    root = tmp / "instrack-stand-in"
    shutil.copytree(sample_root(), root)
    meta = root / SPLIT / "meta_expressions.json"
    meta.write_text(json.dumps(json.loads(meta.read_text(encoding="utf-8")), indent=1), encoding="utf-8")
    return root
