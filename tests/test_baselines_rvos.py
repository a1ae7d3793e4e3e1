"""The referring-VOS adapters end to end: export an InsTrack split in the
Ref-YouTube-VOS layout, run a stand-in for each official inference script (a
real subprocess in a fake checkout, called with the baseline's default command),
convert what it wrote, validate and evaluate the submission."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from instrack.errors import InsTrackError, SubmissionError, UsageError
from instrack.evaluation import evaluate, validate
from instrack.dataset.layout import read_split
from instrack.masks import read_mask
from instrack.tracking.synthetic import write_synthetic_split
from instrack_baselines import rvos
from instrack_baselines.rvos.__main__ import main as rvos_main

STANDIN = Path(__file__).parent / "rvos_standin.py"
FLAGS = Path(__file__).parent / "rvos_upstream_flags.json"
LAYOUT = {"referformer": "valid", "sgmg": "Annotations", "r2vos": "valid", "onlinerefer": "valid"}


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_synthetic_split(tmp_path / "data", "test", videos=2, frames=3, size=(24, 32), instructions=2)


def _weights(tmp_path: Path) -> Path:
    path = tmp_path / "weights.pth"
    path.write_bytes(b"stand-in weights")
    return path


def _checkout(tmp_path: Path, baseline: rvos.RvosBaseline) -> Path:
    repo = tmp_path / f"{baseline.key}-checkout"
    repo.mkdir()
    shutil.copy(STANDIN, repo / baseline.script)
    shutil.copy(FLAGS, repo / FLAGS.name)
    (repo / ".standin-baseline").write_text(baseline.key)
    return repo


def test_export_is_the_ytvos_layout(data: Path, tmp_path: Path) -> None:
    summary = rvos.export_ytvos(data, "test", tmp_path / "ytvos")
    split = read_split(data, "test")
    meta = json.loads((tmp_path / "ytvos/meta_expressions/valid/meta_expressions.json").read_text())
    assert set(meta["videos"]) == set(split.videos)
    for name, video in split.videos.items():
        entry = meta["videos"][name]
        assert entry["frames"] == list(video.frames)
        assert entry["expressions"] == {i.exp_id: {"exp": i.text} for i in video.instructions}
        for frame in video.frames:
            assert (tmp_path / "ytvos/valid/JPEGImages" / name / f"{frame}.jpg").read_bytes() == \
                video.image_path(frame).read_bytes()
    assert json.loads((tmp_path / "ytvos/meta_expressions/test/meta_expressions.json").read_text()) == {"videos": {}}
    assert not (tmp_path / "ytvos/valid/Annotations").exists()  # the ground truth is never exported
    assert (summary.videos, summary.expressions, summary.frames) == (2, 4, 6)


@pytest.mark.parametrize("key", sorted(rvos.BASELINES))
def test_each_adapter_runs_converts_and_scores(key: str, data: Path, tmp_path: Path) -> None:
    baseline = rvos.get_baseline(key)
    repo = _checkout(tmp_path, baseline)
    checkpoint = _weights(tmp_path)
    env = {"STANDIN_LAYOUT": LAYOUT[key], "STANDIN_GT": str(data / "test")}
    result = rvos.run_baseline(key, data=data, split="test", repo=repo, work=tmp_path / "work",
                               out=tmp_path / "pred", checkpoint=checkpoint, python=sys.executable,
                               env=env, progress=False)
    # the default command of the baseline was the one that ran, with its script
    assert baseline.script in result.command and "--resume" in result.command
    assert result.convert.source.name == LAYOUT[key]
    assert result.convert.units == 4
    report, _, submission = validate(data, tmp_path / "pred", "test")
    submission.close()
    assert not report.problems
    scored = evaluate(data, tmp_path / "pred", "test", workers=1)
    # the stand-in copied the ground truth: any mix-up of videos, ids or frames would show
    assert scored["metrics"]["J&F-Mean"] == pytest.approx(1.0)


def test_convert_box_masks_in_zero_one_and_from_a_zip(data: Path, tmp_path: Path) -> None:
    baseline = rvos.get_baseline("ReferFormer")
    repo = _checkout(tmp_path, baseline)
    rvos.run_baseline("referformer", data=data, split="test", repo=repo, work=tmp_path / "work",
                      out=tmp_path / "pred", checkpoint=_weights(tmp_path), env={"STANDIN_VALUES": "1"},
                      progress=False)
    unit = next(read_split(data, "test").units())
    mask = read_mask(tmp_path / "pred" / unit.video.name / unit.instruction.exp_id / f"{unit.video.frames[0]}.png")
    expected = np.zeros((24, 32), bool)
    expected[6:18, 8:24] = True
    np.testing.assert_array_equal(mask != 0, expected)
    # the same raw outputs, zipped, convert to the same submission
    archive = tmp_path / "raw.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((tmp_path / "work/output").rglob("*.png")):
            z.write(path, path.relative_to(tmp_path / "work/output").as_posix())
    assert rvos_main(["convert", str(archive), "--data", str(data), "--out", str(tmp_path / "pred2")]) == 0
    for path in (tmp_path / "pred").rglob("*.png"):
        np.testing.assert_array_equal(read_mask(path), read_mask(tmp_path / "pred2" / path.relative_to(tmp_path / "pred")))
    assert evaluate(data, tmp_path / "pred2", "test", workers=1)["metrics"]["J&F-Mean"] < 1.0


def test_gaps_and_failures_are_named(data: Path, tmp_path: Path, capsys) -> None:
    baseline = rvos.get_baseline("onlinerefer")
    repo = _checkout(tmp_path, baseline)
    with pytest.raises(InsTrackError, match="exited with status 3.*len\\(video_list\\) == 202"):
        rvos.run_baseline("onlinerefer", data=data, split="test", repo=repo, work=tmp_path / "w",
                          out=tmp_path / "p", checkpoint=_weights(tmp_path), env={"STANDIN_FAIL": "1"},
                          progress=False)
    with pytest.raises(InsTrackError, match="exited with status 0 but a worker failed \\(AssertionError\\)"):
        rvos.run_baseline("onlinerefer", data=data, split="test", repo=repo, work=tmp_path / "w0",
                          out=tmp_path / "p", checkpoint=_weights(tmp_path), env={"STANDIN_WORKER_FAIL": "1"},
                          progress=False)
    with pytest.raises(UsageError, match="placeholder \\{checkpoint\\}"):
        rvos.run_baseline("onlinerefer", data=data, split="test", repo=repo, work=tmp_path / "w",
                          out=tmp_path / "p", progress=False)
    rvos.run_baseline("onlinerefer", data=data, split="test", repo=repo, work=tmp_path / "w", out=tmp_path / "p",
                      checkpoint=_weights(tmp_path), progress=False)
    raw = tmp_path / "w/output/valid"
    victim = sorted(raw.rglob("*.png"))[0]
    victim.unlink()
    with pytest.raises(SubmissionError) as err:
        rvos.convert_predictions(tmp_path / "w/output", data, "test", tmp_path / "p2", progress=False)
    assert str(victim.parent) in str(err.value) and victim.stem in str(err.value)
    assert not (tmp_path / "p2").exists() or not any((tmp_path / "p2").rglob("*.png"))
    # the module's command line: one line, status 2
    assert rvos_main(["convert", str(tmp_path / "w/output"), "--data", str(data), "--out", str(tmp_path / "p3")]) == 2
    assert "frames missing" in capsys.readouterr().err
    with pytest.raises(UsageError, match="Did you mean: sgmg"):
        rvos.get_baseline("sgm")
    with pytest.raises(UsageError, match="no inference_ytvos.py"):
        rvos.run_baseline("referformer", data=data, split="test", repo=tmp_path, work=tmp_path / "w",
                          out=tmp_path / "p", progress=False)


@pytest.mark.parametrize("key", sorted(rvos.BASELINES))
def test_default_commands_use_only_the_scripts_flags(key: str) -> None:
    """Every flag of the default command exists in the upstream script's parser (the
    table is checked against the real parsers by the upstream conformance test)."""
    import shlex

    flags = json.loads(FLAGS.read_text())["flags"][key]
    baseline = rvos.get_baseline(key)
    words = shlex.split(baseline.command.replace("{", "").replace("}", ""))
    for i, word in enumerate(words):
        if word.startswith("--"):
            assert word in flags, f"{key}: {word} is not a flag of {baseline.script}"
            takes_value = i + 1 < len(words) and not words[i + 1].startswith("--")
            assert flags[word] == takes_value, f"{key}: {word} {'takes' if flags[word] else 'takes no'} value"


def test_a_wrong_flag_fails_like_the_real_script(data: Path, tmp_path: Path) -> None:
    baseline = rvos.get_baseline("sgmg")
    repo = _checkout(tmp_path, baseline)
    command = baseline.command + " --no_such_flag"
    with pytest.raises(InsTrackError, match="exited with status 2"):
        rvos.run_baseline("sgmg", data=data, split="test", repo=repo, work=tmp_path / "w", out=tmp_path / "p",
                          checkpoint=_weights(tmp_path), command=command, progress=False)
    assert "unrecognized arguments: --no_such_flag" in (tmp_path / "w/inference.log").read_text()


def test_docs_give_each_edit_exactly() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "baselines.md").read_text()
    for baseline in rvos.BASELINES.values():
        assert baseline.edit in docs, f"docs/baselines.md lacks {baseline.method}'s edit: {baseline.edit}"
        assert f"`{baseline.backbone}`" in docs


def test_upstream_checkouts_are_opt_in_and_named_when_missing(tmp_path: Path, monkeypatch) -> None:
    from upstream import ENV, checkout

    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        checkout("wjn922/ReferFormer")
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="no checkout of wjn922/ReferFormer at .*wjn922/ReferFormer"):
        checkout("wjn922/ReferFormer")
    (tmp_path / "wjn922/ReferFormer").mkdir(parents=True)
    (tmp_path / "wjn922/ReferFormer/inference_ytvos.py").write_text("")
    assert checkout("wjn922/ReferFormer") == tmp_path / "wjn922/ReferFormer"
