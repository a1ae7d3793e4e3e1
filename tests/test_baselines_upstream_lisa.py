"""LISA* against LISA's own code (dvlab-research/LISA, imported from
$INSTRACK_UPSTREAM/dvlab-research/LISA at test time; see tests/upstream.py).

LISA's `LISAForCausalLM` is built at tiny size with random weights (a tiny CLIP
tower of 128 px / 8 px patches = 256 tokens, so LISA's hard-coded 255 holds; a
tiny SAM from LISA's own `model/segment_anything` classes), LoRA-merged and saved
as LISA's `merge_lora_weights_and_save_hf_model.py` saves it (vision tower
dropped; transformers 4.31's persistent rotary `inv_freq` buffers present), then
converted and loaded strictly by `instrack_baselines.lisa`. The [SEG] embedding
that reaches SAM and the final mask logits must equal LISA's inference path
(`model_forward(inference=True)`, the path of its validation) to 1e-6, in float64.
"""

from __future__ import annotations

import json
import sys
import types
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from upstream import checkout

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch", "segment_anything", "peft")

import torch  # noqa: E402

pytestmark = pytest.mark.upstream

REPO = "dvlab-research/LISA"
TEXTS = ["Which animal is about to jump?", "the thing that will be eaten first"]
#: LLaMA-2's rms_norm_eps (LISA-13B-llama2); LlamaConfig's default is 1e-6, so a
#: converter that does not copy it computes something else
RMS_NORM_EPS = 1e-5


@contextmanager
def lisa_imports(root: Path):
    """Import LISA's `model` package with the smallest shims transformers 5 needs.
    Its top-level names (`model`, `utils`) are removed from sys.modules afterwards."""
    import transformers

    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in ("model", "utils", "chat")}
    register_config, register_model = transformers.AutoConfig.register, transformers.AutoModelForCausalLM.register
    # shim: LISA registers its own "llava" config/model type; transformers 5 already has one
    transformers.AutoConfig.register = staticmethod(lambda *a, **k: None)
    transformers.AutoModelForCausalLM.register = classmethod(lambda cls, *a, **k: None)
    # shim: LISA imports its MPT variant (unused here), whose imports need transformers 4.31
    mpt = types.ModuleType("model.llava.model.language_model.llava_mpt")
    mpt.LlavaMPTConfig = mpt.LlavaMPTForCausalLM = None
    sys.modules[mpt.__name__] = mpt
    sys.path.insert(0, str(root))
    try:
        import model.LISA as lisa_module  # noqa: F401  (LISA's own package)
        from model.llava import conversation as conversation_lib  # noqa: F401
        from model.llava.mm_utils import tokenizer_image_token  # noqa: F401
        import chat  # noqa: F401  (LISA's chat.py: its image preprocessing)

        yield sys.modules
    finally:
        transformers.AutoConfig.register, transformers.AutoModelForCausalLM.register = register_config, register_model
        sys.path.remove(str(root))
        for key in [k for k in sys.modules if k.split(".")[0] in ("model", "utils", "chat")]:
            del sys.modules[key]
        sys.modules.update(saved)


@contextmanager
def cuda_on_cpu():
    """shim: LISA's forward calls `.cuda()` on the masks it builds; on CPU it is the identity."""
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


def tiny_sam_builder(modules, spec):
    """LISA's `build_sam_vit_h`, at the tiny preset's SAM size, from LISA's own classes."""
    sam = modules["model.segment_anything.modeling"]

    def build(checkpoint=None):
        return sam.Sam(
            image_encoder=sam.ImageEncoderViT(
                depth=spec.encoder_depth, embed_dim=spec.encoder_embed_dim, img_size=spec.image_size, mlp_ratio=4,
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=spec.encoder_num_heads,
                patch_size=spec.patch_size, qkv_bias=True, use_rel_pos=True,
                global_attn_indexes=spec.encoder_global_attn_indexes, window_size=spec.window_size,
                out_chans=spec.prompt_embed_dim),
            prompt_encoder=sam.PromptEncoder(
                embed_dim=spec.prompt_embed_dim, image_embedding_size=(spec.embedding_size,) * 2,
                input_image_size=(spec.image_size,) * 2, mask_in_chans=spec.mask_in_chans),
            mask_decoder=sam.MaskDecoder(
                num_multimask_outputs=3, transformer_dim=spec.prompt_embed_dim, iou_head_depth=3,
                iou_head_hidden_dim=spec.iou_head_hidden_dim,
                transformer=sam.TwoWayTransformer(depth=spec.decoder_depth, embedding_dim=spec.prompt_embed_dim,
                                                  mlp_dim=spec.decoder_mlp_dim, num_heads=spec.decoder_heads)),
            pixel_mean=list(spec.pixel_mean), pixel_std=list(spec.pixel_std))

    return build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """LISA's model (float64, eval), its folder as LISA's merge script writes it, a CLIP folder,
    LISA's modules, and the tokenizer."""
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file, save_file
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    from instrack_baselines.lisa.presets import IM_END, IM_START, PRESETS, SEG
    from trackgpt.tokenizer import build_byte_tokenizer

    root = checkout(REPO)
    preset = PRESETS["tiny"]
    work = tmp_path_factory.mktemp("lisa")
    clip_dir, lisa_dir = work / "clip-vit-tiny", work / "LISA-tiny"
    torch.manual_seed(0)
    # a tiny openai/clip-vit-large-patch14: 128 px, 8 px patches -> 256 patch tokens (LISA assumes 256)
    clip = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=2, image_size=128, patch_size=8, projection_dim=32))
    clip.save_pretrained(clip_dir)
    CLIPImageProcessor(size={"shortest_edge": 128}, crop_size={"height": 128, "width": 128}).save_pretrained(clip_dir)

    # the tokenizer as LISA's train/merge scripts extend it
    tokenizer = build_byte_tokenizer(preset.llava.image_token_index)
    tokenizer.add_tokens(SEG)
    seg_token_idx = tokenizer(SEG, add_special_tokens=False).input_ids[0]
    tokenizer.add_tokens([IM_START, IM_END], special_tokens=True)

    with lisa_imports(root) as modules, cuda_on_cpu():
        lisa = modules["model.LISA"]
        lisa.build_sam_vit_h = tiny_sam_builder(modules, preset.sam)  # shim: ViT-H is 2.5 GB of random weights
        LlavaConfig = modules["model.llava.model.language_model.llava_llama"].LlavaConfig
        spec = preset.llava
        config = LlavaConfig(hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
                             num_hidden_layers=spec.num_hidden_layers, num_attention_heads=spec.num_attention_heads,
                             num_key_value_heads=spec.num_key_value_heads, vocab_size=spec.vocab_size,
                             max_position_embeddings=spec.max_position_embeddings, rms_norm_eps=RMS_NORM_EPS)
        # what LLaVA-v1's config.json carries (LISA builds on it)
        config.mm_vision_tower = str(clip_dir)
        config.mm_hidden_size = clip.config.hidden_size
        config.mm_vision_select_layer = -2
        config.mm_use_im_start_end = True
        model = lisa.LISAForCausalLM(config, train_mask_decoder=True, out_dim=preset.sam.prompt_embed_dim,
                                     seg_token_idx=seg_token_idx, vision_tower=str(clip_dir), use_mm_start_end=True)
        # merge_lora_weights_and_save_hf_model.py, step by step
        model.get_model().initialize_vision_modules(model.get_model().config)
        model.get_model().initialize_lisa_modules(model.get_model().config)
        targets = sorted(name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)
                         and not any(x in name for x in ("visual_model", "vision_tower", "mm_projector",
                                                         "text_hidden_fcs"))
                         and any(x in name for x in ("q_proj", "v_proj")))
        assert targets, "LoRA found no q_proj/v_proj to adapt"
        # init_lora_weights=False: B is random, so merging changes the weights (PEFT's default B = 0 would not)
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, lora_dropout=0.05,
                                                 bias="none", task_type="CAUSAL_LM", init_lora_weights=False))
        model.resize_token_embeddings(len(tokenizer))
        model = model.merge_and_unload()
        state = {k: v for k, v in model.state_dict().items() if "vision_tower" not in k}
        model.save_pretrained(lisa_dir, state_dict=state)
        tokenizer.save_pretrained(lisa_dir)
        # transformers 4.31 (LISA's pin) keeps each layer's rotary inv_freq as a persistent
        # buffer, so LISA's released files carry it; transformers 5 does not save it
        shards = sorted(lisa_dir.glob("*.safetensors"))
        assert len(shards) == 1
        saved = load_file(str(shards[0]))
        head = spec.hidden_size // spec.num_attention_heads
        inv_freq = 1.0 / (10000 ** (torch.arange(0, head, 2).float() / head))
        for i in range(spec.num_hidden_layers):
            saved[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = inv_freq.clone()
        save_file(saved, str(shards[0]), metadata={"format": "pt"})
        model = model.double().eval()
        # shim: transformers 5 records `output_hidden_states` with hooks it installs on the
        # LlamaModel's submodules at its first forward; LISA nests CLIP inside that LlamaModel,
        # so from the second call on CLIP's hidden_states[-2] is another tensor. Keeping CLIP
        # out of the module tree gives what transformers 4.31 (LISA's pin) computes every time.
        tower = model.get_model().get_vision_tower()
        tower.__dict__["vision_tower"] = tower._modules.pop("vision_tower")
        yield {"model": model, "lisa_dir": lisa_dir, "clip_dir": clip_dir, "modules": modules,
               "tokenizer": tokenizer, "seg_token_idx": seg_token_idx, "saved_keys": set(saved)}


def test_lisa_files_are_as_released(built) -> None:
    """The saved folder has what LISA's released ones have (and what once failed to load)."""
    keys = built["saved_keys"]
    assert not any("vision_tower" in k for k in keys)
    assert any(k.endswith("rotary_emb.inv_freq") for k in keys)
    assert any(k.startswith("model.visual_model.mask_decoder.") for k in keys)
    assert json.loads((built["lisa_dir"] / "config.json").read_text())["rms_norm_eps"] == RMS_NORM_EPS


def test_seg_embedding_and_masks_equal_lisa(built) -> None:
    from instrack_baselines.lisa.model import build_lisa
    from instrack_baselines.lisa.presets import ANSWER, QUESTIONS

    modules, tokenizer = built["modules"], built["tokenizer"]
    lisa_model = built["model"]
    # ours: LISA's folder + the CLIP folder, converted, loaded strictly
    ours = build_lisa("tiny", lisa=built["lisa_dir"], clip=built["clip_dir"]).double().eval()
    assert ours.llava.config.text_config.rms_norm_eps == RMS_NORM_EPS
    assert ours.seg_id == built["seg_token_idx"]
    # segment-anything builds its positional-encoding grid in float32 whatever the buffer's
    # dtype: both sides keep that buffer in float32 so the same encoding enters both decoders
    ours.prompt_encoder.pe_layer.float()
    lisa_model.model.visual_model.prompt_encoder.pe_layer.float()

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(96, 160, 3), dtype=np.uint8)
    with torch.no_grad():
        seg, _ = ours.seg_embeddings(image, TEXTS, generate=False)
        features, geometry = ours.encode(image)
        our_masks = ours.segment(features, seg, geometry)

    conversation_lib = modules["model.llava.conversation"]
    tokenizer_image_token = modules["model.llava.mm_utils"].tokenizer_image_token
    utils = modules["utils.utils"]
    # LISA's own preprocessing (chat.py): CLIPImageProcessor from the CLIP folder (in
    # transformers 4.31, LISA's pin, that class ran on PIL: CLIPImageProcessorPil in 5),
    # and its ResizeLongestSide + preprocess for SAM
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    images_clip = CLIPImageProcessorPil.from_pretrained(str(built["clip_dir"])).preprocess(
        image, return_tensors="pt")["pixel_values"]
    chat = modules["chat"]
    resized = chat.ResizeLongestSide(ours.preset.sam.image_size).apply_image(image)
    sam_pixels = chat.preprocess(torch.from_numpy(resized).permute(2, 0, 1).contiguous(),
                                 img_size=ours.preset.sam.image_size)
    assert resized.shape[:2] == (geometry.resized_height, geometry.resized_width)
    reaching_sam = []
    prompt_encoder = lisa_model.model.visual_model.prompt_encoder
    original_forward = prompt_encoder.forward

    def spy(*args, **kwargs):
        reaching_sam.append(kwargs["text_embeds"])
        return original_forward(*args, **kwargs)

    prompt_encoder.forward = spy
    try:
        for k, text in enumerate(TEXTS):
            # LISA's prompt: llava_v1 conversation, <im_start><image><im_end>, the answer teacher-forced
            conv = conversation_lib.conv_templates["llava_v1"].copy()
            conv.messages = []
            question = QUESTIONS["instruction"].format(text=text)
            prompt = utils.DEFAULT_IMAGE_TOKEN + "\n" + question
            prompt = prompt.replace(utils.DEFAULT_IMAGE_TOKEN, utils.DEFAULT_IM_START_TOKEN + utils.DEFAULT_IMAGE_TOKEN
                                    + utils.DEFAULT_IM_END_TOKEN)
            conv.append_message(conv.roles[0], prompt)
            conv.append_message(conv.roles[1], ANSWER)
            input_ids = tokenizer_image_token(conv.get_prompt(), tokenizer, return_tensors="pt")[None]
            # our prompt is LISA's, with the one <image> id expanded to the patch tokens
            ids = input_ids[0].tolist()
            expanded = []
            for token in ids:
                expanded.extend([ours.image_token_id] * ours.num_image_tokens if token == utils.IMAGE_TOKEN_INDEX
                                else [token])
            ours_ids = ours._prompt_ids(question) + tokenizer(" " + ANSWER, add_special_tokens=False).input_ids
            assert expanded[: len(ours_ids)] == ours_ids
            with cuda_on_cpu(), torch.no_grad():
                out = lisa_model.model_forward(
                    images=sam_pixels[None].double(), images_clip=images_clip.double(), input_ids=input_ids,
                    labels=None, attention_masks=torch.ones_like(input_ids), offset=torch.tensor([0, 1]),
                    masks_list=[torch.zeros(1, *image.shape[:2])], label_list=[torch.zeros(image.shape[:2])],
                    resize_list=[(geometry.resized_height, geometry.resized_width)], inference=True)
            theirs_seg = reaching_sam[-1][:, 0]
            assert theirs_seg.shape == (1, seg.shape[1])  # one [SEG] in the answer
            torch.testing.assert_close(seg[k: k + 1], theirs_seg, rtol=0, atol=1e-6, msg=lambda m: f"[SEG] of {text!r}: {m}")
            theirs_mask = out["pred_masks"][0]
            assert theirs_mask.shape == (1, *image.shape[:2])
            torch.testing.assert_close(our_masks[k: k + 1].double(), theirs_mask.double(), rtol=0, atol=1e-6)
    finally:
        prompt_encoder.forward = original_forward
