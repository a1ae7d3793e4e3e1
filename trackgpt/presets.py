"""Model sizes as data: one frozen Preset per name, read by one builder.

A preset fixes the architecture (so a checkpoint can be checked against it) and
the defaults (LoRA, projections, propagation, input sizes). Weights come from
local paths given at run time; the preset only says which public checkpoint
its architecture matches (`llava_reference`, `sam_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from instrack.errors import UsageError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class LlavaSpec:
    """The LLaVA architecture (transformers LlavaConfig with CLIP vision and Llama text)."""

    # text model (Llama)
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    max_position_embeddings: int = 4096
    # vision tower (CLIP)
    vision_hidden_size: int = 1024
    vision_intermediate_size: int = 4096
    vision_layers: int = 24
    vision_heads: int = 16
    image_size: int = 336
    patch_size: int = 14
    projection_dim: int = 768
    # how LLaVA joins them
    image_token_index: int = 32000
    vision_feature_layer: int = -2
    vision_feature_select_strategy: str = "default"
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    #: "pad" (LLaVA-1.5: pad to a square with the mean colour) or "crop" (LLaVA v1
    #: and LISA: CLIPImageProcessor's shortest-side resize and centre crop)
    image_aspect: str = "pad"

    def to_config(self):
        from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

        vision = CLIPVisionConfig(
            hidden_size=self.vision_hidden_size,
            intermediate_size=self.vision_intermediate_size,
            num_hidden_layers=self.vision_layers,
            num_attention_heads=self.vision_heads,
            image_size=self.image_size,
            patch_size=self.patch_size,
            projection_dim=self.projection_dim,
        )
        text = LlamaConfig(
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            vocab_size=self.vocab_size,
            max_position_embeddings=self.max_position_embeddings,
        )
        return LlavaConfig(
            vision_config=vision,
            text_config=text,
            image_token_index=self.image_token_index,
            image_seq_length=self.num_image_tokens,
            vision_feature_layer=self.vision_feature_layer,
            vision_feature_select_strategy=self.vision_feature_select_strategy,
        )

    @property
    def num_image_tokens(self) -> int:
        # "default" drops CLIP's class token, "full" keeps it.
        extra = 0 if self.vision_feature_select_strategy == "default" else 1
        return (self.image_size // self.patch_size) ** 2 + extra


@dataclass(frozen=True)
class SamSpec:
    """SAM's architecture (segment-anything's ImageEncoderViT, PromptEncoder, MaskDecoder)."""

    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_global_attn_indexes: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_heads: int = 8
    iou_head_hidden_dim: int = 256
    pixel_mean: tuple[float, float, float] = SAM_PIXEL_MEAN
    pixel_std: tuple[float, float, float] = SAM_PIXEL_STD

    @property
    def embedding_size(self) -> int:
        return self.image_size // self.patch_size


@dataclass(frozen=True)
class LoraSpec:
    """LoRA on the language model only. The paper names LoRA but gives no settings;
    these are LISA's defaults (r 8, alpha 16, dropout 0.05, q_proj/v_proj)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


@dataclass(frozen=True)
class Preset:
    name: str
    llava: LlavaSpec
    sam: SamSpec
    lora: LoraSpec = LoraSpec()
    #: hidden widths of the 3-layer <TK>/<PO> projections (None: the LLM's width)
    projection_hidden: int | None = None
    #: one 3-layer MLP phi for <TK> and <PO> (the paper's Eq. 1 text) instead of one each (ours)
    shared_projection: bool = False
    #: heads of the propagation module's attention (not in the paper; ours)
    propagation_heads: int = 8
    #: compute dtype on GPU (CPU always runs float32)
    dtype: str = "bfloat16"
    #: tokens the brain may generate before <TK>, <PO> are forced
    max_new_tokens: int = 32
    #: public checkpoints whose architecture this preset matches
    llava_reference: str = ""
    sam_reference: str = ""
    #: the tiny preset builds its tokenizer in code (no files to download)
    builtin_tokenizer: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def fingerprint(self) -> dict[str, Any]:
        """The architecture facts a checkpoint must agree with."""
        facts = {
            "preset": self.name,
            "llm_hidden": self.llava.hidden_size,
            "llm_layers": self.llava.num_hidden_layers,
            "sam_prompt_dim": self.sam.prompt_embed_dim,
            "sam_decoder_depth": self.sam.decoder_depth,
            "lora_r": self.lora.r,
        }
        if self.shared_projection:  # only when set: earlier checkpoints stay loadable
            facts["shared_projection"] = True
        return facts


_SAM_VIT_H = SamSpec(
    encoder_embed_dim=1280, encoder_depth=32, encoder_num_heads=16,
    encoder_global_attn_indexes=(7, 15, 23, 31),
)

PRESETS: dict[str, Preset] = {
    "7b": Preset(
        name="7b",
        llava=LlavaSpec(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=32, vocab_size=32064),
        sam=_SAM_VIT_H,
        llava_reference="llava-hf/llava-1.5-7b-hf",
        sam_reference="sam_vit_h_4b8939.pth",
        notes="TrackGPT-7B with LLaVA-1.5-7B (336 px; ours: the paper cites LLaVA v1, see 7b-v1) + SAM ViT-H",
    ),
    "13b": Preset(
        name="13b",
        llava=LlavaSpec(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                        num_attention_heads=40, num_key_value_heads=40, vocab_size=32064),
        sam=_SAM_VIT_H,
        llava_reference="llava-hf/llava-1.5-13b-hf",
        sam_reference="sam_vit_h_4b8939.pth",
        notes="TrackGPT-13B with LLaVA-1.5-13B (336 px; ours: the paper cites LLaVA v1, see 13b-v1) + SAM ViT-H",
    ),
    # The paper's LLaVA [29] is v1 (as LISA's): CLIP ViT-L/14 at 224 px (256 image
    # tokens), centre-cropped. Weights: a LLaVA v1 checkpoint converted to the
    # transformers Llava format (the image token appended after the 32000 words).
    "7b-v1": Preset(
        name="7b-v1",
        llava=LlavaSpec(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=32, vocab_size=32064,
                        image_size=224, image_aspect="crop"),
        sam=_SAM_VIT_H,
        llava_reference="LLaVA v1 7B (liuhaotian/LLaVA-Lightning-7B-delta-v1-1 applied), transformers format",
        sam_reference="sam_vit_h_4b8939.pth",
        notes="TrackGPT-7B as the paper cites it: LLaVA v1 [29] 224 px + SAM ViT-H",
    ),
    "13b-v1": Preset(
        name="13b-v1",
        llava=LlavaSpec(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                        num_attention_heads=40, num_key_value_heads=40, vocab_size=32064,
                        image_size=224, image_aspect="crop"),
        sam=_SAM_VIT_H,
        llava_reference="LLaVA v1 13B (liuhaotian/llava-llama-2-13b-chat-lightning-preview, LISA's), transformers format",
        sam_reference="sam_vit_h_4b8939.pth",
        notes="TrackGPT-13B as the paper cites it: LLaVA v1 [29] 224 px + SAM ViT-H",
    ),
    # Same constructors, random weights, runs on a CPU in seconds (ENVIRONMENT.md sizes).
    "tiny": Preset(
        name="tiny",
        llava=LlavaSpec(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=4, vocab_size=262,
                        max_position_embeddings=512,
                        vision_hidden_size=32, vision_intermediate_size=64, vision_layers=2,
                        vision_heads=2, image_size=32, patch_size=8, projection_dim=32,
                        image_token_index=260),
        sam=SamSpec(encoder_embed_dim=64, encoder_depth=2, encoder_num_heads=2,
                    encoder_global_attn_indexes=(1,), image_size=128, patch_size=16, window_size=4,
                    prompt_embed_dim=32, mask_in_chans=4, decoder_depth=2, decoder_mlp_dim=64,
                    decoder_heads=2, iou_head_hidden_dim=32),
        propagation_heads=2,
        dtype="float32",
        max_new_tokens=8,
        builtin_tokenizer=True,
        notes="random weights, CPU, for tests and smoke runs",
    ),
}


def get_preset(name: str | Preset, **overrides: Any) -> Preset:
    """A preset by name (case-insensitive), optionally with fields replaced."""
    if isinstance(name, Preset):
        preset = name
    else:
        key = str(name).lower()
        if key not in PRESETS:
            import difflib

            close = difflib.get_close_matches(key, PRESETS, n=1, cutoff=0.4)
            hint = f" Did you mean: {close[0]}?" if close else ""
            raise UsageError(f"--preset {name!r}: unknown preset.{hint} (known: {', '.join(PRESETS)})")
        preset = PRESETS[key]
    return replace(preset, **overrides) if overrides else preset
