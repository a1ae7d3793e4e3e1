"""Evaluate a submission: open it, validate it, score it in worker processes,
and return the result JSON of SPEC §6.

    from instrack.evaluation import evaluate
    result = evaluate("data/InsTrack", "predictions.zip", split="test")
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Callable, Iterable

from instrack import __version__
from instrack.errors import DataError, InsTrackError, Problem, SubmissionError, UsageError
from instrack.fileio import sha256_file
from instrack.evaluation.protocols import Plan, Protocol, get_protocol
from instrack.evaluation.results import build_result
from instrack.evaluation.scoring import GroundTruthError, JobOutcome
from instrack.evaluation.submission import Submission, open_submission
from instrack.evaluation.submission.base import combine_digests
from instrack.evaluation.submission.folder import FolderSubmission
from instrack.evaluation.submission.rle import RleSubmission
from instrack.evaluation.validation import ValidationReport, check_submission


def default_split(protocol: Protocol) -> str:
    return protocol.default_split


def plan_evaluation(gt: str | Path, submission: Submission, protocol: Protocol, split: str) -> Plan:
    """The protocol's plan: its ground truth read, its units and frames as jobs."""
    if isinstance(submission, RleSubmission) and not protocol.reads_rle:
        raise UsageError(f"{protocol.name} reads indexed PNGs (object ids); an RLE JSON holds binary masks only")
    return protocol.plan(Path(gt), submission, split)


def _run_job(job) -> JobOutcome:
    try:
        return job()
    except GroundTruthError as err:
        raise DataError(str(err)) from None


def _quiet_worker() -> None:
    # one OpenCV thread per worker: the workers already use every core
    import cv2

    cv2.setNumThreads(1)


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
    with context.Pool(min(workers, len(ordered)), initializer=_quiet_worker) as pool:
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
    digest) list, from the digests the workers took of what they read."""
    if not isinstance(submission, FolderSubmission):
        return sha256_file(submission.source)
    digests: dict[str, str] = {}
    for outcome in outcomes:
        digests.update(outcome.digests)
    unread = {m for m in submission.members() if m not in digests}
    for relpath in unread:
        with open(submission.root / relpath, "rb") as handle:
            digests[relpath] = hashlib.sha256(handle.read()).hexdigest()
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
