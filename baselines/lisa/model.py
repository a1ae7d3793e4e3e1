"""LISA (Lai et al., 2023): LLaVA that answers with a [SEG] token; the last-layer
hidden state of the token before it (the one that predicts [SEG]), through a
2-layer projection, prompts SAM's UNMODIFIED mask decoder.

Built from the same parts as TrackGPT (no copies): transformers' LLaVA, SAM's
frozen encoder with its preprocessing and geometry (trackgpt.perception.encoder),
the mask upscaling (trackgpt.perception.decoder), the byte tokenizer of the tiny
preset (trackgpt.tokenizer) and device/dtype resolution (trackgpt.model); SAM's
prompt encoder and mask decoder are segment-anything's own classes, unchanged.

The expensive step and the cheap one are apart: `seg_embeddings(image, texts)`
runs the LLM (once per video for LISA*), `segment(features, seg, geometry)` runs
SAM's decoder (every frame).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from instrack_baselines.lisa.presets import ANSWER, IM_END, IM_START, QUESTIONS, SEG, SYSTEM, LisaPreset, get_preset
from trackgpt.perception.decoder import upscale_logits
from trackgpt.perception.encoder import FrameEncoder, Geometry, build_image_encoder


class LisaStar(nn.Module):
    def __init__(self, llava, tokenizer, preset: LisaPreset):
        """
        Arguments:
          llava: a transformers LlavaForConditionalGeneration
          tokenizer: its tokenizer; [SEG], <im_start>, <im_end> are added when absent
          preset: the LISA* architecture (SAM spec, generation length)
        """
        super().__init__()
        from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

        self.preset = preset
        self.tokenizer = tokenizer
        tokenizer.add_tokens([SEG, IM_START, IM_END], special_tokens=True)
        self.seg_id = tokenizer.convert_tokens_to_ids(SEG)
        config = llava.config
        self.image_token_id = int(config.image_token_index)
        needed = max(len(tokenizer), self.image_token_id + 1)
        if llava.get_input_embeddings().weight.shape[0] < needed:
            llava.resize_token_embeddings(needed, mean_resizing=False)
        vision = config.vision_config
        self.num_image_tokens = (vision.image_size // vision.patch_size) ** 2
        self.clip_size = int(vision.image_size)
        self.llava = llava
        hidden, sam = int(config.text_config.hidden_size), preset.sam
        # LISA's text_hidden_fcs[0]: Linear, ReLU, Linear, Dropout(0)
        self.seg_projection = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
                                            nn.Linear(hidden, sam.prompt_embed_dim), nn.Dropout(0.0))
        self.encoder = FrameEncoder(build_image_encoder(sam), sam)
        self.prompt_encoder = PromptEncoder(embed_dim=sam.prompt_embed_dim,
                                            image_embedding_size=(sam.embedding_size, sam.embedding_size),
                                            input_image_size=(sam.image_size, sam.image_size),
                                            mask_in_chans=sam.mask_in_chans)
        self.mask_decoder = MaskDecoder(num_multimask_outputs=3, transformer_dim=sam.prompt_embed_dim,
                                        transformer=TwoWayTransformer(depth=sam.decoder_depth,
                                                                      embedding_dim=sam.prompt_embed_dim,
                                                                      mlp_dim=sam.decoder_mlp_dim,
                                                                      num_heads=sam.decoder_heads),
                                        iou_head_depth=3, iou_head_hidden_dim=sam.iou_head_hidden_dim)
        spec = preset.llava
        self.register_buffer("clip_mean", torch.tensor(spec.image_mean).view(3, 1, 1), persistent=False)
        self.register_buffer("clip_std", torch.tensor(spec.image_std).view(3, 1, 1), persistent=False)
        #: LLM calls so far (LISA* makes one per video)
        self.brain_calls = 0

    @property
    def device(self) -> torch.device:
        return self.clip_mean.device

    # ---- the brain: once per video ---------------------------------------------

    def clip_preprocess(self, image: np.ndarray) -> torch.Tensor:
        """LISA's CLIP input: CLIPImageProcessor as transformers 4.31 (LISA's pin) ran it, on PIL:
        shortest side to S with bicubic resampling on the uint8 image (long side floored),
        centre crop S x S, rescale by 1/255, normalise."""
        from PIL import Image

        image = np.asarray(image)
        h, w = image.shape[:2]
        size = self.clip_size
        if h <= w:
            new_h, new_w = size, int(size * w / h)
        else:
            new_h, new_w = int(size * h / w), size
        resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), resample=Image.BICUBIC))
        top, left = (new_h - size) // 2, (new_w - size) // 2
        crop = resized[top: top + size, left: left + size].astype(np.float32) * np.float32(1 / 255)
        mean = np.asarray(self.preset.llava.image_mean, dtype=np.float32)
        std = np.asarray(self.preset.llava.image_std, dtype=np.float32)
        return torch.from_numpy(((crop - mean) / std).transpose(2, 0, 1).copy()).to(self.device)

    def _prompt_ids(self, question: str) -> list[int]:
        before = f"{SYSTEM} USER: {IM_START}"
        after = f"{IM_END}\n{question} ASSISTANT:"
        ids = self.tokenizer(before, add_special_tokens=True).input_ids
        return ids + [self.image_token_id] * self.num_image_tokens + self.tokenizer(after, add_special_tokens=False).input_ids

    @torch.no_grad()
    def seg_embeddings(self, image: np.ndarray, texts: list[str], style: str = "instruction",
                       generate: bool = True) -> tuple[torch.Tensor, list[str]]:
        """One [SEG] embedding (K, C) per text on `image`, and the generated answers."""
        self.brain_calls += 1
        questions = [QUESTIONS[style].format(text=" ".join(t.split())) for t in texts]
        pixels = self.clip_preprocess(image)[None].expand(len(texts), -1, -1, -1)
        dtype = self.llava.get_input_embeddings().weight.dtype
        prompts = [self._prompt_ids(q) for q in questions]
        answers = [self.tokenizer(" " + ANSWER, add_special_tokens=False).input_ids] * len(texts)
        texts_out = [ANSWER] * len(texts)
        if generate and self.preset.max_new_tokens > 0:
            for i, seq in enumerate(self._generate(prompts, pixels.to(dtype))):
                texts_out[i] = self.tokenizer.decode(seq, skip_special_tokens=False).strip()
                if self.seg_id in seq:  # keep the model's own answer up to its first [SEG]
                    answers[i] = seq[: seq.index(self.seg_id) + 1]
        rows = [p + a for p, a in zip(prompts, answers)]
        length = max(map(len, rows))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(rows), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        hidden = self.llava.model(input_ids=ids, attention_mask=mask, pixel_values=pixels.to(dtype)).last_hidden_state
        # LISA reads the hidden state of the token BEFORE [SEG] (the one that predicts it):
        # its mask is `input_ids[:, 1:] == seg_token_idx` (model/LISA.py; "we need a one-token
        # offset", LISA issue #71). The LAST [SEG] of each row: the answer's (a question
        # could contain the word too).
        positions = torch.tensor([len(r) - 2 - r[::-1].index(self.seg_id) for r in rows], device=self.device)
        seg = hidden[torch.arange(len(rows), device=self.device), positions]
        return self.seg_projection(seg.to(self.seg_projection[0].weight.dtype)), texts_out

    def _generate(self, prompts: list[list[int]], pixels: torch.Tensor) -> list[list[int]]:
        length = max(map(len, prompts))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(prompts), length), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts):  # left padding: every row continues from its own last token
            ids[i, length - len(p):], mask[i, length - len(p):] = torch.tensor(p), 1
        out = self.llava.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                  pixel_values=pixels, max_new_tokens=self.preset.max_new_tokens, do_sample=False,
                                  pad_token_id=pad, eos_token_id=self.tokenizer.eos_token_id)
        result = []
        for seq in out[:, length:].tolist():
            if self.tokenizer.eos_token_id in seq:
                seq = seq[: seq.index(self.tokenizer.eos_token_id)]
            result.append(seq)
        return result

    # ---- perception: every frame -------------------------------------------------

    def sam_preprocess(self, image: np.ndarray) -> tuple[torch.Tensor, Geometry]:
        """LISA's SAM input (its chat.py): ResizeLongestSide.apply_image (a PIL resize of the
        uint8 frame), then normalise and pad to the encoder's square."""
        from segment_anything.utils.transforms import ResizeLongestSide

        image = np.asarray(image)
        size = self.preset.sam.image_size
        resized = ResizeLongestSide(size).apply_image(image)
        x = torch.from_numpy(resized).to(self.device).permute(2, 0, 1).float()
        x = (x - self.encoder.pixel_mean) / self.encoder.pixel_std
        x = F.pad(x, (0, size - resized.shape[1], 0, size - resized.shape[0]))
        return x, Geometry(image.shape[0], image.shape[1], resized.shape[0], resized.shape[1])

    @torch.no_grad()
    def encode(self, image: np.ndarray) -> tuple[torch.Tensor, Geometry]:
        pixels, geometry = self.sam_preprocess(image)
        return self.encoder(pixels[None]), geometry

    @torch.no_grad()
    def segment(self, features: torch.Tensor, seg: torch.Tensor, geometry: Geometry) -> torch.Tensor:
        """SAM's decoder, single-mask output, for K [SEG] prompts on one frame -> (K, H, W) logits."""
        dtype = next(self.mask_decoder.parameters()).dtype
        sparse, dense = self.prompt_encoder(points=None, boxes=None, masks=None)  # no points: (1, 0, C)
        sparse = torch.cat([sparse.expand(seg.shape[0], -1, -1).to(dtype), seg[:, None].to(dtype)], dim=1)
        low_res, _ = self.mask_decoder(image_embeddings=features.to(dtype),
                                       image_pe=self.prompt_encoder.get_dense_pe().to(dtype),
                                       sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense.to(dtype),
                                       multimask_output=False)
        return upscale_logits(low_res, self.preset.sam.image_size, geometry)


def _llava_config(preset: LisaPreset, lisa_config: dict | None, clip_config: dict | None, vocab: int):
    """transformers' LlavaConfig for the preset, sized by the checkpoint's own configs."""
    from dataclasses import replace

    spec = preset.llava
    if lisa_config:
        spec = replace(spec, hidden_size=lisa_config["hidden_size"], num_hidden_layers=lisa_config["num_hidden_layers"],
                       intermediate_size=lisa_config["intermediate_size"],
                       num_attention_heads=lisa_config["num_attention_heads"],
                       num_key_value_heads=lisa_config.get("num_key_value_heads", lisa_config["num_attention_heads"]),
                       max_position_embeddings=lisa_config.get("max_position_embeddings", 2048))
    if clip_config:
        vision = clip_config.get("vision_config", clip_config)
        spec = replace(spec, vision_hidden_size=vision["hidden_size"],
                       vision_intermediate_size=vision["intermediate_size"],
                       vision_layers=vision["num_hidden_layers"], vision_heads=vision["num_attention_heads"],
                       image_size=vision["image_size"], patch_size=vision["patch_size"])
    # A fresh id for the image placeholder: LISA's vocabulary has no <image> token
    # (LLaVA-v1 used -200), and 32000 is one of its added tokens.
    spec = replace(spec, vocab_size=vocab, image_token_index=vocab if lisa_config else spec.image_token_index)
    config = spec.to_config()
    if lisa_config:
        # LlamaConfig defaults differ from LLaMA-2's (rms_norm_eps 1e-6 vs 1e-5): copy what the checkpoint says
        for key in ("rms_norm_eps", "rope_theta", "hidden_act", "pad_token_id", "bos_token_id", "eos_token_id"):
            if lisa_config.get(key) is not None:
                setattr(config.text_config, key, lisa_config[key])
    config.image_seq_length = (spec.image_size // spec.patch_size) ** 2
    if preset.projector == "linear":
        config.projector_hidden_act = "linear"
    return config


def build_lisa(preset: str | LisaPreset = "tiny", *, lisa: str | Path | None = None, clip: str | Path | None = None,
               device: str | None = None, dtype: str | None = None, seed: int = 0) -> LisaStar:
    """LISA* for a preset: random weights (tiny), or LISA's released folder (`lisa`)
    plus a local openai/clip-vit-large-patch14 folder (`clip`), converted on load."""
    from transformers import LlavaForConditionalGeneration

    from instrack.errors import UsageError
    from instrack_baselines.lisa.convert import (LisaCheckpointError, check_rotary, convert_lisa_state_dict, read_config,
                                                 read_state_dict)
    from trackgpt.model import resolve_device, resolve_dtype
    from trackgpt.presets import get_preset as trackgpt_preset

    preset = get_preset(preset)
    if (lisa is None) != (clip is None):
        raise UsageError("LISA*: pass both --lisa (LISA's folder) and --clip (CLIP ViT-L/14 folder), or neither")
    if lisa is None and not preset.builtin_tokenizer:
        raise UsageError(f"LISA* preset {preset.name!r} needs --lisa and --clip (local weights)")
    device_ = resolve_device(device)
    dtype_ = resolve_dtype(dtype, trackgpt_preset("tiny" if preset.name == "tiny" else preset.name), device_)
    torch.manual_seed(seed)
    if lisa is None:
        from trackgpt.tokenizer import build_byte_tokenizer

        tokenizer = build_byte_tokenizer(preset.llava.image_token_index)
        llava = LlavaForConditionalGeneration(_llava_config(preset, None, None, preset.llava.vocab_size))
        model = LisaStar(llava, tokenizer, preset)
        return model.to(device_, dtype_).eval()
    from transformers import AutoTokenizer

    lisa_config, clip_config = read_config(lisa, "--lisa"), read_config(clip, "--clip")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(lisa), use_fast=False)
    except (OSError, ValueError) as err:
        raise LisaCheckpointError(f"--lisa {lisa}: no usable tokenizer ({err})") from err
    if SEG not in tokenizer.get_vocab():
        raise LisaCheckpointError(f"--lisa {lisa}: the tokenizer has no {SEG} token (not a LISA checkpoint?)")
    lisa_state = read_state_dict(lisa, "--lisa")
    check_rotary(lisa_state, lisa_config, f"--lisa {lisa}")
    state = convert_lisa_state_dict(lisa_state, read_state_dict(clip, "--clip"), str(lisa))
    vocab = state["llava.model.language_model.embed_tokens.weight"].shape[0]
    # Built on the target device in the target dtype (a 7B in float32 on the CPU
    # would take minutes and 28 GB), then the converted weights are copied in.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype_ if dtype_ != torch.float16 else torch.float32)
    try:
        with torch.device(device_):
            llava = LlavaForConditionalGeneration(_llava_config(preset, lisa_config, clip_config, vocab))
            model = LisaStar(llava, tokenizer, preset)
    finally:
        torch.set_default_dtype(previous)
    load_converted(model, state, str(lisa))
    return model.to(device_, dtype_).eval()


def load_converted(model: LisaStar, state: dict[str, torch.Tensor], where: str) -> None:
    """Load converted weights; the <image> row (absent from LISA) is the only key allowed missing."""
    from instrack_baselines.lisa.convert import LisaCheckpointError

    embed = "llava.model.language_model.embed_tokens.weight"
    expected = model.state_dict()
    for key in (embed, "llava.lm_head.weight"):  # grow by the placeholder row(s) the model added
        if key in state and state[key].shape[0] < expected[key].shape[0]:
            extra = expected[key].shape[0] - state[key].shape[0]
            state[key] = torch.cat([state[key], state[key].mean(0, keepdim=True).expand(extra, -1)])
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise LisaCheckpointError(f"{where}: {len(missing)} missing and {len(unexpected)} unexpected weights after "
                                  f"conversion (first: {(missing or unexpected)[:3]})")
    model.load_state_dict(state, strict=True)
