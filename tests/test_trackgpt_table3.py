"""`instrack reproduce table3` as §4.4's experiment: one checkpoint per row,
trained here (Baseline without propagation, +RP with it, +RP+RT sharing +RP's)
or taken, and the table says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers")

import torch  # noqa: E402

from instrack.cli.main import main  # noqa: E402
from instrack.tracking.synthetic import write_synthetic_split  # noqa: E402

pytestmark = pytest.mark.torch


def test_table3_trains_one_checkpoint_per_row_and_says_so(tmp_path: Path, capsys) -> None:
    root = write_synthetic_split(tmp_path / "data", "train", videos=1, frames=3, size=(32, 32))
    write_synthetic_split(root, "test", videos=1, frames=3, size=(32, 32), instructions=1)
    out = tmp_path / "t3"
    args = ["reproduce", "table3", "--data", str(root), "--split", "test", "--out", str(out), "--preset", "tiny",
            "--device", "cpu", "--train", f"instrack={root}", "--train-epochs", "1", "--train-steps-per-epoch", "2",
            "--train-batch-size", "1", "--train-total-batch", "1", "--workers", "1", "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    baseline = out / "checkpoints" / "baseline"
    rp = out / "checkpoints" / "rp"
    assert f"table3 Baseline: checkpoint trained here: {baseline / 'trackgpt.safetensors'} (propagation off" in err
    assert f"table3 +RP: checkpoint trained here: {rp / 'trackgpt.safetensors'} (propagation on" in err
    assert f"table3 +RP+RT: checkpoint trained here: {rp / 'trackgpt.safetensors'} (+RP's" in err
    assert json.loads((baseline / "train_config.json").read_text())["propagation"] is False
    assert json.loads((rp / "train_config.json").read_text())["propagation"] is True
    md = (out / "table.md").read_text()
    assert "InsTrack Baseline: checkpoint trained here" in md and "| InsTrack +RP+RT | run here |" in md
    # A second run takes the finished trainings instead of training again.
    from trackgpt.table3 import plan
    from trackgpt.train import TrainConfig, parse_data_args

    training = TrainConfig(preset="tiny", stage="instrack", data=parse_data_args([f"instrack={root}"]), out=Path("."),
                           epochs=1, steps_per_epoch=2, batch_size=1, total_batch=1, device="cpu", progress=False)
    again = plan(given={}, shared=None, training=training, out=out)
    assert again.rows["Baseline"].describe() == (f"reused from a previous run here: {baseline / 'trackgpt.safetensors'}"
                                                 " (propagation off)")
    assert again.tracker_options()["+RP+RT"] == {"checkpoint": rp / "trackgpt.safetensors"}

    given = baseline / "trackgpt.safetensors"
    taken = plan(given={"Baseline": given}, shared=rp / "trackgpt.safetensors", training=None, out=out)
    assert taken.rows["Baseline"].describe() == f"given: {given}"
    assert taken.rows["+RP"].how == "one checkpoint for all rows"
    assert plan(given={}, shared=None, training=None, out=out).rows["+RP"].how == "random weights"
    assert main(["reproduce", "table3", "--preset", "tiny", "--row-checkpoint", "Best=x", "--out", str(tmp_path)]) == 2
    assert "not one of Baseline, +RP, +RP+RT" in capsys.readouterr().err
    assert main(["reproduce", "table2", "--train", f"instrack={root}", "--out", str(tmp_path)]) == 2
    assert "only table3" in capsys.readouterr().err
