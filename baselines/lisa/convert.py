"""LISA's released checkpoints (xinlai/LISA-7B-v1, xinlai/LISA-13B-llama2-v1) in
the transformers LLaVA layout, read from local folders.

LISA saves its LlavaLlamaForCausalLM without the CLIP tower (merge_lora_weights_
and_save_hf_model.py drops every "vision_tower" key); the tower comes from a
local copy of openai/clip-vit-large-patch14. Key by key:

    LISA / CLIP                                  here
    model.embed_tokens.* model.layers.* model.norm.*  llava.model.language_model.*
    lm_head.weight                               llava.lm_head.weight
    model.mm_projector.{weight,bias}             llava.model.multi_modal_projector.linear_1.*
                                                 (+ linear_2 = identity: one Linear is W x + b)
    model.mm_projector.{0,2}.*                   linear_1.*, linear_2.* (MLP projectors)
    [CLIP] vision_model.*                        llava.model.vision_tower.*
    model.vision_tower.vision_tower.vision_model.*  llava.model.vision_tower.*
    model.visual_model.{image_encoder,prompt_encoder,mask_decoder}.*
                                                 encoder.image_encoder.*, prompt_encoder.*, mask_decoder.*
    model.text_hidden_fcs.0.{0,2}.*              seg_projection.{0,2}.*
    model.layers.N.self_attn.rotary_emb.inv_freq (dropped: transformers 4.31, LISA's pin,
                                                 saved this buffer; it is recomputed from
                                                 config.json and checked against it)

A key that matches no rule is an error (it would mean another LISA variant).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from instrack.errors import InsTrackError

#: transformers 4.31 kept each layer's rotary frequencies as a persistent buffer, so
#: LISA's released folders carry them; later versions compute them from the config
ROTARY = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")
CLIP_SKIP = re.compile(r"^(text_model\.|text_projection|visual_projection|logit_scale|vision_model\.embeddings\.position_ids)")

_RULES: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"^model\.(embed_tokens|layers|norm)\.(.*)$"), r"llava.model.language_model.\1.\2"),
    (re.compile(r"^lm_head\.weight$"), "llava.lm_head.weight"),
    (re.compile(r"^model\.mm_projector\.(weight|bias)$"), r"llava.model.multi_modal_projector.linear_1.\1"),
    (re.compile(r"^model\.mm_projector\.0\.(weight|bias)$"), r"llava.model.multi_modal_projector.linear_1.\1"),
    (re.compile(r"^model\.mm_projector\.2\.(weight|bias)$"), r"llava.model.multi_modal_projector.linear_2.\1"),
    (re.compile(r"^model\.vision_tower\.vision_tower\.vision_model\.(.*)$"), r"llava.model.vision_tower.\1"),
    (re.compile(r"^model\.visual_model\.image_encoder\.(.*)$"), r"encoder.image_encoder.\1"),
    (re.compile(r"^model\.visual_model\.(prompt_encoder|mask_decoder)\.(.*)$"), r"\1.\2"),
    (re.compile(r"^model\.text_hidden_fcs\.0\.([02])\.(weight|bias)$"), r"seg_projection.\1.\2"),
)


class LisaCheckpointError(InsTrackError):
    """A LISA or CLIP folder that is missing, unreadable, or of another layout."""


def convert_lisa_state_dict(lisa: dict[str, torch.Tensor], clip: dict[str, torch.Tensor] | None = None,
                            where: str = "LISA checkpoint") -> dict[str, torch.Tensor]:
    """LISA (+ CLIP vision) names -> this package's LisaStar names."""
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in lisa.items():
        if ROTARY.match(key):
            continue
        for pattern, target in _RULES:
            if pattern.match(key):
                out[pattern.sub(target, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise LisaCheckpointError(f"{where}: {len(unknown)} weight(s) of an unknown layout, e.g. {unknown[:3]}")
    for key, value in (clip or {}).items():
        if CLIP_SKIP.match(key):
            continue
        name = key[len("vision_model."):] if key.startswith("vision_model.") else key
        out[f"llava.model.vision_tower.{name}"] = value
    linear_1 = out.get("llava.model.multi_modal_projector.linear_1.weight")
    if linear_1 is not None and "llava.model.multi_modal_projector.linear_2.weight" not in out:
        width = linear_1.shape[0]
        out["llava.model.multi_modal_projector.linear_2.weight"] = torch.eye(width, dtype=linear_1.dtype)
        out["llava.model.multi_modal_projector.linear_2.bias"] = torch.zeros(width, dtype=linear_1.dtype)
    return out


def check_rotary(lisa: dict[str, torch.Tensor], config: dict, where: str) -> None:
    """The saved rotary frequencies must be the ones the config implies (rope_theta,
    head size); a checkpoint trained with other RoPE scaling would silently differ."""
    saved = [(k, v) for k, v in lisa.items() if ROTARY.match(k)]
    if not saved:
        return
    head = config["hidden_size"] // config["num_attention_heads"]
    base = float(config.get("rope_theta", 10000.0))
    expected = 1.0 / (base ** (torch.arange(0, head, 2, dtype=torch.float64) / head))
    for key, value in saved:
        if value.shape != expected.shape or not torch.allclose(value.double(), expected, rtol=1e-3, atol=0):
            raise LisaCheckpointError(f"{where}: {key} is not the rotary frequency of rope_theta={base:g} and "
                                      f"head size {head} from config.json (other RoPE scaling is not supported)")


def read_state_dict(folder: str | Path, flag: str) -> dict[str, torch.Tensor]:
    """Every tensor of a transformers folder: *.safetensors shards, else pytorch_model*.bin."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise LisaCheckpointError(f"{flag} {folder}: not a folder")
    shards = sorted(folder.glob("*.safetensors"))
    state: dict[str, torch.Tensor] = {}
    if shards:
        from safetensors.torch import load_file

        for shard in shards:
            state.update(load_file(str(shard)))
        return state
    shards = sorted(folder.glob("pytorch_model*.bin"))
    if not shards:
        raise LisaCheckpointError(f"{flag} {folder}: no *.safetensors or pytorch_model*.bin weights")
    for shard in shards:
        try:
            state.update(torch.load(shard, map_location="cpu", weights_only=True))
        except Exception as err:  # pickle and zip errors of several types
            raise LisaCheckpointError(f"{flag} {shard}: unreadable ({err})") from err
    return state


def read_config(folder: str | Path, flag: str) -> dict:
    path = Path(folder).expanduser() / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise LisaCheckpointError(f"{flag} {path}: missing") from err
    except (UnicodeDecodeError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        raise LisaCheckpointError(f"{flag} {path}: not JSON ({' '.join(str(err).split())[:200]})") from None
    except RecursionError:
        raise LisaCheckpointError(f"{flag} {path}: not JSON (nested too deeply)") from None
