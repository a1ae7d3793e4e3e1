"""The perception component F_percep (paper §3.4, Eq. 2-3):
m_t, S_p, Q_{t+1} = D(E(I_t), Q_R, Q_t, Q_p)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from trackgpt.perception.decoder import PurportMaskDecoder, build_mask_decoder, upscale_logits
from trackgpt.perception.encoder import FrameEncoder, Geometry, build_image_encoder, resize_target
from trackgpt.perception.propagation import ReferringPropagation
from trackgpt.presets import SamSpec


@dataclass
class Decoded:
    low_res: torch.Tensor  # (K, 1, h', w') mask logits
    score: torch.Tensor  # (K,) purport score S_p
    next_query: torch.Tensor | None  # (K, C) Q_{t+1}, None without propagation


class Perception(nn.Module):
    """SAM encoder (frozen) + SAM prompt encoder (frozen; gives the positional
    encoding and the "no mask" dense embedding) + purport mask decoder + propagation."""

    def __init__(self, spec: SamSpec, propagation_heads: int):
        super().__init__()
        from segment_anything.modeling import PromptEncoder

        self.spec = spec
        self.encoder = FrameEncoder(build_image_encoder(spec), spec)
        self.prompt_encoder = PromptEncoder(
            embed_dim=spec.prompt_embed_dim,
            image_embedding_size=(spec.embedding_size, spec.embedding_size),
            input_image_size=(spec.image_size, spec.image_size),
            mask_in_chans=spec.mask_in_chans,
        )
        for parameter in self.prompt_encoder.parameters():
            parameter.requires_grad_(False)
        self.decoder: PurportMaskDecoder = build_mask_decoder(spec)
        # Only SAM's single-mask output is used: its three multimask heads get no
        # gradient, so they stay frozen (and out of checkpoints and DDP's reducer).
        for mlp in self.decoder.output_hypernetworks_mlps[1:]:
            for parameter in mlp.parameters():
                parameter.requires_grad_(False)
        self.propagation = ReferringPropagation(spec.prompt_embed_dim, propagation_heads)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # frozen; no activations kept for backward
            return self.encoder(pixels)

    def decode(self, features: torch.Tensor, q_r: torch.Tensor, q_p: torch.Tensor | None,
               q_t: torch.Tensor | None) -> Decoded:
        """Eq. (3) for K prompts on one frame (features batch 1) or K frames."""
        dtype = next(self.decoder.parameters()).dtype
        features = features.to(dtype)
        pe = self.prompt_encoder.get_dense_pe().to(dtype)
        dense = self.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).to(dtype)
        prompts = q_r[:, None] if q_t is None else torch.stack([q_r, q_t], dim=1)
        low_res, score = self.decoder.decode(features, pe, dense, prompts.to(dtype),
                                             None if q_p is None else q_p.to(dtype))
        next_query = None
        if q_t is not None:
            next_query = self.propagation(q_t.to(dtype), q_r.to(dtype), features, pe)
        return Decoded(low_res, score, next_query)

    def masks(self, low_res: torch.Tensor, geometry: Geometry | None) -> torch.Tensor:
        return upscale_logits(low_res, self.spec.image_size, geometry)

    def load_sam_state(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load a SAM checkpoint's state dict (keys image_encoder.*, prompt_encoder.*,
        mask_decoder.*); raises KeyError / RuntimeError on a mismatch."""
        parts = {"image_encoder": self.encoder.image_encoder, "prompt_encoder": self.prompt_encoder,
                 "mask_decoder": self.decoder}
        for prefix, module in parts.items():
            sub = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
            if not sub:
                raise KeyError(f"no {prefix}.* weights")
            module.load_state_dict(sub, strict=strict)


__all__ = ["Decoded", "FrameEncoder", "Geometry", "Perception", "PurportMaskDecoder", "ReferringPropagation",
           "resize_target", "upscale_logits"]
