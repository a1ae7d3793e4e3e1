"""`instrack check-data`: verify a dataset root and report every problem.

Checks, for each split: meta_expressions.json parses; every listed frame has a
JPEG and a mask and nothing else is there; each mask is a single-channel PNG
of exactly its frame's size (and the size meta records, which F depends on)
holding only 0, 1 and 255; the target appears at least once; each video has
one seed and five rephrasings pointing at object 1. And for the whole root:
every file matches SHA256SUMS, and no file is missing from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from instrack.dataset.checksums import CHECKSUMS, compute, dataset_files, read_checksums
from instrack.errors import DataError, Problem
from instrack.dataset.layout import META, available_splits, read_split
from instrack.masks import MaskError, read_mask
from instrack.dataset.model import REPHRASE, SEED, Video

ALLOWED_VALUES = np.array([0, 1, 255], dtype=np.uint8)
SEEDS, REPHRASINGS = 1, 5


def check_instructions(video: Video, where: str, allow_unannotated: bool) -> list[Problem]:
    problems = []
    if not video.instructions:
        if not allow_unannotated:
            problems.append(Problem(where, "no instructions yet (InsTrack needs 1 seed + 5 rephrasings)"))
        return problems
    kinds = [i.kind for i in video.instructions]
    if kinds.count(SEED) != SEEDS or kinds.count(REPHRASE) != REPHRASINGS:
        problems.append(
            Problem(
                where,
                f"{kinds.count(SEED)} seed(s) and {kinds.count(REPHRASE)} rephrasing(s); "
                f"expected {SEEDS} and {REPHRASINGS}",
            )
        )
    for instruction in video.instructions:
        if not instruction.text.strip():
            problems.append(Problem(f"{where}, expression {instruction.exp_id}", "empty instruction text"))
        if instruction.extra.get("status") == "needs_review":
            # the rephrasing pipeline left it for people; the evaluator would score it as is
            problems.append(
                Problem(
                    f"{where}, expression {instruction.exp_id}",
                    "rephrasing marked needs_review: review it (instrack annotate review-import) before freezing",
                )
            )
        if instruction.obj_ids != (1,):
            problems.append(
                Problem(
                    f"{where}, expression {instruction.exp_id}",
                    f"obj_id {list(instruction.obj_ids)}; InsTrack masks mark the target as 1",
                )
            )
    return problems


def _jpeg_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                return None
            return image.height, image.width
    except Exception:  # Pillow raises several types for a bad file
        return None


def check_video(video: Video, folder: Path, allow_unannotated: bool) -> list[Problem]:
    meta_where = f"{folder / META}: video {video.name!r}"
    problems = check_instructions(video, meta_where, allow_unannotated)
    if video.height is None or video.width is None:
        problems.append(Problem(meta_where, "height/width not recorded (the F boundary tolerance depends on them)"))
    image_dir, mask_dir = folder / "JPEGImages" / video.name, folder / "Annotations" / video.name
    for kind, directory, suffix in (("frames", image_dir, ".jpg"), ("masks", mask_dir, ".png")):
        if not directory.is_dir():
            problems.append(Problem(str(directory), f"missing ({kind} of {len(video.frames)} listed frames)"))
            continue
        listed = set(video.frames)
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            if path.suffix != suffix or path.stem not in listed:
                problems.append(Problem(str(path), f"not a frame listed in {META}"))
    visible = 0
    for frame in video.frames:
        image_path, mask_path = image_dir / f"{frame}.jpg", mask_dir / f"{frame}.png"
        size = None
        if not image_path.is_file():
            if image_dir.is_dir():
                problems.append(Problem(str(image_path), "missing frame"))
        else:
            size = _jpeg_size(image_path)
            if size is None:
                problems.append(Problem(str(image_path), "not a readable JPEG"))
        if not mask_path.is_file():
            if mask_dir.is_dir():
                problems.append(Problem(str(mask_path), "missing mask"))
            continue
        try:
            mask = read_mask(mask_path)
        except (MaskError, OSError) as err:
            problems.append(Problem(str(mask_path), str(err)))
            continue
        if mask.dtype != np.uint8:
            problems.append(Problem(str(mask_path), f"{mask.dtype} PNG; masks are 8-bit (0, 1, 255)"))
            continue
        if size is not None and mask.shape != size:
            problems.append(
                Problem(str(mask_path), f"mask is {mask.shape[1]}x{mask.shape[0]}, its frame is {size[1]}x{size[0]}")
            )
        elif video.height is not None and mask.shape != (video.height, video.width):
            problems.append(
                Problem(
                    str(mask_path),
                    f"mask is {mask.shape[1]}x{mask.shape[0]}, meta records {video.width}x{video.height}",
                )
            )
        present = np.unique(mask)
        bad = np.setdiff1d(present, ALLOWED_VALUES)
        if bad.size:
            problems.append(
                Problem(str(mask_path), f"values {bad[:5].tolist()} besides 0 (background), 1 (target), 255 (void)")
            )
        visible += bool((present == 1).any())
    if visible == 0 and mask_dir.is_dir():
        problems.append(Problem(meta_where, "the target (1) appears in no frame"))
    return problems


def check_checksums(root: Path, progress: bool) -> list[Problem]:
    try:
        expected = read_checksums(root)
    except DataError as err:
        return [Problem(str(root / CHECKSUMS), str(err).split(": ", 1)[-1])]
    problems = []
    present = set(dataset_files(root))
    listed = [name for name in expected if name in present]
    for name in sorted(set(expected) - present):
        problems.append(Problem(str(root / name), f"listed in {CHECKSUMS} but missing"))
    for name in sorted(present - set(expected)):
        problems.append(Problem(str(root / name), f"not listed in {CHECKSUMS}"))
    actual = compute(root, listed, progress=progress)
    for name in listed:
        if actual[name] != expected[name]:
            problems.append(Problem(str(root / name), f"SHA-256 differs from {CHECKSUMS} (changed or corrupt)"))
    return problems


def check_root(
    root: str | Path,
    splits: list[str] | None = None,
    checksums: bool = True,
    allow_unannotated: bool = False,
    progress: bool = False,
) -> tuple[list[Problem], dict[str, int]]:
    """(every problem found, counts of what was checked)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder does not exist")
    problems: list[Problem] = []
    counts = {"splits": 0, "videos": 0, "frames": 0, "instructions": 0}
    found = available_splits(root)
    for split in splits or found:
        if split not in found:
            problems.append(Problem(str(root / split / META), "missing"))
            continue
        try:
            data = read_split(root, split)
        except DataError as err:
            problems.append(Problem(str(root / split / META), str(err).split(": ", 1)[-1]))
            continue
        counts["splits"] += 1
        videos = data.videos.values()
        if progress:
            from tqdm import tqdm

            videos = tqdm(list(videos), desc=f"check {split}", unit="video", leave=False, file=sys.stderr)
        for video in videos:
            counts["videos"] += 1
            counts["frames"] += len(video.frames)
            counts["instructions"] += len(video.instructions)
            problems.extend(check_video(video, root / split, allow_unannotated))
        for sub in ("JPEGImages", "Annotations"):
            folder = root / split / sub
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.is_dir() and path.name not in data.videos and not path.name.startswith("."):
                        problems.append(Problem(str(path), f"video folder not listed in {META}"))
    if not found and not splits:
        problems.append(Problem(str(root), f"no split folder with a {META}"))
    if checksums:
        problems.extend(check_checksums(root, progress))
    return problems, counts
