"""The paper's logic (§3.3–3.5, Algorithm 1, §4.1), pinned so that a one-line
departure fails a test. Each expected value is computed here independently of
the code under test (plain Python / separate tensor paths), never read back
from it. Tiny model, CPU, seconds."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers")

import torch  # noqa: E402

from instrack.tracking.synthetic import make_frames  # noqa: E402
from trackgpt.data import templates  # noqa: E402
from trackgpt.data.readers import TrainItem  # noqa: E402
from trackgpt.data.samplers import Clip  # noqa: E402
from trackgpt.losses import joint_loss  # noqa: E402
from trackgpt.model import build_model  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model():
    return build_model("tiny", for_training=True, seed=0)


@pytest.fixture(scope="module")
def features(model):
    image = np.random.default_rng(1).integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
    pixels, _ = model.perception.encoder.preprocess(image)
    return model.perception.encode(pixels[None])


# ---- Eq. 1: Q_R at <TK>, Q_p at <PO> -----------------------------------------


def test_q_r_is_read_at_tk_and_q_p_at_po(model) -> None:
    brain = model.brain
    pixels = torch.stack([brain.preprocess(np.full((20, 30, 3), v, np.uint8)) for v in (40, 200)])
    # Different lengths: the tokens sit at different positions in the two rows.
    questions = ["Who will win the race? Please track the object.", "Track it."]
    batch = brain.collate(questions, pixels)
    with torch.no_grad():
        out = brain(batch, with_text_loss=False)
        # Independently: the language model's last hidden layer (after the final
        # norm) from the full LLaVA forward, at positions found by scanning the ids.
        full = brain.llava(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                           pixel_values=batch.pixel_values, output_hidden_states=True)
        last = full.hidden_states[-1]
        for row in range(2):
            ids = batch.input_ids[row].tolist()
            tk, po = ids.index(brain.tk_id), ids.index(brain.po_id)
            assert po > tk  # the template's order: "<TK>, <PO>"
            assert not torch.allclose(last[row, tk], last[row, po])
            torch.testing.assert_close(out.q_r[row], brain.project_tk(last[row, tk]), rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(out.q_p[row], brain.project_po(last[row, po]), rtol=1e-5, atol=1e-5)


# ---- Eq. 3 and §3.4: S_p from the IoU token multiplied by Q_p ------------------


def test_purport_score_depends_on_q_p(model, features) -> None:
    g = torch.Generator().manual_seed(0)
    q_r, q_t = torch.randn(1, 32, generator=g), torch.randn(1, 32, generator=g)
    scores = []
    with torch.no_grad():
        for _ in range(3):
            q_p = torch.randn(1, 32, generator=g)
            scores.append(model.perception.decode(features, q_r, q_p, q_t).score.item())
        # Q_p multiplies the IoU token: Q_p = 1 gives SAM's own IoU token, so the
        # score must equal the decoder's with no purport query at all.
        ones = model.perception.decode(features, q_r, torch.ones(1, 32), q_t).score.item()
        plain = model.perception.decode(features, q_r, None, q_t).score.item()
    assert len({round(s, 6) for s in scores}) == 3, scores
    assert ones == pytest.approx(plain, abs=1e-6)


# ---- Fig. 3: propagation attends to Q_R --------------------------------------


def test_propagated_query_depends_on_q_r(model, features) -> None:
    g = torch.Generator().manual_seed(1)
    q_p, q_t = torch.randn(1, 32, generator=g), torch.randn(1, 32, generator=g)
    with torch.no_grad():
        nexts = [model.perception.decode(features, torch.randn(1, 32, generator=g), q_p, q_t).next_query
                 for _ in range(2)]
        # and on Q_t (it is the online query that is carried forward)
        other_t = model.perception.decode(features, torch.zeros(1, 32), q_p, torch.randn(1, 32, generator=g)).next_query
        same_t = model.perception.decode(features, torch.zeros(1, 32), q_p, q_t).next_query
    assert not torch.allclose(nexts[0], nexts[1], atol=1e-6)
    assert not torch.allclose(other_t, same_t, atol=1e-6)


def test_decoder_prompts_are_q_r_and_q_t(model, features) -> None:
    """§3.4: the prompt tokens are the referring query Q_R and the online query Q_t
    (Fig. 3); the mask changes with either."""
    g = torch.Generator().manual_seed(2)
    q_r, q_p, q_t = (torch.randn(1, 32, generator=g) for _ in range(3))
    with torch.no_grad():
        base = model.perception.decode(features, q_r, q_p, q_t).low_res
        new_t = model.perception.decode(features, q_r, q_p, torch.randn(1, 32, generator=g)).low_res
        new_r = model.perception.decode(features, torch.randn(1, 32, generator=g), q_p, q_t).low_res
        alone = model.perception.decode(features, q_r, q_p, None).low_res
    assert not torch.allclose(base, new_t, atol=1e-6)
    assert not torch.allclose(base, new_r, atol=1e-6)
    assert not torch.allclose(base, alone, atol=1e-6)  # without propagation: one prompt token


# ---- Eq. 4: the joint loss with imperfect logits -------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _expected_loss(text: float, logits: np.ndarray, target: np.ndarray, valid: np.ndarray, scores: list[float]):
    """Eq. 4 by hand: 1.0 x text + 1.0 x (2.0 BCE + 0.5 DICE) + 1.0 x MSE(S_p, IoU)."""
    bces, dices, sq = [], [], []
    for k in range(logits.shape[0]):
        total_bce, n, inter, p_sum, t_sum, i_hard, u_hard = 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0
        for x, y, v in zip(logits[k].ravel(), target[k].ravel(), valid[k].ravel()):
            if not v:
                continue
            p = _sigmoid(float(x))
            total_bce += -(y * math.log(p) + (1 - y) * math.log(1 - p))
            n += 1
            inter += p * y
            p_sum += p
            t_sum += y
            hard = 1 if x > 0 else 0
            i_hard += hard * int(y)
            u_hard += 1 if (hard or y) else 0
        bces.append(total_bce / n)
        dices.append(1 - (2 * inter + 1) / (p_sum + t_sum + 1))
        iou = i_hard / u_hard if u_hard else 1.0
        sq.append((scores[k] - iou) ** 2)
    bce, dice, purport = sum(bces) / len(bces), sum(dices) / len(dices), sum(sq) / len(sq)
    return text + 2.0 * bce + 0.5 * dice + purport, bce, dice, purport


def test_joint_loss_with_imperfect_logits_matches_eq4_by_hand() -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, size=(3, 6, 7))
    target = (rng.random((3, 6, 7)) < 0.4).astype(np.float64)
    valid = (rng.random((3, 6, 7)) < 0.85).astype(np.float64)
    scores = [0.2, 0.7, 0.45]
    expected, bce, dice, purport = _expected_loss(1.3, logits, target, valid, scores)
    out = joint_loss(torch.tensor(1.3), torch.tensor(logits, dtype=torch.float32),
                     torch.tensor(target, dtype=torch.float32), torch.tensor(valid, dtype=torch.float32),
                     torch.tensor(scores))
    assert bce > 0.3 and dice > 0.2  # both mask terms far from zero: the weights matter
    assert out["bce"].item() == pytest.approx(bce, rel=1e-5)
    assert out["dice"].item() == pytest.approx(dice, rel=1e-5)
    assert out["purport"].item() == pytest.approx(purport, rel=1e-5)
    assert out["loss"].item() == pytest.approx(expected, rel=1e-5)


def test_purport_target_is_the_masks_iou() -> None:
    # target: rows 0-1 of a 4x4 frame; prediction: rows 1-2 -> IoU = 4 / 12
    target = torch.zeros(1, 4, 4)
    target[0, :2] = 1
    logits = torch.full((1, 4, 4), -30.0)
    logits[0, 1:3] = 30.0
    scores = torch.tensor([0.25])
    out = joint_loss(None, logits, target, torch.ones(1, 4, 4), scores)
    assert out["iou"].item() == pytest.approx(1 / 3)
    assert out["purport"].item() == pytest.approx((0.25 - 1 / 3) ** 2, rel=1e-6)


# ---- §4.1 stage 1: text-only turns and free-form answers ---------------------


def _mask_clip(seed: int = 0) -> Clip:
    images, masks = make_frames(3, (40, 56), np.random.default_rng(seed))
    item = TrainItem("v/0", (), (), (1,), "the red square", "referring")
    return Clip(item, (0, 1, 2), images[:3], masks[:3])


def _vqa_clip() -> Clip:
    image = np.random.default_rng(9).integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
    item = TrainItem("llava:1", (), (), (), "What is shown?", "vqa",
                     turns=(("<image>\nWhat is shown?", "A red square."), ("Where is it?", "On the left.")))
    return Clip(item, (0, 0, 0), [image] * 3, None)


def test_vqa_turns_train_the_text_only(model, monkeypatch) -> None:
    model.zero_grad(set_to_none=True)
    calls = []
    decode = model.perception.decode
    monkeypatch.setattr(model.perception, "decode", lambda f, q_r, q_p, q_t: calls.append(q_r.shape[0]) or decode(f, q_r, q_p, q_t))
    losses = model([_vqa_clip()])
    # absent, not zero-weighted: no mask, IoU or purport term, no decoder call
    assert set(losses) == {"loss", "text"} and calls == []
    assert losses["loss"].item() == pytest.approx(losses["text"].item())
    losses["loss"].backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("perception."))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)
    model.zero_grad(set_to_none=True)

    # In a mixed batch the decoder sees the segmentation clip only, and its mask
    # terms are exactly those of that clip alone.
    with torch.no_grad():
        alone = model([_mask_clip()])
        calls.clear()
        mixed = model([_vqa_clip(), _mask_clip()])
    assert calls == [1, 1, 1]
    for key in ("bce", "dice", "purport", "iou"):
        assert mixed[key].item() == pytest.approx(alone[key].item(), rel=1e-5), key
    assert mixed["text"].item() != pytest.approx(alone["text"].item())


def test_reasonseg_answer_keeps_its_text_and_tokens(model) -> None:
    brain = model.brain
    item = TrainItem("rs:1", (), (), (), "What could I sit on?", "instruction",
                     explanation="The chair, since it has a seat.")
    turns = item.conversation()
    assert turns == [("What could I sit on? Please track the object.",
                      " Sure, I track the object. <TK>, <PO> The chair, since it has a seat.")]
    ids, labels = brain.tokenize_turns(turns)
    supervised = brain.tokenizer.decode([t for t in labels if t != -100], skip_special_tokens=False)
    assert "<TK>, <PO> The chair, since it has a seat." in supervised
    assert ids.count(brain.tk_id) == 1 and ids.count(brain.po_id) == 1
    # multi-turn VQA: every answer is supervised, no question is
    ids, labels = brain.tokenize_turns(templates.vqa_turns(_vqa_clip().item.turns))
    supervised = brain.tokenizer.decode([t for t in labels if t != -100], skip_special_tokens=True)
    assert supervised == " A red square. On the left."
    prompt = brain.tokenizer.decode(ids, skip_special_tokens=False)
    assert prompt.count("<image>") == brain.num_image_tokens and "USER: Where is it? ASSISTANT:" in prompt


# ---- §4.1 templates ------------------------------------------------------------


def test_templates_the_paper_and_the_authors_give() -> None:
    assert templates.prompt(templates.question("a man in red", "referring")) + templates.answer() == (
        "USER: <image>\nCan you track the a man in red in the video? ASSISTANT: Sure, I track the object. <TK>, <PO>")
    assert templates.question("Who will win the race?") == "Who will win the race? Please track the object."
    rng = random.Random(0)
    paper_only = templates.TemplateOptions(paper_only=True)
    assert {templates.question("cat", "referring", rng, paper_only) for _ in range(30)} == {
        "Can you track the cat in the video?"}
    assert len({templates.question("cat", "referring", rng) for _ in range(60)}) == 4  # ours: variants


# ---- a deterministic end-to-end run -------------------------------------------


def _run_once(tmp_path, name: str):
    from instrack.dataset.layout import read_split
    from instrack.tracking import track_video
    from instrack.tracking.synthetic import write_synthetic_split
    from trackgpt.tracker import build_tracker
    from trackgpt.train import DataSpec, TrainConfig, train

    root = write_synthetic_split(tmp_path / "data", "train", videos=1, frames=4, size=(32, 40), seed=2)
    config = TrainConfig(preset="tiny", stage="instrack", data=(DataSpec("instrack", root),), out=tmp_path / name,
                         epochs=1, steps_per_epoch=3, batch_size=1, grad_accum=1, lr=1e-3, warmup_steps=1,
                         device="cpu", progress=False, seed=0)
    result = train(config)
    video = next(iter(read_split(root, "train").videos.values()))
    tracked = track_video(build_tracker("tiny", checkpoint=result.checkpoint, generate_answer=False), video,
                          list(video.units())[:1])
    return result, next(iter(tracked.values()))


def test_tiny_end_to_end_is_deterministic_and_starts_where_theory_says(tmp_path) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        first, track_a = _run_once(tmp_path / "a", "run")
        second, track_b = _run_once(tmp_path / "b", "run")
    finally:
        torch.set_num_threads(threads)
    # Same seed: the same losses bit for bit, the same weights, the same masks.
    assert first.history == second.history
    from safetensors.torch import load_file

    a, b = load_file(str(first.checkpoint)), load_file(str(second.checkpoint))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(np.array_equal(x, y) for x, y in zip(track_a.masks, track_b.masks))
    assert track_a.scores == track_b.scores
    # Derived once, by hand: Llama's initialiser draws the head with std 0.02 and
    # the final RMSNorm leaves hidden states of norm ~sqrt(64) = 8, so the logits
    # of the untrained tiny LM have std ~0.02 x 8 = 0.16 over its 264 rows (262
    # words + <TK>, <PO>). Cross-entropy over near-uniform logits is
    # ln 264 + 0.16^2 / 2 = 5.576 + 0.013 = 5.589 at the first step (measured
    # here: logit std 0.1595, hidden norm 7.99). The target logits of the ~40
    # answer tokens (many repeated) average to 0 +- 0.16 / sqrt(~10): tolerance
    # 0.15. A per-token mean is what this pins: a sum would be ~200.
    assert first.history[0]["text"] == pytest.approx(math.log(264) + 0.16**2 / 2, abs=0.15)
    # The purport target is the IoU of the step's own masks, in [0, 1]; S_p at
    # initialisation is small, so MSE(S_p, IoU) cannot exceed (1 + |S_p|)^2.
    assert 0.0 <= first.history[0]["iou"] <= 1.0
    assert first.history[0]["purport"] <= (1 + 0.5) ** 2
    assert track_a.reasoned_frames[0] == 0


def test_reason_keeps_a_free_form_answer_after_the_tokens(model, monkeypatch) -> None:
    brain = model.brain
    answer = " Sure, I track the object. <TK>, <PO> The runner in front."
    ids = brain.tokenizer(answer, add_special_tokens=False).input_ids
    monkeypatch.setattr(brain, "_generate", lambda pixels, questions: [list(ids)])
    image = np.zeros((20, 30, 3), np.uint8)
    out = brain.reason(image, ["Who will win? Please track the object."])
    assert out.answers == [answer.strip()]
    with torch.no_grad():
        forced = brain(brain.collate(["Who will win? Please track the object."], brain.preprocess(image)[None],
                                     [" " + answer.strip()]), with_text_loss=False)
        short = brain(brain.collate(["Who will win? Please track the object."], brain.preprocess(image)[None],
                                    [templates.answer()]), with_text_loss=False)
    torch.testing.assert_close(out.q_r, forced.q_r)
    torch.testing.assert_close(out.q_r, short.q_r, rtol=1e-5, atol=1e-5)  # causal: text after <PO> changes nothing
