"""Read the evaluator's result JSON (SPEC §6) and check it before it is stored.

Errors name the file and the field, so `instrack leaderboard add` can print one
line that says what to fix."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instrack.errors import InsTrackError
from instrack_leaderboard.schema import METRIC_COLUMNS, UNIT_METRICS

REQUIRED_METRICS = tuple(METRIC_COLUMNS)  # all seven of SPEC §6
PROTOCOL_BENCHMARK = {"instrack": "instrack", "davis-unsup": "refer-davis17", "davis-semi": "davis17-semi"}


class ResultError(InsTrackError):
    """A result JSON that does not follow SPEC §6."""


@dataclass(frozen=True)
class Result:
    """A checked evaluator result, ready for the store."""

    protocol: str
    metrics: dict[str, float]
    units: list[dict[str, Any]]
    evaluator_version: str
    dataset: dict[str, Any]
    submission_sha256: str
    breakdowns: Any = None
    split: str = "test"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sample(self) -> bool:
        """Scored on the bundled sample (or a copy of it): never an InsTrack result."""
        from instrack.evaluation.provenance import is_sample_result

        return self.protocol == "instrack" and is_sample_result({"dataset": self.dataset})

    @property
    def dataset_revision(self) -> str:
        d = self.dataset or {}
        for key in ("revision", "meta_sha256", "sha256", "version", "name"):
            if d.get(key):
                return str(d[key])
        return ""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ResultError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def parse_result(data: Any, source: str = "result") -> Result:
    """Check a decoded result dict; raises ResultError naming source and field."""
    if not isinstance(data, dict):
        raise ResultError(f"{source}: expected a JSON object (the evaluator's --json output), got {type(data).__name__}")
    for key in ("protocol", "metrics", "units", "evaluator_version", "dataset", "submission_sha256"):
        if key not in data:
            raise ResultError(f"{source}: missing field {key!r} (SPEC §6)")
    protocol = data["protocol"]
    if not isinstance(protocol, str) or not protocol:
        raise ResultError(f"{source}: field 'protocol' must be a non-empty string")
    if protocol not in PROTOCOL_BENCHMARK:
        # MeViS and ReVOS report other metric sets (no recall / decay; A and R); the
        # board's columns are the seven of SPEC §6, so such results are not stored
        raise ResultError(f"{source}: protocol {protocol!r} results are not stored on the leaderboard, which ranks "
                          f"{', '.join(sorted(PROTOCOL_BENCHMARK))} results (SPEC §6 metrics)")
    if not isinstance(data["metrics"], dict):
        raise ResultError(f"{source}: field 'metrics' must be an object")
    metrics = {}
    for name in REQUIRED_METRICS:
        if name not in data["metrics"]:
            raise ResultError(f"{source}: metrics.{name} is missing")
        metrics[name] = _number(data["metrics"][name], f"{source}: metrics.{name}")
    if not isinstance(data["units"], list):
        raise ResultError(f"{source}: field 'units' must be a list")
    units = []
    for i, unit in enumerate(data["units"]):
        where = f"{source}: units[{i}]"
        if not isinstance(unit, dict) or "video" not in unit:
            raise ResultError(f"{where}: expected an object with 'video'")
        if "exp_id" not in unit and "object" not in unit:
            raise ResultError(f"{where}: needs 'exp_id' (instrack) or 'object' (DAVIS protocols)")
        row = {
            "video": str(unit["video"]),
            "exp_id": str(unit.get("exp_id", "")),
            "object": int(unit["object"]) if unit.get("object") is not None else None,
            "kind": str(unit.get("kind") or ""),
            "n_frames": int(unit["n_frames"]) if unit.get("n_frames") is not None else None,
        }
        for name in UNIT_METRICS:
            if name not in unit:
                raise ResultError(f"{where}.{name} is missing")
            row[name] = _number(unit[name], f"{where}.{name}")
        units.append(row)
    sha = data["submission_sha256"]
    if not isinstance(sha, str):
        raise ResultError(f"{source}: field 'submission_sha256' must be a string")
    dataset = data["dataset"] if isinstance(data["dataset"], dict) else {"name": str(data["dataset"])}
    split = str(data.get("split") or dataset.get("split") or "test")
    known = {"protocol", "metrics", "units", "evaluator_version", "dataset", "submission_sha256", "breakdowns", "split"}
    return Result(
        protocol=protocol, metrics=metrics, units=units, evaluator_version=str(data["evaluator_version"]),
        dataset=dataset, submission_sha256=sha, breakdowns=data.get("breakdowns"), split=split,
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_result(path: str | Path) -> Result:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ResultError(f"{path}: no such file") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ResultError(f"{path}: cannot read ({err})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ResultError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from err
    except ValueError as err:  # an integer of thousands of digits
        raise ResultError(f"{path}: not valid JSON ({' '.join(str(err).split())[:200]})") from None
    except RecursionError:
        raise ResultError(f"{path}: not valid JSON (nested too deeply)") from None
    return parse_result(data, str(path))


def benchmark_for(protocol: str) -> str:
    return PROTOCOL_BENCHMARK.get(protocol, protocol)


#: the only board results on the bundled sample may go to
SAMPLE_BOARD = "instrack-sample"


def board_for(result: Result, requested: str | None = None) -> str:
    """The board a result goes to. Results on the bundled sample go to
    `instrack-sample` and nowhere else, whichever command stores them, so a
    sample score is never ranked beside InsTrack numbers."""
    if result.is_sample:
        if requested not in (None, SAMPLE_BOARD):
            raise ResultError(f"this result was scored on the bundled sample ({result.dataset.get('root', '?')}): "
                              f"it goes only to the {SAMPLE_BOARD!r} board, never to {requested!r}; "
                              "score on InsTrack (--gt ROOT) for that board")
        return SAMPLE_BOARD
    return requested or benchmark_for(result.protocol)
