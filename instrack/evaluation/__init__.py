"""The evaluator: submission readers, validation, per-frame metrics, protocols,
results, tables and plots.

    from instrack.evaluation import evaluate
    result = evaluate("data/InsTrack", "predictions.zip", split="test")

Subpackages: `protocols` (one entry per benchmark protocol, registered by name) and
`submission` (the folder, zip and RLE-JSON readers). Nothing here imports the
dataset tooling's writers or any sibling package; it reads ground truth through
`instrack.dataset.layout` and `instrack.dataset.sources.davis_layout` only.
"""

from instrack.evaluation.evaluator import (
    Plan,
    default_split,
    default_workers,
    evaluate,
    plan_evaluation,
    run_jobs,
    submission_digest,
    validate,
)

__all__ = [
    "Plan",
    "default_split",
    "default_workers",
    "evaluate",
    "plan_evaluation",
    "run_jobs",
    "submission_digest",
    "validate",
]
