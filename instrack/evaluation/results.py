"""From per-frame scores to the result of SPEC §6: per-unit statistics, global
numbers, and the breakdowns (per video, seed vs rephrased, per source, and how
robust a tracker is across the instructions of one video)."""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

import numpy as np

from instrack.evaluation.scoring import JobOutcome

if TYPE_CHECKING:
    from instrack.evaluation.protocols import Protocol

STAT_KEYS = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


def unit_record(protocol: "Protocol", scores, info: dict, per_frame: bool) -> dict:
    """One entry of `units`, as the protocol defines it (protocols/base.py)."""
    return protocol.unit_record(scores, info, per_frame)


def global_metrics(units: list[dict]) -> dict:
    """Mean over units of each statistic; J&F is the mean of J-Mean and F-Mean."""
    out = {key: float(np.mean([u[key] for u in units])) for key in STAT_KEYS}
    return {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2, **out}


def robustness(units: list[dict]) -> dict:
    """Per video: how much J&F moves across its instructions (std, worst, best)."""
    by_video: dict[str, list[float]] = defaultdict(list)
    for unit in units:
        by_video[unit["video"]].append(unit["J&F-Mean"])
    per_video = {
        video: {
            "n_instructions": len(values),
            "J&F-Std": float(np.std(values)),
            "J&F-Worst": float(np.min(values)),
            "J&F-Best": float(np.max(values)),
            "J&F-Mean": float(np.mean(values)),
        }
        for video, values in sorted(by_video.items())
    }
    summary = {
        "mean J&F-Std": float(np.mean([v["J&F-Std"] for v in per_video.values()])),
        "mean J&F-Worst": float(np.mean([v["J&F-Worst"] for v in per_video.values()])),
    }
    return {"summary": summary, "per_video": per_video}


def build_result(
    protocol: "Protocol",
    outcomes: Iterable[JobOutcome],
    unit_info: dict,
    dataset: dict,
    submission: dict,
    evaluator_version: str,
    per_frame: bool = True,
) -> dict:
    outcomes = list(outcomes)
    scored = sorted(
        (scores for outcome in outcomes for scores in outcome.units),
        key=lambda s: (s.video, _natural(s.unit)),
    )
    units = [unit_record(protocol, s, unit_info.get((s.video, s.unit), {}), per_frame) for s in scored]
    # the protocol fills "metrics" and "breakdowns" (and any keys of its own, e.g. "quirks")
    summary = protocol.summarise(units, outcomes)
    return {
        "protocol": protocol.name,
        "protocol_description": protocol.description,
        "metrics": summary.pop("metrics"),
        "units": units,
        "breakdowns": summary.pop("breakdowns"),
        **summary,
        "evaluator_version": evaluator_version,
        "dataset": dataset,
        "submission_sha256": submission["sha256"],
        "submission": submission,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _natural(label: str):
    return (0, int(label), "") if label.isdigit() else (1, 0, label)
