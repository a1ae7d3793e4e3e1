"""TrackGPT's parts at tiny size (same constructors as 7B/13B): shapes, gradients,
what trains, losses, checkpoints and weight loading."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers", "peft")
import torch  # noqa: E402

from instrack.tracking.synthetic import make_frames  # noqa: E402
from trackgpt.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402
from trackgpt.data.readers import TrainItem  # noqa: E402
from trackgpt.data.samplers import Clip  # noqa: E402
from trackgpt.losses import bce_loss, dice_loss, joint_loss, mask_iou  # noqa: E402
from trackgpt.model import CheckpointError, build_model  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model():
    return build_model("tiny", for_training=True, seed=0)


def _clips(n: int = 2, size=(40, 56)) -> list[Clip]:
    rng = np.random.default_rng(0)
    images, masks = make_frames(4, size, rng)
    item = TrainItem("v/0", (), (), (1,), "Track the red square.", "instruction")
    return [Clip(item, (0, 1, 2), images[:3], masks[:3]) for _ in range(n)]


def test_brain_shapes_and_token_positions(model) -> None:
    brain = model.brain
    # Image tokens derive from the vision config: (32 / 8)^2, CLS dropped.
    assert brain.num_image_tokens == 16
    image = np.zeros((30, 50, 3), dtype=np.uint8)
    pixels = brain.preprocess(image)
    assert pixels.shape == (3, 32, 32)
    batch = brain.collate(["short?", "a much longer question about the target?"], torch.stack([pixels, pixels]))
    assert (batch.input_ids == brain.image_token_id).sum(1).tolist() == [16, 16]
    assert (batch.input_ids == brain.tk_id).sum().item() == 2
    out = brain(batch.to(model.device))
    assert out.q_r.shape == out.q_p.shape == (2, 32)
    assert torch.isfinite(out.text_loss)
    # a text-only answer (VQA) has no queries; half of the pair is an error
    text_only = brain(brain.collate(["q"], pixels[None], [" Sure."]).to(model.device))
    assert text_only.rows.tolist() == [] and text_only.q_r.shape == (0, 32) and torch.isfinite(text_only.text_loss)
    half = brain.collate(["q"], pixels[None], [" Sure. <TK>"])
    with pytest.raises(ValueError, match="<TK>"):
        brain(half.to(model.device))


def test_perception_shapes(model) -> None:
    perception = model.perception
    image = np.zeros((40, 56, 3), dtype=np.uint8)
    pixels, geometry = perception.encoder.preprocess(image)
    assert pixels.shape == (3, 128, 128) and (geometry.resized_height, geometry.resized_width) == (91, 128)
    features = perception.encode(pixels[None])
    assert features.shape == (1, 32, 8, 8)
    q = torch.randn(5, 32)
    decoded = perception.decode(features, q, q, q)  # one frame, five prompts
    assert decoded.low_res.shape == (5, 1, 32, 32) and decoded.score.shape == (5,)
    assert decoded.next_query.shape == (5, 32)
    assert perception.masks(decoded.low_res, geometry).shape == (5, 40, 56)
    assert perception.decode(features, q, q, None).next_query is None


def test_gradients_reach_every_trained_part_and_only_those(model) -> None:
    model.zero_grad(set_to_none=True)
    losses = model(_clips())
    assert set(losses) >= {"loss", "text", "bce", "dice", "purport", "iou"}
    losses["loss"].backward()
    groups = {
        "lora_B": lambda n: "lora_B" in n,
        "token rows": lambda n: n.endswith(".rows"),
        "projections": lambda n: n.startswith(("brain.project_tk", "brain.project_po")),
        "decoder": lambda n: n.startswith("perception.decoder."),
        "propagation": lambda n: n.startswith("perception.propagation."),
    }
    for group, test in groups.items():
        grads = [p.grad for n, p in model.named_parameters() if test(n) and p.grad is not None]
        assert grads, group
        assert sum(float(g.abs().sum()) for g in grads) > 0, group
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            assert parameter.grad is None, name
    model.zero_grad(set_to_none=True)


def test_only_intended_parameters_are_trainable(model) -> None:
    trainable = [n for n, _ in model.trainable_named_parameters()]
    allowed = ("perception.decoder.", "perception.propagation.", "brain.project_tk.", "brain.project_po.")
    for name in trainable:
        ok = name.startswith(allowed) or name.endswith(".rows") or (".lora_" in name and ".language_model." in name)
        assert ok, name
    assert not any("vision_tower" in n or "image_encoder" in n or "prompt_encoder" in n for n in trainable)
    lora = [n for n in trainable if ".lora_" in n]
    # q_proj and v_proj of each of the 2 layers, A and B each
    assert len(lora) == 2 * 2 * 2 and all(("q_proj" in n) or ("v_proj" in n) for n in lora)
    assert sum(n.endswith(".rows") for n in trainable) == 2
    # the frozen vocabulary matrices and SAM's encoder
    frozen = dict(model.named_parameters())
    assert not frozen["brain.llava.model.language_model.embed_tokens.base.weight"].requires_grad
    assert not any(p.requires_grad for p in model.perception.encoder.parameters())


def test_losses_known_values() -> None:
    target = torch.zeros(1, 4, 4)
    target[0, :2] = 1
    valid = torch.ones(1, 4, 4)
    perfect = (target * 2 - 1) * 50
    assert bce_loss(perfect, target, valid).item() < 1e-6
    assert dice_loss(perfect, target, valid).item() < 1e-6
    assert mask_iou(perfect, target, valid).item() == 1.0
    wrong = -perfect
    assert mask_iou(wrong, target, valid).item() == 0.0
    # void pixels do not count: a wrong prediction there changes nothing
    valid2 = valid.clone()
    valid2[0, 0, 0] = 0
    flipped = perfect.clone()
    flipped[0, 0, 0] = -50
    assert mask_iou(flipped, target, valid2).item() == 1.0
    both_empty = mask_iou(-torch.ones(1, 4, 4), torch.zeros(1, 4, 4), valid)
    assert both_empty.item() == 1.0
    scores = torch.tensor([0.25], requires_grad=True)
    out = joint_loss(torch.tensor(1.0), perfect, target, valid, scores)
    # L = text 1 + (2 bce + 0.5 dice ~ 0) + (0.25 - 1)^2
    assert out["loss"].item() == pytest.approx(1.0 + 0.75**2, abs=1e-4)
    out["loss"].backward()
    assert scores.grad.item() == pytest.approx(2 * (0.25 - 1.0))


def _predict(model, seed: int = 0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
    with torch.inference_mode():
        thought = model.brain.reason(image, ["Track the red square."], generate=False)
        pixels, geometry = model.perception.encoder.preprocess(image)
        decoded = model.perception.decode(model.perception.encode(pixels[None]), thought.q_r, thought.q_p, thought.q_r)
        return model.perception.masks(decoded.low_res, geometry).numpy(), decoded.score.numpy()


def test_checkpoint_round_trip_is_bit_identical(tmp_path: Path) -> None:
    model = build_model("tiny", seed=0)
    with torch.no_grad():  # make the trained parts differ from a fresh build
        for _, parameter in model.trainable_named_parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    before = _predict(model)
    path = save_checkpoint(model, tmp_path / "ck.safetensors")
    fresh = build_model("tiny", seed=0)
    assert not np.array_equal(_predict(fresh)[0], before[0])
    loaded = build_model("tiny", seed=0, checkpoint=path)
    after = _predict(loaded)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    # Only trained tensors are stored.
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
    assert keys == {n for n, _ in model.trainable_named_parameters()}


def test_checkpoint_errors(tmp_path: Path) -> None:
    model = build_model("tiny", seed=0)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(model, tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_checkpoint(model, tmp_path / "junk.safetensors")
    from safetensors.torch import save_file

    good = save_checkpoint(model, tmp_path / "good.safetensors")
    from safetensors.torch import load_file

    tensors = load_file(str(good))
    fingerprint = dict(model.preset.fingerprint(), preset="7b", llm_hidden=4096)
    save_file(tensors, str(tmp_path / "other.safetensors"),
              metadata={"format": "trackgpt-checkpoint", "version": "1", "preset": "7b",
                        "fingerprint": json.dumps(fingerprint)})
    with pytest.raises(CheckpointError, match="trained for preset '7b', not 'tiny'"):
        load_checkpoint(model, tmp_path / "other.safetensors")
    tensors.pop(next(iter(tensors)))
    save_file(tensors, str(tmp_path / "short.safetensors"),
              metadata={"format": "trackgpt-checkpoint", "version": "1", "preset": "tiny",
                        "fingerprint": json.dumps(model.preset.fingerprint(), sort_keys=True)})
    with pytest.raises(CheckpointError, match="1 missing"):
        load_checkpoint(model, tmp_path / "short.safetensors")


def test_loads_llava_and_sam_from_local_paths(tmp_path: Path) -> None:
    """The real loading code (from_pretrained folder, SAM .pth) on tiny weights."""
    source = build_model("tiny", seed=3)
    llava_dir = tmp_path / "llava"
    # Save a plain LLaVA as a user would have it: build one without TrackGPT's additions.
    from transformers import LlavaForConditionalGeneration

    from trackgpt.presets import get_preset
    from trackgpt.tokenizer import build_byte_tokenizer

    torch.manual_seed(3)
    plain = LlavaForConditionalGeneration(get_preset("tiny").llava.to_config())
    plain.save_pretrained(str(llava_dir))
    build_byte_tokenizer(get_preset("tiny").llava.image_token_index).save_pretrained(str(llava_dir))
    sam_state = {f"image_encoder.{k}": v for k, v in source.perception.encoder.image_encoder.state_dict().items()}
    sam_state.update({f"prompt_encoder.{k}": v for k, v in source.perception.prompt_encoder.state_dict().items()})
    sam_state.update({f"mask_decoder.{k}": v for k, v in source.perception.decoder.state_dict().items()})
    torch.save(sam_state, tmp_path / "sam.pth")

    loaded = build_model("tiny", llava=llava_dir, sam=tmp_path / "sam.pth", seed=99)
    for name, value in source.perception.decoder.state_dict().items():
        assert torch.equal(loaded.perception.decoder.state_dict()[name], value), name
    q_weight = "model.language_model.layers.0.self_attn.q_proj.base_layer.weight"
    assert torch.equal(dict(loaded.brain.llava.named_parameters())[q_weight],
                       plain.state_dict()["model.language_model.layers.0.self_attn.q_proj.weight"])
    assert loaded.brain.tk_id == len(loaded.brain.tokenizer) - 2

    with pytest.raises(CheckpointError, match="does not match preset '7b'.*--preset tiny"):
        build_model("7b", llava=llava_dir, sam=tmp_path / "sam.pth")
    with pytest.raises(CheckpointError, match="no LLaVA checkpoint"):
        build_model("tiny", llava=tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="file not found"):
        build_model("tiny", sam=tmp_path / "nowhere.pth")
    sam_state["mask_decoder.iou_token.weight"] = torch.zeros(1, 7)
    torch.save(sam_state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="does not match preset 'tiny'"):
        build_model("tiny", sam=tmp_path / "bad.pth")


def test_faithful_switches_shared_phi_and_llava_v1_preprocessing(tmp_path: Path) -> None:
    """--shared-projection: one MLP for <TK> and <PO> (Eq. 1's phi), and its
    checkpoint says so; the v1 presets centre-crop at 224 px as LLaVA v1 does."""
    from trackgpt.presets import get_preset

    shared = build_model(get_preset("tiny", shared_projection=True), seed=0)
    assert shared.brain.project_po is shared.brain.project_tk
    names = [n for n, _ in shared.trainable_named_parameters()]
    assert not any(n.startswith("brain.project_po.") for n in names) and any(n.startswith("brain.project_tk.") for n in names)
    path = save_checkpoint(shared, tmp_path / "shared.safetensors")
    loaded = build_model("tiny", checkpoint=path)  # the checkpoint's fingerprint selects the shared phi
    assert loaded.brain.project_po is loaded.brain.project_tk
    with pytest.raises(CheckpointError, match="architecture differs"):
        load_checkpoint(build_model("tiny", seed=0), path)

    v1 = get_preset("7b-v1").llava
    assert (v1.image_size, v1.patch_size, v1.image_aspect, v1.num_image_tokens) == (224, 14, "crop", 256)
    brain = build_model(get_preset("tiny", llava=replace(get_preset("tiny").llava, image_aspect="crop")), seed=0).brain
    image = np.zeros((20, 60, 3), np.uint8)
    image[:, 20:40] = 255  # the centre third is white: a 20 x 20 centre crop is all white
    crop = brain.preprocess(image)
    white = (1.0 - brain.image_mean) / brain.image_std
    # (the outermost columns blend with the black beyond the crop when resampled)
    torch.testing.assert_close(crop[:, :, 1:-1], white.expand(3, 32, 30), atol=1e-3, rtol=0)
    padded = build_model("tiny", seed=0).brain.preprocess(image)  # 1.5's pad keeps the black sides
    black = (0.0 - brain.image_mean) / brain.image_std
    torch.testing.assert_close(padded[:, 16, 2], black[:, 0, 0], atol=1e-3, rtol=0)
