"""Where a result's ground truth came from, so that numbers on the bundled
sample are never read, shown or stored as InsTrack numbers.

Every result carries `dataset.provenance`: "sample" (the bundled sample, or a
copy of it, recognised by its meta_expressions.json), "instrack" (another root
in the SPEC §1 layout) or "davis-2017"; and `submission.example` is true when
the submission is the bundled example submission."""

from __future__ import annotations

from typing import Any

SAMPLE = "sample"


def _sample_module():
    try:
        from instrack.dataset import sample
    except ImportError:  # an install without the sample (e.g. a Codabench bundle)
        return None
    return sample


def dataset_provenance(dataset: dict[str, Any]) -> str:
    """The sample's own digest wins over what a (possibly edited) result says."""
    if dataset.get("layout", "instrack") != "instrack":
        return str(dataset.get("provenance") or dataset["layout"])
    sample = _sample_module()
    if sample is not None and sample.is_sample(dataset.get("root"), dataset.get("meta_sha256")):
        return SAMPLE
    return str(dataset.get("provenance") or "instrack")


def label(dataset: dict[str, Any], submission: dict[str, Any]) -> tuple[dict, dict]:
    """The dataset and submission records with their provenance filled in."""
    dataset = {**dataset, "provenance": dataset_provenance(dataset)}
    sample = _sample_module()
    if dataset["provenance"] == SAMPLE and sample is not None:
        dataset.setdefault("description", sample.SAMPLE_DESCRIPTION)
    example = bool(sample is not None and sample.is_example_submission(submission.get("path")))
    return dataset, {**submission, "example": example}


def is_sample_result(result: dict[str, Any]) -> bool:
    """True when a result (SPEC §6 dict) was scored on the bundled sample; results
    written before provenance was recorded are recognised by their meta digest."""
    return dataset_provenance(dict(result.get("dataset") or {})) == SAMPLE


def headline(result: dict[str, Any]) -> str:
    """One line that says what was scored against what."""
    dataset = result.get("dataset") or {}
    submission = result.get("submission") or {}
    what = "the bundled example submission" if submission.get("example") else \
        f"submission {submission.get('path', '?')}"
    if is_sample_result(result):
        sample = _sample_module()
        description = sample.SAMPLE_DESCRIPTION if sample else "the bundled sample"
        return (f"SAMPLE RESULT: scored {what} on {description}; "
                "these numbers are a pipeline check, not InsTrack results")
    return f"Scored {what} against {dataset.get('root', '?')} ({dataset.get('provenance', '?')})"
