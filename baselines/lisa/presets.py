"""LISA* sizes as data. The architectures reuse TrackGPT's specs (trackgpt.presets):
the language model and SAM are the same parts; what differs is the vision tower
(LISA keeps LLaVA-v1's CLIP ViT-L/14 at 224 px, 256 patch tokens), a single
linear mm_projector, and one <SEG> token read by a 2-layer projection."""

from __future__ import annotations

from dataclasses import dataclass, replace

from instrack.errors import UsageError
from trackgpt.presets import PRESETS as TRACKGPT_PRESETS
from trackgpt.presets import LlavaSpec, SamSpec

SEG = "[SEG]"
IM_START, IM_END = "<im_start>", "<im_end>"
#: LLaVA-v1's conversation (LISA's default conv_type "llava_v1")
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
#: what the model is asked: InsTrack instructions name the target implicitly (LISA's
#: reasoning-segmentation wording), referring expressions name it (LISA's referring wording)
QUESTIONS = {"instruction": "{text} Please output segmentation mask.",
             "referring": "Can you segment the {text} in this image?"}
#: teacher-forced answer when the model does not produce [SEG] itself
ANSWER = f"Sure, it is {SEG}."


@dataclass(frozen=True)
class LisaPreset:
    name: str
    llava: LlavaSpec
    sam: SamSpec
    #: LISA's mm_projector is one Linear; transformers' LLaVA projector has two, so the
    #: second becomes the identity ("linear" activation): exactly W x + b
    projector: str = "linear"
    max_new_tokens: int = 32
    builtin_tokenizer: bool = False
    reference: str = ""


_CLIP_L14_224 = dict(vision_hidden_size=1024, vision_intermediate_size=4096, vision_layers=24, vision_heads=16,
                     image_size=224, patch_size=14, projection_dim=768, image_mean=(0.48145466, 0.4578275, 0.40821073),
                     image_std=(0.26862954, 0.26130258, 0.27577711))

PRESETS: dict[str, LisaPreset] = {
    # vocab_size and image_token_index are read from the checkpoint when it loads
    "7b": LisaPreset("7b", replace(TRACKGPT_PRESETS["7b"].llava, **_CLIP_L14_224), TRACKGPT_PRESETS["7b"].sam,
                     reference="xinlai/LISA-7B-v1 + openai/clip-vit-large-patch14 (vision tower, not in LISA's files)"),
    "13b": LisaPreset("13b", replace(TRACKGPT_PRESETS["13b"].llava, **_CLIP_L14_224), TRACKGPT_PRESETS["13b"].sam,
                      reference="xinlai/LISA-13B-llama2-v1 + openai/clip-vit-large-patch14"),
    "tiny": LisaPreset("tiny", TRACKGPT_PRESETS["tiny"].llava, TRACKGPT_PRESETS["tiny"].sam, max_new_tokens=4,
                       builtin_tokenizer=True, reference="random weights, CPU, for tests"),
}


def get_preset(name: str | LisaPreset) -> LisaPreset:
    if isinstance(name, LisaPreset):
        return name
    key = str(name).lower()
    if key not in PRESETS:
        raise UsageError(f"--preset {name!r}: LISA* presets are {', '.join(PRESETS)}")
    return PRESETS[key]
