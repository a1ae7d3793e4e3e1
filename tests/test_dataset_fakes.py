"""Tiny fake DAVIS-2017 and VIPSeg downloads in their real layouts, for the
dataset tests (and a check that the fakes really have those layouts).

DAVIS: palette PNG annotations (ids 1..N, 255 void) in both sets, the
unsupervised one (whose ids Ref-DAVIS17 and davis_semantics.json follow) and the
semi-supervised one, which numbers dogs-scale's objects the other way round (as
the real sets disagree for some sequences); ImageSets/2017, a
davis_semantics.json, and the four Ref-DAVIS17 files, annotator 2's in latin-1
with the sequence-name typos of the real release. VIPSeg: 16-bit panomasks
(written by Pillow, and by OpenCV for one video), a categories file, a stuff
value painted as a thing (an anomaly), and video lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from instrack.masks import davis_palette

H, W = 30, 41  # odd, small: enough for boundaries, fast to write


def _frame(rng: np.random.Generator, index: int, h: int = H, w: int = W) -> Image.Image:
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    noise = rng.integers(0, 40, size=(h, w, 3))
    return Image.fromarray(np.clip(base * 0.6 + noise + index * 3, 0, 255).astype(np.uint8))


def _box(mask: np.ndarray, value: int, y: int, x: int, h: int, w: int) -> None:
    mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = value


# Sequences whose semi-supervised ids differ from the unsupervised ones: {unsup id: semi id}.
SEMI_RENUMBERED = {"dogs-scale": {1: 2, 2: 1}}
# Sequences: name -> (split, number of frames, objects, semantics)
DAVIS_SEQUENCES = {
    "pigs": ("val", 6, 3, {"1": "pig", "2": "pig", "3": "pig"}),
    "dogs-scale": ("train", 5, 2, {"1": "dog", "2": "person"}),
    "judo": ("val", 4, 2, {"1": "person", "2": "person"}),
}
ANNOT1 = {
    "pigs": ["a pink pig on the left", "the pig in the middle", "a pig on the right"],
    "dogs-scale": ["a small dog", "a man"],
    "judo": ["judoka in white", "judoka in blue"],
}
# Annotator 2 (latin-1): accented text, and the real release's name typos.
ANNOT2 = [
    ("pigs", 1, "le cochon rosé à gauche"),
    ("pigs", 2, "middle pig"),
    ("pigs", 3, "right pig"),
    ("dog-scale", 1, "chien sur la balance"),  # typo of dogs-scale
    ("dog-scale", 2, "man with a café"),
    ("judo", 1, "white"),
    ("judo", 2, "blue"),
]


def make_davis(root: Path) -> Path:
    """A DAVIS-2017 trainval folder; returns the DAVIS/ path."""
    davis = root / "DAVIS"
    rng = np.random.default_rng(0)
    splits: dict[str, list[str]] = {}
    for seq, (split, n, objects, _) in DAVIS_SEQUENCES.items():
        splits.setdefault(split, []).append(seq)
        (davis / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (davis / "Annotations" / "480p" / seq).mkdir(parents=True)
        (davis / "Annotations_unsupervised" / "480p" / seq).mkdir(parents=True)
        for i in range(n):
            _frame(rng, i).save(davis / "JPEGImages" / "480p" / seq / f"{i:05d}.jpg", quality=90)
            ids = np.zeros((H, W), np.uint8)
            for k in range(1, objects + 1):
                _box(ids, k, 4 + 2 * k, 3 + 11 * (k - 1) + i, 8, 9)
            ids[0, :] = 255  # a void band, as DAVIS marks uncertain pixels
            if seq == "pigs" and i == 2:
                ids[ids == 3] = 0  # object 3 leaves the frame once
            semi = ids.copy()
            for unsup_id, semi_id in SEMI_RENUMBERED.get(seq, {}).items():
                semi[ids == unsup_id] = semi_id
            for folder, labels in (("Annotations_unsupervised", ids), ("Annotations", semi)):
                image = Image.fromarray(labels, mode="L").convert("P")
                image.putpalette(davis_palette())
                image.save(davis / folder / "480p" / seq / f"{i:05d}.png")
    (davis / "ImageSets" / "2017").mkdir(parents=True)
    for split, names in splits.items():
        (davis / "ImageSets" / "2017" / f"{split}.txt").write_text("\n".join(names) + "\n")
    semantics = {seq: sem for seq, (_, _, _, sem) in DAVIS_SEQUENCES.items()}
    (davis / "davis_semantics.json").write_text(json.dumps(semantics))
    text_dir = root / "davis_text_annotations"
    text_dir.mkdir()
    for stem in ("Davis17_annot1", "Davis17_annot1_full_video"):
        lines = [f'{seq} {k} "{text}"' for seq, texts in ANNOT1.items() for k, text in enumerate(texts, 1)]
        (text_dir / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for stem in ("Davis17_annot2", "Davis17_annot2_full_video"):
        lines = [f'{seq} {k} "{text}"' for seq, k, text in ANNOT2]
        (text_dir / f"{stem}.txt").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return davis


VIPSEG_CATEGORIES = [
    {"id": 0, "name": "wall", "isthing": 0, "color": [120, 120, 120]},
    {"id": 14, "name": "ground", "isthing": 0, "color": [8, 255, 51]},
    {"id": 60, "name": "person", "isthing": 1, "color": [11, 200, 200]},
    {"id": 62, "name": "dog", "isthing": 1, "color": [0, 255, 245]},
]
PERSON_A, PERSON_B, DOG = 6100, 6101, 6300
WALL, GROUND_AS_THING = 1, 1500  # 1500: category 14 (ground, stuff) with an instance id: an anomaly
VIPSEG_VIDEOS = {"12_fakeVidA1": ("val", 6), "907_fakeVidB2": ("train", 5)}


def make_vipseg(root: Path) -> Path:
    vipseg = root / "VIPSeg"
    rng = np.random.default_rng(1)
    for video, (_, n) in VIPSEG_VIDEOS.items():
        (vipseg / "imgs" / video).mkdir(parents=True)
        (vipseg / "panomasks" / video).mkdir(parents=True)
        for i in range(n):
            name = f"{i * 5 + 1:08d}"  # VIPSeg samples frames: names are not consecutive
            _frame(rng, i).save(vipseg / "imgs" / video / f"{name}.jpg", quality=90)
            values = np.full((H, W), WALL, np.uint16)
            values[-4:, :] = 0  # void
            _box(values, PERSON_A, 5, 2 + i, 12, 8)  # big, always there
            _box(values, PERSON_B, 6, 20, 10, 7)  # same category: a distractor
            if i % 2 == 0:
                _box(values, DOG, 20, 30, 4, 5)  # small, half the time
            if video.startswith("907") and i == 1:
                _box(values, GROUND_AS_THING, 20, 2, 3, 3)
            path = vipseg / "panomasks" / video / f"{name}.png"
            if video.startswith("907"):
                cv2.imwrite(str(path), values)  # OpenCV's 16-bit PNG writer
            else:
                Image.fromarray(values).save(path)  # Pillow's (mode I;16)
    (vipseg / "panoVIPSeg_categories.json").write_text(json.dumps(VIPSEG_CATEGORIES))
    for split in ("train", "val"):
        names = [v for v, (s, _) in VIPSEG_VIDEOS.items() if s == split]
        (vipseg / f"{split}.txt").write_text("\n".join(names) + "\n")
    return vipseg


def make_manifest(path: Path, **overrides) -> Path:
    every = {"start": 0, "stop": None, "step": 1}
    videos = [
        {
            "name": "pigs",
            "source": "davis2017",
            "source_sequence": "pigs",
            "source_split": "val",
            "target": {"obj_id": 3},
            "split": "test",
            "frames": every,
            "licence": "davis2017",
            "category": "pig",
        },
        {
            "name": "dogs-scale",
            "source": "davis2017",
            "source_sequence": "dogs-scale",
            "source_split": "train",
            "target": {"obj_id": 1},
            "split": "train",
            "frames": {"start": 1, "stop": None, "step": 2},
            "licence": "davis2017",
            "category": "dog",
        },
        {
            "name": "12_fakeVidA1",
            "source": "vipseg",
            "source_sequence": "12_fakeVidA1",
            "source_split": "val",
            "target": {"rule": "top-candidate"},
            "split": "test",
            "frames": every,
            "licence": "vipseg",
        },
        {
            "name": "907_fakeVidB2",
            "source": "vipseg",
            "source_sequence": "907_fakeVidB2",
            "source_split": "train",
            "target": {"value": PERSON_B},
            "split": "train",
            "frames": every,
            "licence": "vipseg",
        },
    ]
    manifest = {
        "format": "instrack-manifest",
        "version": 1,
        "dataset_version": "test",
        "sources": {"davis2017": {"licence": "DAVIS terms"}, "vipseg": {"licence": "VIPSeg terms"}},
        "videos": videos,
    }
    manifest.update(overrides)
    path.write_text(json.dumps(manifest, indent=2))
    return path


def make_instructions(path: Path, names: list[str]) -> Path:
    """What the annotation work produces: 1 seed + 5 rephrasings per video."""
    videos = {}
    for name in names:
        expressions = {"0": {"exp": f"Which one would {name} pick first?", "obj_id": [1], "kind": "seed"}}
        for k in range(1, 6):
            expressions[str(k)] = {
                "exp": f"Rephrasing {k} for {name}",
                "obj_id": [1],
                "kind": "rephrase",
                "provenance": "test",
            }
        videos[name] = {"expressions": expressions}
    path.write_text(json.dumps({"videos": videos}, indent=2))
    return path


# -- the fakes have the real layouts ------------------------------------------------


def test_fake_davis_uses_palette_pngs_and_latin1(tmp_path):
    davis = make_davis(tmp_path)
    with Image.open(davis / "Annotations" / "480p" / "pigs" / "00000.png") as image:
        assert image.mode == "P"
    raw = (tmp_path / "davis_text_annotations" / "Davis17_annot2.txt").read_bytes()
    assert "rosé".encode("latin-1") in raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # pragma: no cover - the fixture would be wrong
        raise AssertionError("annotator 2's file must not be valid UTF-8")


def test_fake_vipseg_masks_are_16_bit(tmp_path):
    vipseg = make_vipseg(tmp_path)
    for video in VIPSEG_VIDEOS:
        path = next((vipseg / "panomasks" / video).glob("*.png"))
        with Image.open(path) as image:
            assert image.mode.startswith("I")
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
