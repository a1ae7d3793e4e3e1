"""LISA*: the [SEG] embedding of the first frame is reused for every frame (the
LLM runs once per video), and LISA's released weight names convert to the
transformers LLaVA layout (on a tiny LISA-shaped state dict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "transformers", "peft")
import torch  # noqa: E402

from torch import nn  # noqa: E402

from instrack.cli.main import main  # noqa: E402
from instrack.evaluation import evaluate  # noqa: E402
from instrack.dataset.layout import read_split  # noqa: E402
from instrack.tracking import track_video  # noqa: E402
from instrack.tracking.synthetic import write_synthetic_split  # noqa: E402
from instrack_baselines.lisa.convert import LisaCheckpointError, convert_lisa_state_dict  # noqa: E402
from instrack_baselines.lisa.model import LisaStar, build_lisa, load_converted  # noqa: E402


@pytest.fixture(scope="module")
def model() -> LisaStar:
    return build_lisa("tiny", seed=0)


def test_seg_embedding_of_frame_zero_is_reused(model: LisaStar, tmp_path: Path) -> None:
    from instrack_baselines.lisa.tracker import LisaStarTracker

    data = write_synthetic_split(tmp_path / "d", "test", videos=2, frames=4, size=(24, 32), instructions=3)
    calls, used = [], []
    real_seg, real_segment = model.seg_embeddings, model.segment

    def spy_seg(image, texts, **kw):
        out = real_seg(image, texts, **kw)
        calls.append((image.copy(), list(texts), out[0]))
        return out

    def spy_segment(features, seg, geometry):
        used.append(seg)
        return real_segment(features, seg, geometry)

    model.seg_embeddings, model.segment = spy_seg, spy_segment
    try:
        tracker = LisaStarTracker(model)
        for video in read_split(data, "test").videos.values():
            calls.clear(), used.clear()
            results = track_video(tracker, video, list(video.units()))
            assert len(calls) == 1  # one LLM call per video, for all its instructions
            image, texts, seg = calls[0]
            from instrack.tracking.base import read_frame

            assert (image == read_frame(video, video.frames[0])).all()  # on the first frame
            assert texts == [i.text for i in video.instructions]
            assert len(used) == len(video.frames) and all(s is seg for s in used)  # reused as is
            for result in results.values():
                assert len(result.masks) == len(video.frames) and result.reasoned_frames == [0]
    finally:
        del model.seg_embeddings, model.segment


def test_lisa_through_instrack_track(tmp_path: Path) -> None:
    data = write_synthetic_split(tmp_path / "d", "test", videos=1, frames=3, size=(24, 32), instructions=2)
    assert main(["track", "--tracker", "lisa", "--preset", "tiny", "--data", str(data), "--out", str(tmp_path / "p"),
                 "--no-progress"]) == 0
    assert 0.0 <= evaluate(data, tmp_path / "p", "test", workers=1)["metrics"]["J&F-Mean"] <= 1.0
    assert main(["track", "--tracker", "lisa", "--preset", "7b", "--data", str(data), "--out", str(tmp_path / "q")]) == 2


def _lisa_shaped_state(model: LisaStar) -> tuple[dict, dict, dict]:
    """Independent modules named as LISA's released files and CLIP's name them."""
    from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer
    from transformers import CLIPVisionModel, LlamaForCausalLM

    torch.manual_seed(1)
    config = model.llava.config
    llama = LlamaForCausalLM(config.text_config)
    llama.resize_token_embeddings(model.llava.get_input_embeddings().weight.shape[0] - 1)  # no <image> row in LISA
    clip = CLIPVisionModel(config.vision_config)
    hidden, vision = config.text_config.hidden_size, config.vision_config.hidden_size
    projector = nn.Linear(vision, hidden)
    sam = model.preset.sam
    from trackgpt.perception.encoder import build_image_encoder

    parts = {"image_encoder": build_image_encoder(sam),
             "prompt_encoder": PromptEncoder(embed_dim=sam.prompt_embed_dim,
                                             image_embedding_size=(sam.embedding_size,) * 2,
                                             input_image_size=(sam.image_size,) * 2, mask_in_chans=sam.mask_in_chans),
             "mask_decoder": MaskDecoder(num_multimask_outputs=3, transformer_dim=sam.prompt_embed_dim,
                                         transformer=TwoWayTransformer(depth=2, embedding_dim=sam.prompt_embed_dim,
                                                                       mlp_dim=sam.decoder_mlp_dim, num_heads=2),
                                         iou_head_hidden_dim=sam.iou_head_hidden_dim)}
    fcs = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, sam.prompt_embed_dim), nn.Dropout(0))
    lisa = {k: v for k, v in llama.state_dict().items()}  # model.embed_tokens..., model.layers..., lm_head
    lisa.update({f"model.mm_projector.{k}": v for k, v in projector.state_dict().items()})
    for name, part in parts.items():
        lisa.update({f"model.visual_model.{name}.{k}": v for k, v in part.state_dict().items()})
    lisa.update({f"model.text_hidden_fcs.0.{k}": v for k, v in fcs.state_dict().items()})
    clip_files = {f"vision_model.{k}": v for k, v in clip.state_dict().items()}
    clip_files["text_model.embeddings.token_embedding.weight"] = torch.zeros(3, 4)  # CLIPModel files carry text too
    clip_files["logit_scale"] = torch.tensor(1.0)
    modules = {"llama": llama, "clip": clip, "projector": projector, "fcs": fcs, **parts}
    return lisa, clip_files, modules


def test_weight_names_convert_to_the_transformers_layout(model: LisaStar) -> None:
    lisa, clip_files, m = _lisa_shaped_state(model)
    state = convert_lisa_state_dict(lisa, clip_files)
    assert "llava.model.language_model.layers.0.self_attn.q_proj.weight" in state
    assert "llava.model.vision_tower.encoder.layers.0.mlp.fc1.weight" in state
    assert not any("text_model" in k or "logit_scale" in k for k in state)
    target = build_lisa("tiny", seed=5)
    load_converted(target, state, "tiny LISA")
    with torch.no_grad():
        # the language model computes what LISA's LLaMA computes
        ids = torch.tensor([[1, 5, 9, 200]])
        ours = target.llava.model.language_model(input_ids=ids).last_hidden_state
        theirs = m["llama"].model(input_ids=ids).last_hidden_state
        torch.testing.assert_close(ours, theirs)
        torch.testing.assert_close(target.llava.lm_head.weight[:-1], m["llama"].lm_head.weight)
        # LISA's single Linear projector == transformers' two-layer projector with an identity second layer
        x = torch.randn(2, 7, m["clip"].config.hidden_size)
        torch.testing.assert_close(target.llava.model.multi_modal_projector(x), m["projector"](x))
        # CLIP tower, SAM parts and the [SEG] projection, weight for weight
        img = torch.randn(1, 3, m["clip"].config.image_size, m["clip"].config.image_size)
        torch.testing.assert_close(target.llava.model.vision_tower(img).last_hidden_state,
                                   m["clip"](img).last_hidden_state)
        h = torch.randn(3, target.llava.config.text_config.hidden_size)
        torch.testing.assert_close(target.seg_projection(h), m["fcs"](h))
        for name in ("prompt_encoder", "mask_decoder"):
            for k, v in m[name].state_dict().items():
                torch.testing.assert_close(getattr(target, name).state_dict()[k], v)
        for k, v in m["image_encoder"].state_dict().items():
            torch.testing.assert_close(target.encoder.image_encoder.state_dict()[k], v)


def test_unknown_layouts_are_refused(model: LisaStar) -> None:
    with pytest.raises(LisaCheckpointError, match="unknown layout.*model.something_new"):
        convert_lisa_state_dict({"model.something_new.weight": torch.zeros(1)}, where="x")
    with pytest.raises(LisaCheckpointError, match="missing"):
        load_converted(build_lisa("tiny"), {"seg_projection.0.weight": torch.zeros(64, 64)}, "x")


def test_clip_input_is_clip_image_processor_on_pil(model: LisaStar) -> None:
    """LISA's CLIP input is CLIPImageProcessor as transformers 4.31 ran it (PIL);
    transformers 5 keeps that as CLIPImageProcessorPil: the same pixels."""
    import numpy as np
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    spec = model.preset.llava
    processor = CLIPImageProcessorPil(size={"shortest_edge": model.clip_size},
                                      crop_size={"height": model.clip_size, "width": model.clip_size},
                                      image_mean=list(spec.image_mean), image_std=list(spec.image_std))
    rng = np.random.default_rng(3)
    for shape in [(24, 40, 3), (50, 30, 3), (32, 32, 3)]:
        image = rng.integers(0, 256, size=shape, dtype=np.uint8)
        expected = processor.preprocess(image, return_tensors="pt")["pixel_values"][0]
        torch.testing.assert_close(model.clip_preprocess(image), expected, rtol=0, atol=1e-6)


def test_rotary_buffers_must_match_the_config() -> None:
    from instrack_baselines.lisa.convert import check_rotary

    config = {"hidden_size": 64, "num_attention_heads": 4, "rope_theta": 10000.0}
    good = 1.0 / (10000 ** (torch.arange(0, 16, 2).float() / 16))
    check_rotary({"model.layers.0.self_attn.rotary_emb.inv_freq": good}, config, "x")
    with pytest.raises(LisaCheckpointError, match="rope_theta=500000"):
        check_rotary({"model.layers.0.self_attn.rotary_emb.inv_freq": good}, {**config, "rope_theta": 500000.0}, "x")
