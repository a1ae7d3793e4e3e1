"""Table 3 (paper §4.4) as an experiment: one checkpoint per row.

§4.4 compares trained variants: the Baseline has no cross-frame referring
propagation, so its decoder is trained with the one prompt token Q_R, while
+RP's is trained with [Q_R, Q_t]. Switching propagation off at inference on a
checkpoint trained with it feeds the decoder a prompt layout it never saw.
Rethinking is inference only ("does not require additional second-stage
training", §3.3), so +RP and +RP+RT share one checkpoint.

For each row the checkpoint is, in this order of preference:
  1. given for that row (`--row-checkpoint +RP=PATH`);
  2. trained here (`--train KIND=PATH`): Baseline with `--no-propagation`, +RP
     with propagation; a finished training in the output folder is reused;
  3. the one `--checkpoint` for every row (the old switched-at-inference
     ablation: said so in the table's notes);
  4. none: random weights (tiny preset, smoke runs only).
`describe` says which, per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from instrack.errors import UsageError

COMPONENTS = ("Baseline", "+RP", "+RP+RT")
#: what a row's checkpoint is trained with; +RP+RT reuses +RP's (rethinking needs no training)
TRAINED_WITH = {"Baseline": {"propagation": False}, "+RP": {"propagation": True}}
SHARES = {"+RP+RT": "+RP"}


@dataclass
class RowCheckpoint:
    component: str
    path: Path | None
    how: str  # "given", "trained here", "reused from a previous run here", "one checkpoint for all rows", "random"
    detail: str = ""

    def describe(self) -> str:
        where = f": {self.path}" if self.path else ""
        return f"{self.how}{where}{f' ({self.detail})' if self.detail else ''}"


@dataclass
class Table3Plan:
    rows: dict[str, RowCheckpoint] = field(default_factory=dict)

    def tracker_options(self) -> dict[str, dict[str, Any]]:
        return {c: ({"checkpoint": r.path} if r.path else {}) for c, r in self.rows.items()}

    def notes(self) -> dict[str, str]:
        return {c: f"checkpoint {r.describe()}" for c, r in self.rows.items()}


def parse_row_checkpoints(values: list[str]) -> dict[str, Path]:
    out = {}
    for value in values:
        key, sep, path = value.partition("=")
        key = key.strip()
        if not sep or not path.strip():
            raise UsageError(f"--row-checkpoint {value!r}: expected ROW=PATH with ROW one of {', '.join(COMPONENTS)}")
        if key not in COMPONENTS:
            raise UsageError(f"--row-checkpoint {value!r}: row {key!r} is not one of {', '.join(COMPONENTS)}")
        if not Path(path).expanduser().is_file():
            raise UsageError(f"--row-checkpoint {value!r}: {path} is not a file")
        out[key] = Path(path).expanduser()
    return out


def _finished(folder: Path, config) -> bool:
    """A training of the same configuration already finished in `folder`."""
    saved, checkpoint = folder / "train_config.json", folder / "trackgpt.safetensors"
    if not (saved.is_file() and checkpoint.is_file()):
        return False
    try:
        record = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    keys = ("preset", "stage", "propagation", "epochs", "steps_per_epoch", "seed", "lr", "batch_size", "total_batch")
    return all(record.get(k) == getattr(config, k) for k in keys) and \
        [d["path"] for d in record.get("data", [])] == [str(d.path) for d in config.data]


def plan(*, given: dict[str, Path], shared: Path | None, training=None, out: Path,
         say=lambda message: None) -> Table3Plan:
    """Checkpoints for Table 3's rows. `training` is a trackgpt.train.TrainConfig
    (its `propagation` and `out` are set per row) or None."""
    result = Table3Plan()
    for component in COMPONENTS:
        if component in given:
            result.rows[component] = RowCheckpoint(component, given[component], "given")
            continue
        source = SHARES.get(component)
        if source is not None and source in result.rows:
            first = result.rows[source]
            result.rows[component] = RowCheckpoint(component, first.path, first.how,
                                                   f"{source}'s: rethinking needs no training, §3.3")
            continue
        if training is not None:
            from trackgpt.train import train

            config = replace(training, out=out / "checkpoints" / component.strip("+").replace("+", "-").lower(),
                             **TRAINED_WITH[component])
            if _finished(config.out, config):
                result.rows[component] = RowCheckpoint(component, config.out / "trackgpt.safetensors",
                                                       "reused from a previous run here",
                                                       "propagation " + ("on" if config.propagation else "off"))
                say(f"table3: {component}: reusing {config.out / 'trackgpt.safetensors'}")
                continue
            say(f"table3: {component}: training a checkpoint (propagation "
                f"{'on' if config.propagation else 'off'}) in {config.out}")
            trained = train(config)
            result.rows[component] = RowCheckpoint(component, trained.checkpoint, "trained here",
                                                   f"propagation {'on' if config.propagation else 'off'}, "
                                                   f"{trained.steps} steps")
            continue
        if shared is not None:
            result.rows[component] = RowCheckpoint(
                component, shared, "one checkpoint for all rows",
                "switched at inference, not trained per row as §4.4 compares")
            continue
        result.rows[component] = RowCheckpoint(component, None, "random weights", "untrained: a smoke run")
    return result
