"""Evaluate a submission: open it, validate it, score it in worker processes,
and return the result JSON of SPEC §6.

    from instrack.evaluation import evaluate
    result = evaluate("data/InsTrack", "predictions.zip", split="test")
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from instrack import __version__
from instrack.errors import DataError, InsTrackError, Problem, SubmissionError, UsageError
from instrack.fileio import sha256_file
from instrack.dataset.layout import META, read_split
from instrack.masks import MaskError, probe_mask
from instrack.evaluation.protocols import Protocol, get_protocol
from instrack.evaluation.results import build_result
from instrack.evaluation.scoring import DavisSequenceJob, GroundTruthError, InstrackVideoJob, JobOutcome
from instrack.dataset.sources.davis_layout import read_davis_layout
from instrack.evaluation.submission import Submission, open_submission
from instrack.evaluation.submission.base import combine_digests
from instrack.evaluation.submission.folder import FolderSubmission
from instrack.evaluation.submission.rle import RleSubmission
from instrack.evaluation.validation import Expectation, ValidationReport, check_submission


@dataclass
class Plan:
    """Everything needed to score: the jobs and what describes the ground truth."""

    protocol: Protocol
    jobs: list
    expectation: Expectation
    dataset: dict
    unit_info: dict  # (video, unit) -> extra columns (kind, source, text)


def default_split(protocol: Protocol) -> str:
    return "test" if protocol.layout == "instrack" else "val"


def plan_evaluation(gt: str | Path, submission: Submission, protocol: Protocol, split: str) -> Plan:
    if protocol.layout == "instrack":
        return _plan_instrack(Path(gt), submission, protocol, split)
    if isinstance(submission, RleSubmission):
        raise UsageError(f"{protocol.name} reads indexed PNGs (object ids); an RLE JSON holds binary masks only")
    return _plan_davis(Path(gt), submission, protocol, split)


def _probe_gt(path: Path) -> tuple[int, int]:
    try:
        return probe_mask(path)
    except FileNotFoundError:
        raise DataError(f"{path}: ground-truth mask missing") from None
    except (MaskError, OSError) as err:
        raise DataError(f"{path}: {err}") from err


def _plan_instrack(root: Path, submission: Submission, protocol: Protocol, split: str) -> Plan:
    data = read_split(root, split)
    expectation = Expectation()
    jobs, unit_info = [], {}
    n_frames = 0
    for video in data.videos.values():
        if not video.instructions:
            continue
        mask_dir = video.root / "Annotations" / video.name
        size = _probe_gt(mask_dir / f"{video.frames[0]}.png")
        if video.height is not None and (video.height, video.width) != size:
            raise DataError(
                f"{mask_dir / video.frames[0]}.png: size {size[0]}x{size[1]}, "
                f"{META} says {video.height}x{video.width}"
            )
        expectation.sizes[video.name] = size
        expectation.layout[video.name] = {
            i.exp_id: [f"{video.name}/{i.exp_id}/{frame}.png" for frame in video.frames]
            for i in video.instructions
        }
        for instruction in video.instructions:
            unit_info[(video.name, instruction.exp_id)] = {
                "kind": instruction.kind,
                "source": video.source or video.extra.get("source") or "unknown",
                "text": instruction.text,
            }
        n_frames += len(video.frames) * len(video.instructions)
        jobs.append(
            InstrackVideoJob(
                video=video.name,
                mask_dir=str(mask_dir),
                frames=video.frames,
                units=tuple((i.exp_id, i.obj_ids) for i in video.instructions),
                reader=submission.reader_for(video.name),
                source=f"{submission.source}/{submission.unwrapped}".rstrip("/"),
            )
        )
    if not jobs:
        raise DataError(f"{root / split / META}: no video with an instruction to evaluate")
    dataset = {
        "root": str(root),
        "split": split,
        "layout": "instrack",
        "n_videos": len(jobs),
        "n_units": len(unit_info),
        "n_frames": n_frames,
        "meta_sha256": sha256_file(root / split / META),
    }
    return Plan(protocol, jobs, expectation, dataset, unit_info)


def _plan_davis(root: Path, submission: Submission, protocol: Protocol, split: str) -> Plan:
    sequences = read_davis_layout(root, subset=split, annotations=protocol.annotations)
    expectation = Expectation()
    jobs = []
    for seq in sequences:
        frames = seq.frames[1:-1] if protocol.skip_first_last else seq.frames
        if not frames:
            raise DataError(
                f"{seq.mask_dir}: {len(seq.frames)} frame(s); {protocol.name} skips the first and last, "
                "leaving nothing to evaluate"
            )
        expectation.sizes[seq.name] = _probe_gt(seq.mask_path(seq.frames[0]))
        expectation.layout[seq.name] = {"*": [f"{seq.name}/{frame}.png" for frame in frames]}
        expectation.allowed.update(f"{seq.name}/{frame}.png" for frame in seq.frames)
        jobs.append(
            DavisSequenceJob(
                video=seq.name,
                mask_dir=str(seq.mask_dir),
                frames=seq.frames,
                skip_first_last=protocol.skip_first_last,
                use_void=protocol.use_void,
                hungarian=protocol.hungarian,
                max_proposals=protocol.max_proposals,
                reader=submission.reader_for(seq.name),
                source=f"{submission.source}/{submission.unwrapped}".rstrip("/"),
            )
        )
    dataset = {
        "root": str(root),
        "split": split,
        "layout": "davis-2017",
        "annotations": protocol.annotations,
        "n_videos": len(jobs),
        "n_frames": sum(len(j.frames) for j in jobs),
    }
    return Plan(protocol, jobs, expectation, dataset, {})


def _run_job(job) -> JobOutcome:
    try:
        return job()
    except GroundTruthError as err:
        raise DataError(str(err)) from None


def _quiet_worker(parent: int) -> None:
    _die_with_parent(parent)
    # one OpenCV thread per worker: the workers already use every core
    import cv2

    cv2.setNumThreads(1)


def _die_with_parent(parent: int) -> None:
    """A worker whose parent was killed (a timeout, kill -9) would finish its
    video, then print a BrokenPipeError traceback sending the result; on Linux
    the kernel ends it with its parent instead (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def run_jobs(jobs: list, workers: int, on_done: Callable[[JobOutcome], None] | None = None) -> list[JobOutcome]:
    """Run jobs in `workers` processes (inline for 1), longest first."""
    ordered = sorted(jobs, key=lambda j: -len(j.frames) * max(len(getattr(j, "units", ())), 1))
    outcomes = []
    if workers <= 1 or len(ordered) == 1:
        for job in ordered:
            outcome = _run_job(job)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        return outcomes
    import multiprocessing

    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with context.Pool(min(workers, len(ordered)), initializer=_quiet_worker, initargs=(os.getpid(),)) as pool:
        for outcome in pool.imap_unordered(_run_job, ordered, chunksize=1):
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    return outcomes


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def submission_digest(submission: Submission, outcomes: Iterable[JobOutcome]) -> str:
    """SHA-256 of a zip or JSON file; for a folder, of its sorted (path, content
    digest) list over exactly the files scored, from the digests the workers
    took of the bytes they read. Files that are not scored (a .DS_Store, frames
    outside the split) are never opened, so they are not covered."""
    if not isinstance(submission, FolderSubmission):
        return sha256_file(submission.source)
    digests: dict[str, str] = {}
    for outcome in outcomes:
        digests.update(outcome.digests)
    return combine_digests(digests)


def validate(
    gt: str | Path, pred: str | Path, split: str | None = None, protocol: str = "instrack", probe: bool = True
) -> tuple[ValidationReport, Plan, Submission]:
    """Open the submission and check it against the plan. With `probe`, every
    mask's PNG header is read too (mode and size); without, only the file list."""
    chosen = get_protocol(protocol)
    submission = open_submission(pred, depth=chosen.submission_depth)
    plan = plan_evaluation(gt, submission, chosen, split or default_split(chosen))
    report = check_submission(submission, plan.expectation, probe=probe)
    return report, plan, submission


def evaluate(
    gt: str | Path,
    pred: str | Path,
    split: str | None = None,
    protocol: str = "instrack",
    workers: int | None = None,
    progress: bool = False,
    per_frame: bool = True,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Score `pred` against the ground truth at `gt`; returns the SPEC §6 result.

    Raises SubmissionError listing every problem of the submission (nothing is
    scored then), or another InsTrackError for bad ground truth or arguments."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    # The file list is checked here, before any decoding. Header-level problems
    # (not a PNG, RGB, wrong size, corrupt data) are found by the workers as they
    # decode, in parallel: reading every header first in this one process cost
    # 15% of the run. Either way every problem is listed and nothing is scored.
    report, plan, submission = validate(gt, pred, split, protocol, probe=False)
    if report.problems:
        # already invalid: read the headers too, so the one report lists everything
        report = check_submission(submission, plan.expectation, probe=True)
    for message in report.warnings:
        (warn or (lambda m: print(f"warning: {m}", file=sys.stderr)))(message)
    if report.problems:
        submission.close()  # a zip's headers were read: do not leak its handle
        raise SubmissionError(str(pred), report.problems)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(plan.jobs), unit="video", desc="evaluating", file=sys.stderr, leave=False)
    try:
        outcomes = run_jobs(plan.jobs, workers or default_workers(), on_done=(lambda _: bar.update()) if bar else None)
    finally:
        if bar is not None:
            bar.close()
        submission.close()
    problems: list[Problem] = [p for o in outcomes for p in o.problems]
    if problems:
        raise SubmissionError(str(pred), sorted(problems, key=lambda p: p.where))
    return build_result(
        plan.protocol,
        outcomes,
        plan.unit_info,
        dataset=plan.dataset,
        submission={"path": str(pred), "form": type(submission).__name__.replace("Submission", "").lower(),
                    "sha256": submission_digest(submission, outcomes)},
        evaluator_version=__version__,
        per_frame=per_frame,
    )


__all__ = ["evaluate", "validate", "InsTrackError"]
