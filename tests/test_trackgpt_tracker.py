"""Algorithm 1 (rethinking, propagation switches) and `instrack track --tracker trackgpt`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers", "peft")
import torch  # noqa: E402

from instrack.cli.main import main  # noqa: E402
from instrack.dataset.layout import read_split  # noqa: E402
from instrack.tracking import track_video  # noqa: E402
from instrack.tracking.synthetic import write_synthetic_split  # noqa: E402
from trackgpt.model import build_model  # noqa: E402
from trackgpt.tracker import TrackGPTTracker, TrackingConfig  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model():
    return build_model("tiny", seed=0)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    root = write_synthetic_split(tmp_path_factory.mktemp("data"), videos=1, frames=8, size=(32, 40), instructions=3)
    return next(iter(read_split(root).videos.values()))


class Spy:
    """Wraps the model's decoder and brain: forces S_p per (frame, unit) and logs
    the brain's calls (frame, number of instructions) and the decoder's queries."""

    def __init__(self, model, low: dict[str, set[int]], monkeypatch):
        self.low, self.frame, self.brain_calls, self.online = low, -1, [], []
        decode, reason = model.perception.decode, model.brain.reason

        def fake_decode(features, q_r, q_p, q_t):
            self.frame += 1
            self.online.append(q_t)
            out = decode(features, q_r, q_p, q_t)
            score = torch.full_like(out.score, 0.8)  # first frame: tau = 0.4
            for i, exp_id in enumerate(self.ids):
                if self.frame in self.low.get(exp_id, ()):
                    score[i] = 0.1
                elif self.frame > 0:
                    score[i] = 0.6
            out.score = score
            return out

        def fake_reason(image, questions, generate=True):
            self.brain_calls.append((self.frame + 1, len(questions)))
            return reason(image, questions, generate=generate)

        monkeypatch.setattr(model.perception, "decode", fake_decode)
        monkeypatch.setattr(model.brain, "reason", fake_reason)


def _run(model, video, config, low, monkeypatch):
    spy = Spy(model, low, monkeypatch)
    units = list(video.units())
    spy.ids = [u.instruction.exp_id for u in units]
    results = track_video(TrackGPTTracker(model, config), video, units)
    return spy, results


def test_rethinks_on_the_frame_after_each_low_purport(model, video, monkeypatch) -> None:
    # Algorithm 1: S_p of frame t-1 below tau -> the brain re-reads frame t.
    low = {"0": {2, 5}, "1": {7}}  # frame 7 is the last: nothing after it to rethink
    spy, results = _run(model, video, TrackingConfig(), low, monkeypatch)
    assert results["0"].reasoned_frames == [0, 3, 6]
    assert results["1"].reasoned_frames == [0]
    assert results["2"].reasoned_frames == [0]
    # frame 0: one batched call for all three instructions; then only unit 0's
    assert spy.brain_calls == [(0, 3), (3, 1), (6, 1)]
    assert len(results["0"].answers) == 3 and len(results["0"].masks) == 8


def test_never_rethinks_when_switched_off(model, video, monkeypatch) -> None:
    low = {"0": {1, 2, 3, 4, 5, 6}, "1": {1, 4}, "2": set(range(8))}
    spy, results = _run(model, video, TrackingConfig(rethinking=False), low, monkeypatch)
    assert spy.brain_calls == [(0, 3)]
    assert all(r.reasoned_frames == [0] for r in results.values())


def test_absolute_tau(model, video, monkeypatch) -> None:
    # tau 0.7: above every later score (0.6), below the first (0.8), so the brain
    # re-reads every frame from the third on.
    spy, results = _run(model, video, TrackingConfig(tau=0.7), {}, monkeypatch)
    assert results["0"].reasoned_frames == [0, *range(2, 8)]


def test_tau_is_half_the_first_frames_purport_score(model, video, monkeypatch) -> None:
    """§4.1: tau = 0.5 x S_p(0). With S_p(0) = 0.3 (tau 0.15) a later 0.2 must not
    rethink and 0.1 must; a fixed tau of 0.5 would rethink after both."""
    scores = {0: 0.3, 2: 0.2, 4: 0.1}
    calls, frame = [], [-1]
    decode, reason = model.perception.decode, model.brain.reason

    def fake_decode(features, q_r, q_p, q_t):
        frame[0] += 1
        out = decode(features, q_r, q_p, q_t)
        out.score = torch.full_like(out.score, scores.get(frame[0], 0.25))
        return out

    def fake_reason(image, questions, generate=True):
        calls.append(frame[0] + 1)
        return reason(image, questions, generate=generate)

    monkeypatch.setattr(model.perception, "decode", fake_decode)
    monkeypatch.setattr(model.brain, "reason", fake_reason)
    units = list(video.units())[:1]
    results = track_video(TrackGPTTracker(model, TrackingConfig(generate_answer=False)), video, units)
    assert calls == [0, 5]
    assert results[units[0].instruction.exp_id].reasoned_frames == [0, 5]


def test_propagation_switch(model, video, monkeypatch) -> None:
    spy, _ = _run(model, video, TrackingConfig(propagation=True), {}, monkeypatch)
    assert all(q is not None for q in spy.online)
    # the online query changes from frame to frame
    assert not torch.equal(spy.online[1], spy.online[2])
    spy, _ = _run(model, video, TrackingConfig(propagation=False), {}, monkeypatch)
    assert all(q is None for q in spy.online)


def test_track_and_evaluate_the_sample_with_the_tiny_preset(tmp_path: Path, capsys) -> None:
    sample = pytest.importorskip("instrack.dataset.sample")
    root = sample.sample_root()
    out, report = tmp_path / "pred", tmp_path / "report"
    first_video = sorted(read_split(root, "test").videos)[0]
    args = ["track", "--tracker", "trackgpt", "--preset", "tiny", "--data", str(root), "--out", str(out),
            "--report", str(report), "--no-progress"]
    # One video first (then the rest resumes around it): keeps the test short and
    # exercises resume with a model tracker.
    assert main(args + ["--video", first_video]) == 0
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 6 already complete" in err
    # random weights are announced on every run, and recorded in every report
    assert err.count("trackgpt: preset tiny with RANDOM weights (llava, sam, checkpoint") == 2
    assert main(["evaluate", "--gt", str(root), "--pred", str(out), "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert 0.0 <= result["metrics"]["J&F-Mean"] <= 1.0
    rec = json.loads(next(report.rglob("*.json")).read_text())
    assert rec["reasoned_frames"][0] == 0 and rec["tracker"]["preset"] == "tiny"
    assert rec["tracker"]["random_weights"] == ["llava", "sam", "checkpoint"]
    assert rec["tracker"]["checkpoint"] is None and rec["tracker"]["seed"] == 0
    assert all(0.0 <= s <= 1.0 for s in rec["scores"])


def test_track_cli_errors(tmp_path: Path, capsys) -> None:
    root = write_synthetic_split(tmp_path / "d", videos=1, frames=2)
    base = ["track", "--tracker", "trackgpt", "--data", str(root), "--out", str(tmp_path / "p")]
    assert main(base + ["--preset", "tiny", "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "none.safetensors: file not found" in err and "Traceback" not in err
    assert main(base + ["--preset", "7b"]) == 2
    assert "needs --llava and --sam" in capsys.readouterr().err
    assert main(base + ["--preset", "7c"]) == 2
    assert "Did you mean: 7b?" in capsys.readouterr().err
    assert main(base + ["--preset", "tiny", "--tau-ratio", "2"]) == 2
    assert "--tau-ratio" in capsys.readouterr().err


@pytest.mark.parametrize("form, suffix", [(None, " Please track the object."),
                                          ("ours", " Please track the target of this instruction in the video.")])
def test_instructions_are_put_as_the_authors_do(model, video, monkeypatch, form, suffix) -> None:
    asked = []
    reason = model.brain.reason

    def spy(image, questions, generate=True):
        asked.extend(questions)
        return reason(image, questions, generate=generate)

    monkeypatch.setattr(model.brain, "reason", spy)
    unit = list(video.units())[0]
    config = TrackingConfig(rethinking=False, generate_answer=False,
                            **({"instruction_form": form} if form else {}))
    track_video(TrackGPTTracker(model, config), video, [unit])
    assert asked == [" ".join(unit.instruction.text.split()) + suffix]
