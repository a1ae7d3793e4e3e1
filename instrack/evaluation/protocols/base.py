"""What a protocol plugin defines, and the plan it hands to the evaluator.

A protocol (SPEC §5, §7) says how its ground truth is laid out and read, how
the units and frames to score are planned into picklable jobs, how one unit's
per-frame scores become a record, and how the records become the global
`metrics` and the `breakdowns`. The evaluator (evaluator.py) does the rest the
same way for every protocol: open the submission, check it against the plan's
Expectation, run the jobs in worker processes, assemble the SPEC §6 JSON.

A job is a picklable, module-level callable (it crosses into a worker
process) returning a scoring.JobOutcome: the UnitScores of its units, the
problems it met decoding the submission (every one, not the first), the
digests of the files it read, and protocol-specific `notes`. It must have a
`frames` sequence (and may have `units`): the longest jobs are started first.
Ground-truth problems inside a job are raised as scoring.GroundTruthError.

Adding a benchmark is one module in this package that calls `register()` at
import (see protocols/__init__.py); nothing else changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from instrack.errors import DataError
from instrack.evaluation.report import CSV_COLUMNS  # the per-unit CSV's columns; a protocol may name its own

if TYPE_CHECKING:  # the plugins import the heavy parts (cv2, scoring) only when planning
    from instrack.evaluation.scoring import JobOutcome, UnitScores
    from instrack.evaluation.submission import Submission
    from instrack.evaluation.validation import Expectation



def expression_frame_paths(video: str, exp_ids, frames) -> dict[str, list[str]]:
    """Expectation.layout of one video of an expression-unit protocol: for
    each expression, the mask PNGs a submission must hold, video/exp_id/frame.png."""
    return {exp_id: [f"{video}/{exp_id}/{frame}.png" for frame in frames] for exp_id in exp_ids}


def dataset_summary(root: Path, split: str, layout: str, n_videos: int, n_units: int, n_frames: int,
                    meta: Path, **counts) -> dict:
    """The result's `dataset` block (SPEC §6); protocol-specific counts come
    after n_units."""
    from instrack.fileio import sha256_file

    return {"root": str(root), "split": split, "layout": layout, "n_videos": n_videos, "n_units": n_units,
            **counts, "n_frames": n_frames, "meta_sha256": sha256_file(meta)}


@dataclass
class Plan:
    """Everything needed to score: the jobs and what describes the ground truth."""

    protocol: "Protocol"
    jobs: list
    expectation: "Expectation"
    dataset: dict
    unit_info: dict  # (video, unit label) -> extra columns of that unit (kind, source, text, ...)


class Protocol:
    """Base of every protocol plugin. Subclasses set the attributes and
    implement `plan`; the default records and summaries are DAVIS's (mean,
    recall and decay of J and F per unit; means over units)."""

    #: the name given to --protocol
    name: str = ""
    #: one line for `--help` and the result's protocol_description
    description: str = ""
    #: the split (or DAVIS subset) used when none is given
    default_split: str = "test"
    #: path components of one mask in the submission tree (3: video/exp_id/frame.png)
    submission_depth: int = 3
    #: whether an RLE JSON submission (binary masks) can carry this protocol's predictions
    reads_rle: bool = True
    #: the key naming a unit inside its video in `units` ("exp_id", or "object" for DAVIS)
    unit_key: str = "exp_id"
    #: columns of the per-unit CSV
    csv_columns: tuple[str, ...] = CSV_COLUMNS

    # -- planning -------------------------------------------------------------
    def plan(self, gt: Path, submission: "Submission", split: str) -> Plan:
        """Read the ground truth at `gt`, decide the units and frames, and
        return the jobs that score them (raise DataError for bad ground truth)."""
        raise NotImplementedError

    # -- results ---------------------------------------------------------------
    def unit_label(self, unit: str) -> Any:
        return int(unit) if self.unit_key == "object" else unit

    def unit_record(self, scores: "UnitScores", info: dict, per_frame: bool) -> dict:
        """One entry of `units`: identity, the plan's extra columns, statistics."""
        from instrack.evaluation.metrics import statistics

        j, f = statistics(scores.j), statistics(scores.f)
        record: dict = {"video": scores.video, self.unit_key: self.unit_label(scores.unit)}
        record.update(info)
        record["n_frames"] = len(scores.frames)
        record.update({
            "J&F-Mean": (j.mean + f.mean) / 2,
            "J-Mean": j.mean, "J-Recall": j.recall, "J-Decay": j.decay,
            "F-Mean": f.mean, "F-Recall": f.recall, "F-Decay": f.decay,
        })
        if per_frame:
            add_per_frame(record, scores)
        return record

    def global_metrics(self, units: list[dict]) -> dict:
        """The `metrics` of a set of unit records (also used for every breakdown group)."""
        from instrack.evaluation.results import global_metrics

        return global_metrics(units)

    def summarise(self, units: list[dict], outcomes: list["JobOutcome"]) -> dict:
        """The result's top-level keys this protocol fills: "metrics" and
        "breakdowns", and any protocol-specific ones (e.g. "quirks").
        `units` are sorted by (video, unit); outcomes come in completion order,
        so nothing here may depend on their order."""
        return {"metrics": self.global_metrics(units), "breakdowns": {"per_video": self.group(units, "video")}}

    def group(self, units: list[dict], key: str) -> dict[str, dict]:
        """Units grouped by the value of `key`, each group with its metrics."""
        groups: dict[str, list[dict]] = defaultdict(list)
        for unit in units:
            groups[str(unit.get(key, "unknown"))].append(unit)
        return {name: {"n_units": len(members), **self.global_metrics(members)}
                for name, members in sorted(groups.items())}


def add_per_frame(record: dict, scores: "UnitScores") -> None:
    record["frames"] = list(scores.frames)
    record["J-per-frame"] = scores.j.tolist()
    record["F-per-frame"] = scores.f.tolist()


def probe_gt(path: Path) -> tuple[int, int]:
    """(height, width) of a ground-truth PNG, or a DataError naming it."""
    from instrack.masks import MaskError, probe_mask

    try:
        return probe_mask(path)
    except FileNotFoundError:
        raise DataError(f"{path}: ground-truth mask missing") from None
    except (MaskError, OSError) as err:
        raise DataError(f"{path}: {err}") from err


def submission_source(submission: "Submission") -> str:
    """How problems name the submission's files ("PRED" or "PRED.zip/wrapper")."""
    return f"{submission.source}/{submission.unwrapped}".rstrip("/")
