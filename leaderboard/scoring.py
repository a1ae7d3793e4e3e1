"""The one job the leaderboard runs remotely: score a stored upload.

It returns a plain dict, never raises for a bad submission: exceptions with
extra constructor arguments (SubmissionError) do not survive pickling between
processes or Dask workers, and a rejection is an answer, not a crash."""

from __future__ import annotations

from typing import Any


def score_upload(gt: str, split: str, protocol: str, path: str) -> dict[str, Any]:
    """{"status": "done", "result": SPEC §6 dict} | {"status": "rejected",
    "message", "problems": [{"where", "reason"}]} | {"status": "failed", "message"}."""
    from instrack.errors import InsTrackError, SubmissionError
    from instrack.evaluation import evaluate
    from instrack_leaderboard.sanitize import one_line

    try:
        # one process per job: parallelism comes from more jobs, not bigger ones
        result = evaluate(gt, path, split=split, protocol=protocol, workers=1, progress=False, warn=lambda m: None)
    except SubmissionError as err:
        return {"status": "rejected", "message": f"{len(err.problems)} problem(s); nothing was scored",
                "problems": [{"where": p.where, "reason": p.reason} for p in err.problems]}
    except InsTrackError as err:
        return {"status": "failed", "message": one_line(str(err))}
    except Exception as err:
        # A reader that breaks on hostile input is a bug to fix, but the
        # submitter sees one line naming it, the admin's log the traceback,
        # and the job ends here (a deterministic error is not retried).
        import traceback

        traceback.print_exc(limit=12)
        return {"status": "failed", "message": f"the evaluator could not read {path}: "
                                               f"{type(err).__name__}: {one_line(str(err), 300)}"}
    # per-frame vectors are large and the store keeps per-unit values only
    for unit in result.get("units", []):
        for key in ("frames", "J-per-frame", "F-per-frame"):
            unit.pop(key, None)
    return {"status": "done", "result": result}


def check_upload(gt: str, split: str, protocol: str, path: str) -> list[dict[str, str]]:
    """The evaluator's checks without scoring (run at upload time): problems, or []."""
    from instrack.errors import SubmissionError
    from instrack.evaluation import validate

    try:
        report, _plan, submission = validate(gt, path, split=split, protocol=protocol)
    except SubmissionError as err:
        return [{"where": p.where, "reason": p.reason} for p in err.problems]
    submission.close()
    return [{"where": p.where, "reason": p.reason} for p in report.problems]
