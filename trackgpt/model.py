"""TrackGPT = brain (LLaVA + <TK>/<PO> + LoRA + projections) + perception
(SAM encoder + purport decoder + propagation), built from a preset.

`build_model` is the one constructor for every size: the tiny preset runs the
same code with random weights; 7B/13B load LLaVA (transformers format) and SAM
(.pth) from local paths, or take random weights for benchmarking.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from instrack.errors import InsTrackError, UsageError
from trackgpt.brain import Brain
from trackgpt.perception import Perception
from trackgpt.presets import PRESETS, Preset, get_preset


class CheckpointError(InsTrackError):
    """Weights missing, unreadable, or made for another architecture."""


class TrackGPT(nn.Module):
    def __init__(self, brain: Brain, perception: Perception, preset: Preset):
        super().__init__()
        self.brain = brain
        self.perception = perception
        self.preset = preset

    @property
    def device(self) -> torch.device:
        return self.perception.encoder.pixel_mean.device

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]

    def autocast(self):
        """bf16/fp16 autocast on accelerators when the frozen weights are in that dtype."""
        dtype = self.brain.llava.get_input_embeddings().weight.dtype
        if self.device.type == "cpu" or dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def forward(self, clips, *, propagation: bool = True, weights=None, rng=None, templates=None) -> dict[str, torch.Tensor]:
        """One training step's losses on a batch of three-frame clips (paper §3.5).

        The brain reads I_0 and the conversation; for the clips with a target
        (all but text-only VQA turns) the decoder segments I_0, I_t and I_{t+1}
        in turn, the online query propagated from each to the next, so the
        adapter learns to carry the target across frames. Text-only clips add
        to the text loss only: no mask, IoU or purport term is computed for them."""
        from trackgpt.data.templates import DEFAULT_OPTIONS
        from trackgpt.losses import LossWeights, joint_loss
        from trackgpt.perception import resize_target

        weights = weights or LossWeights()
        options = templates or DEFAULT_OPTIONS
        brain, perception = self.brain, self.perception
        size = perception.spec.image_size
        conversations = [c.item.conversation(rng, options) for c in clips]
        pixels = torch.stack([brain.preprocess(c.images[0]) for c in clips])
        batch = brain.collate_turns(conversations, pixels).to(self.device)
        thought = brain(batch)
        tracked = [clips[i] for i in thought.rows.tolist()]
        if any(c.targets is None for c in tracked) or len(tracked) != sum(c.targets is not None for c in clips):
            raise ValueError("a clip with a target needs <TK>, <PO> in its answer, and a text-only clip neither")
        if not tracked:
            return joint_loss(thought.text_loss, None, None, None, None, weights)
        q_t = thought.q_r if propagation else None
        logits, targets, valid, scores = [], [], [], []
        for j in range(3):
            prepared = [perception.encoder.preprocess(c.images[j]) for c in tracked]
            features = perception.encode(torch.stack([p for p, _ in prepared]))
            decoded = perception.decode(features, thought.q_r, thought.q_p, q_t)
            logits.append(perception.masks(decoded.low_res, None))
            scores.append(decoded.score)
            for c, (_, geometry) in zip(tracked, prepared):
                target, weight = resize_target(c.targets[j], geometry, size)
                targets.append(target)
                valid.append(weight)
            q_t = decoded.next_query
        return joint_loss(thought.text_loss, torch.cat(logits), torch.stack(targets).to(self.device),
                          torch.stack(valid).to(self.device), torch.cat(scores), weights)

    def train(self, mode: bool = True):
        super().train(mode)
        self.perception.encoder.train(mode)  # keeps the frozen encoder in eval
        return self


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is not None:
        try:
            resolved = torch.device(device)
        except RuntimeError as err:
            raise UsageError(f"--device {device!r}: {err}") from err
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"--device {device}: CUDA is not available on this machine")
        return resolved
    if torch.cuda.is_available():
        # One process per GPU under torchrun / accelerate launch.
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def resolve_dtype(dtype: str | torch.dtype | None, preset: Preset, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    name = dtype or (preset.dtype if device.type != "cpu" else "float32")
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError as err:
        raise UsageError(f"--dtype {name!r}: use float32, bfloat16 or float16") from err


def _matching_presets(hidden: int, layers: int) -> list[str]:
    return [p.name for p in PRESETS.values() if p.llava.hidden_size == hidden and p.llava.num_hidden_layers == layers]


def load_llava(path: str | Path, preset: Preset, dtype: torch.dtype):
    from transformers import AutoConfig, LlavaForConditionalGeneration

    path = Path(path)
    if not (path / "config.json").is_file():
        raise CheckpointError(f"--llava {path}: no LLaVA checkpoint here (expected a transformers folder with config.json)")
    config = AutoConfig.from_pretrained(str(path))
    if getattr(config, "model_type", None) != "llava":
        raise CheckpointError(f"--llava {path}: model_type {config.model_type!r}, expected 'llava' (transformers format)")
    hidden, layers = config.text_config.hidden_size, config.text_config.num_hidden_layers
    spec = preset.llava
    if (hidden, layers) != (spec.hidden_size, spec.num_hidden_layers):
        others = _matching_presets(hidden, layers)
        hint = f"; it matches --preset {others[0]}" if others else ""
        raise CheckpointError(
            f"--llava {path}: LLaVA with hidden size {hidden} and {layers} layers does not match preset "
            f"{preset.name!r} ({spec.hidden_size}, {spec.num_hidden_layers}){hint}"
        )
    return LlavaForConditionalGeneration.from_pretrained(str(path), dtype=dtype)


def load_sam_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--sam {path}: file not found (a SAM .pth such as sam_vit_h_4b8939.pth)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle / zip errors of several types
        raise CheckpointError(f"--sam {path}: not a readable SAM checkpoint ({err})") from err


def build_model(
    preset: str | Preset = "tiny",
    *,
    llava: str | Path | None = None,
    sam: str | Path | None = None,
    checkpoint: str | Path | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    seed: int = 0,
    for_training: bool = False,
) -> TrackGPT:
    """Build TrackGPT for a preset.

    Arguments:
      preset: "tiny", "7b", "13b" or a Preset
      llava: local LLaVA folder in transformers format (None: random weights)
      sam: local SAM .pth (None: random weights)
      checkpoint: TrackGPT weights (safetensors from training) to load on top
      device: where to run (default: cuda:LOCAL_RANK when available, else cpu)
      dtype: compute dtype (default: the preset's on accelerators, float32 on cpu)
      seed: seed of the random initialisation (weights not loaded from files)
      for_training: keep the trainable parameters in float32 (mixed precision)
    """
    preset = get_preset(preset)
    if checkpoint is not None:
        # A checkpoint trained with the paper's shared phi says so in its fingerprint.
        from trackgpt.checkpoints import read_metadata

        shared = json.loads(read_metadata(checkpoint).get("fingerprint", "{}")).get("shared_projection", False)
        if shared and not preset.shared_projection:
            preset = get_preset(preset, shared_projection=True)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, preset, device)
    torch.manual_seed(seed)
    from trackgpt.tokenizer import build_byte_tokenizer, load_tokenizer

    if llava is not None:
        llava_model = load_llava(llava, preset, dtype)
        tokenizer = load_tokenizer(llava)
    else:
        if not preset.builtin_tokenizer:
            warnings.warn(f"preset {preset.name!r} with random LLaVA weights (no --llava): for timing only", stacklevel=2)
        from transformers import LlavaForConditionalGeneration

        # Initialise on the target device in the target dtype: a random 7B made on
        # the CPU in float32 would take minutes and 28 GB.
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype if dtype != torch.float16 else torch.float32)
        try:
            with torch.device(device):
                llava_model = LlavaForConditionalGeneration(preset.llava.to_config())
        finally:
            torch.set_default_dtype(previous)
        tokenizer = build_byte_tokenizer(preset.llava.image_token_index)
    brain = Brain(llava_model, tokenizer, spec=preset.llava, lora=preset.lora, out_dim=preset.sam.prompt_embed_dim,
                  projection_hidden=preset.projection_hidden, max_new_tokens=preset.max_new_tokens,
                  shared_projection=preset.shared_projection)
    with torch.device(device):
        perception = Perception(preset.sam, preset.propagation_heads)
    if sam is not None:
        state = load_sam_file(sam)
        try:
            perception.load_sam_state(state)
        except (KeyError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0][:300]
            raise CheckpointError(f"--sam {sam}: does not match preset {preset.name!r}'s SAM ({first})") from err
    model = TrackGPT(brain, perception, preset).to(device)
    # Frozen weights in the compute dtype; trained ones in float32 when training
    # (autocast computes in bf16, the optimizer updates float32 masters).
    for _, parameter in model.named_parameters():
        keep_fp32 = for_training and parameter.requires_grad
        parameter.data = parameter.data.to(torch.float32 if keep_fp32 else dtype)
    if checkpoint is not None:
        from trackgpt.checkpoints import load_checkpoint

        load_checkpoint(model, checkpoint)
    model.train(for_training)
    return model
