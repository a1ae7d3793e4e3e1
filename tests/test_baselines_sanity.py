"""The sanity baselines through the tracker registry and `instrack track`, with
values checked by hand against the ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instrack.cli.main import main
from instrack.errors import UsageError
from instrack.evaluation import evaluate
from instrack.dataset.layout import read_split
from instrack.masks import read_mask
from instrack.tracking import TRACKERS, create_tracker, track_unit
from instrack.tracking.simple import NullTracker
from instrack.tracking.synthetic import write_synthetic_split


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_synthetic_split(tmp_path / "data", "test", videos=2, frames=5, size=(24, 32), instructions=2)


def test_registered_and_labelled() -> None:
    for name in ("empty", "full", "first-frame-oracle"):
        assert name in TRACKERS
    assert isinstance(create_tracker("empty"), NullTracker)  # reused, not rewritten
    assert create_tracker("first-frame-oracle").uses_ground_truth
    assert not create_tracker("full").uses_ground_truth
    with pytest.raises(UsageError, match="takes no options"):
        create_tracker("full", preset="tiny")


def test_masks_are_what_they_say(data: Path) -> None:
    unit = next(read_split(data, "test").units())
    gt0 = read_mask(unit.video.mask_path(unit.video.frames[0]))
    target0 = np.isin(gt0, [i for i in unit.instruction.obj_ids if i != 255])
    full = track_unit(create_tracker("full"), unit)
    oracle = track_unit(create_tracker("first-frame-oracle"), unit)
    assert len(full.masks) == len(oracle.masks) == len(unit.video.frames)
    for f, o in zip(full.masks, oracle.masks):
        assert f.shape == gt0.shape and f.all()
        np.testing.assert_array_equal(o, target0)


def test_through_the_cli_and_the_evaluator(data: Path, tmp_path: Path, capsys) -> None:
    scores = {}
    for name in ("empty", "full", "first-frame-oracle"):
        out = tmp_path / name
        assert main(["track", "--tracker", name, "--data", str(data), "--out", str(out), "--no-progress"]) == 0
        scores[name] = evaluate(data, out, "test", workers=1)
    assert "reads the ground truth" in capsys.readouterr().err
    # empty: J is 1 on a frame without target, else 0 (SPEC §3), averaged per unit then over units
    split = read_split(data, "test")
    expected = []
    for unit in split.units():
        absent = [not np.isin(read_mask(unit.video.mask_path(f)), unit.instruction.obj_ids).any()
                  for f in unit.video.frames]
        expected.append(np.mean(absent))
    assert scores["empty"]["metrics"]["J-Mean"] == pytest.approx(np.mean(expected))
    # the first-frame oracle is exact on frame 0 of every unit
    for unit in scores["first-frame-oracle"]["units"]:
        assert unit["J-per-frame"][0] == pytest.approx(1.0)
    assert scores["full"]["metrics"]["J-Mean"] < 1.0
