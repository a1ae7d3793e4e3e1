"""EvalAI's evaluation-script entry point, over instrack.evaluation.

EvalAI calls `evaluate(test_annotation_file, user_submission_file,
phase_codename, **kwargs)` in its worker. Here the annotation file is the
ground truth: a folder in the SPEC §1 layout or a .zip of it; the submission
is whatever SPEC §2 accepts (a zip or an RLE .json). Split and protocol come
from PHASES (phase codename -> (split, protocol)), so a host only edits that.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

from instrack.errors import DataError

PHASES: dict[str, tuple[str, str]] = {"dev": ("val", "instrack"), "test": ("test", "instrack")}
METRICS = ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall", "J-Decay", "F-Decay")


def _ground_truth(path: Path, split: str, workdir: Path) -> Path:
    """The ground-truth root: the folder itself, or the zip unpacked into workdir
    (unwrapping one enclosing folder)."""
    if path.is_dir():
        return path
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: the annotation file must be a ground-truth folder or a .zip of it")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            # the host's own file, but a bad archive must still not write outside workdir
            if name.startswith("/") or ".." in Path(name).parts:
                raise DataError(f"{path}: member {name!r} leaves the archive")
        archive.extractall(workdir)
    if (workdir / split).is_dir():
        return workdir
    inner = [p for p in workdir.iterdir() if (p / split).is_dir()]
    if len(inner) == 1:
        return inner[0]
    raise DataError(f"{path}: no {split!r} split folder in the archive (SPEC §1 layout)")


def evaluate(test_annotation_file: str, user_submission_file: str, phase_codename: str, **kwargs: Any) -> dict:
    """The EvalAI result: {"result": [{split: metrics}], "submission_result": metrics}."""
    from instrack.evaluation import evaluate as instrack_evaluate

    if phase_codename not in PHASES:
        raise DataError(f"phase {phase_codename!r}: add it to PHASES ({', '.join(PHASES)})")
    split, protocol = PHASES[phase_codename]
    with tempfile.TemporaryDirectory(prefix="instrack-evalai-") as tmp:
        gt = _ground_truth(Path(test_annotation_file), split, Path(tmp))
        result = instrack_evaluate(gt, user_submission_file, split=split, protocol=protocol, workers=1)
    metrics = {name: round(result["metrics"][name] * 100, 4) for name in METRICS}
    return {"result": [{f"{split}_split": metrics}], "submission_result": metrics,
            "submission_metadata": {"evaluator_version": result["evaluator_version"],
                                    "submission_sha256": result["submission_sha256"]}}
