"""The bundled sample: a valid dataset, an imperfect example submission, and
instrack.load() / the HF form working on it with nothing downloaded."""

from __future__ import annotations

import numpy as np
import pytest

import instrack
from instrack.dataset.integrity import check_root
from instrack.dataset.layout import read_split
from instrack.masks import read_mask
from instrack.evaluation.metrics import f_measure, jaccard
from instrack.dataset.sample import SPLIT, example_submission, sample_root


def test_sample_is_a_valid_dataset():
    problems, counts = check_root(sample_root())
    assert problems == []
    assert counts["videos"] == 5 and counts["instructions"] == 30
    split = read_split(sample_root(), SPLIT)
    sizes = {(v.height, v.width) for v in split.videos.values()}
    assert (241, 321) in sizes  # odd sizes on purpose
    for video in split.videos.values():
        assert 10 <= len(video.frames) <= 25
        assert [i.kind for i in video.instructions] == ["seed"] + ["rephrase"] * 5
        assert all(i.obj_ids == (1,) for i in video.instructions)
        assert video.extra["licence"] and video.source == "sample"


def test_sample_has_void_and_an_absent_target():
    split = read_split(sample_root(), SPLIT)
    values = {
        name: [set(np.unique(read_mask(v.mask_path(f))).tolist()) for f in v.frames] for name, v in split.videos.items()
    }
    assert any(255 in s for frames in values.values() for s in frames)
    assert any(1 not in s for frames in values.values() for s in frames)


def _scores() -> dict[str, float]:
    split = read_split(sample_root(), SPLIT)
    pred_root = example_submission()
    out = {}
    for unit in split.units():
        video, exp = unit.video, unit.instruction.exp_id
        j, f = [], []
        for frame in video.frames:
            gt = read_mask(video.mask_path(frame))
            pred = read_mask(pred_root / video.name / exp / f"{frame}.png") > 0
            assert pred.shape == gt.shape
            void = gt == 255
            j.append(jaccard(gt == 1, pred, void))
            f.append(f_measure(gt == 1, pred, void))
        out[str(unit)] = (np.mean(j) + np.mean(f)) / 2
    return out


def test_example_submission_is_complete_and_imperfect():
    scores = _scores()
    assert len(scores) == 30
    per_video = {}
    for key, value in scores.items():
        per_video.setdefault(key.split("/")[0], []).append(value)
    means = {v: float(np.mean(s)) for v, s in per_video.items()}
    assert all(0.6 <= m <= 0.95 for m in means.values()), means
    assert len({round(m, 3) for m in means.values()}) == len(means)  # videos differ
    assert 0.7 < np.mean(list(scores.values())) < 0.9


def test_load_without_arguments_gives_the_sample():
    data = instrack.load()
    assert len(data) == 30
    unit = data[0]
    assert unit.kind == "seed" and unit.text.endswith("?") and str(unit.instruction) == unit.text
    assert unit.frames[0].shape == (unit.video.height, unit.video.width, 3)
    assert unit.masks[0].dtype == np.uint8
    assert data[1]._pixels is unit._pixels  # the next instruction of the video reuses its pixels


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(instrack.InsTrackError, match="does not exist"):
        instrack.load(tmp_path / "nope")
    with pytest.raises(instrack.InsTrackError, match="splits here: test"):
        instrack.load(sample_root(), split="train")


def test_evaluate_with_no_paths_scores_the_sample(capsys):
    from instrack.cli.main import VERBS, main

    if "evaluate" not in VERBS:
        pytest.skip("no evaluate verb in this install")
    assert main(["evaluate", "--quiet", "--json", "-"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert 0.6 < result["metrics"]["J&F-Mean"] < 0.95
    assert len(result["units"]) == 30
