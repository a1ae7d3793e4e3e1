"""The frozen visual encoder E (paper §3.4): SAM's ViT, f_t = E(I_t).

Preprocessing follows SAM: resize the longest side to the encoder's input size,
normalise, pad bottom-right to a square. The geometry is kept so masks can be
mapped back to the frame's own size."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trackgpt.presets import SamSpec


@dataclass(frozen=True)
class Geometry:
    """Where a frame sits in the encoder's square input."""

    height: int  # the frame's own size
    width: int
    resized_height: int  # its size inside the padded square
    resized_width: int


def build_image_encoder(spec: SamSpec):
    from segment_anything.modeling import ImageEncoderViT

    return ImageEncoderViT(
        depth=spec.encoder_depth,
        embed_dim=spec.encoder_embed_dim,
        img_size=spec.image_size,
        mlp_ratio=4,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        num_heads=spec.encoder_num_heads,
        patch_size=spec.patch_size,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=spec.encoder_global_attn_indexes,
        window_size=spec.window_size,
        out_chans=spec.prompt_embed_dim,
    )


class FrameEncoder(nn.Module):
    """SAM's image encoder with its preprocessing; frozen."""

    def __init__(self, image_encoder: nn.Module, spec: SamSpec):
        super().__init__()
        self.image_encoder = image_encoder
        self.image_size = spec.image_size
        self.register_buffer("pixel_mean", torch.tensor(spec.pixel_mean).view(3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(spec.pixel_std).view(3, 1, 1), persistent=False)
        for parameter in self.image_encoder.parameters():
            parameter.requires_grad_(False)

    def geometry(self, height: int, width: int) -> Geometry:
        scale = self.image_size / max(height, width)
        return Geometry(height, width, int(height * scale + 0.5), int(width * scale + 0.5))

    def preprocess(self, image: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, Geometry]:
        """H x W x 3 uint8 RGB -> (3, S, S) normalised and padded, and its geometry."""
        x = torch.tensor(np.asarray(image)).to(self.pixel_mean.device).permute(2, 0, 1).float()
        geometry = self.geometry(x.shape[1], x.shape[2])
        x = F.interpolate(x[None], size=(geometry.resized_height, geometry.resized_width), mode="bilinear",
                          align_corners=False, antialias=True)[0]
        x = (x - self.pixel_mean) / self.pixel_std
        x = F.pad(x, (0, self.image_size - geometry.resized_width, 0, self.image_size - geometry.resized_height))
        return x, geometry

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, C, S/16, S/16) frame features f_t."""
        dtype = next(self.image_encoder.parameters()).dtype
        return self.image_encoder(pixels.to(dtype))

    def train(self, mode: bool = True):
        # Frozen: stays in eval mode even while the rest of the model trains.
        super().train(mode)
        self.image_encoder.eval()
        return self


def resize_target(mask: np.ndarray, geometry: Geometry, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A ground-truth mask (0 / 1 / 255 void) placed like its frame in the padded
    square: (target, valid) float tensors of shape (size, size); valid is 0 on the
    padding and on void pixels so neither is learned."""
    m = torch.as_tensor(np.asarray(mask, dtype=np.uint8))
    m = F.interpolate(m[None, None].float(), size=(geometry.resized_height, geometry.resized_width), mode="nearest")[0, 0]
    target = torch.zeros(size, size)
    valid = torch.zeros(size, size)
    target[: geometry.resized_height, : geometry.resized_width] = (m == 1).float()
    valid[: geometry.resized_height, : geometry.resized_width] = (m != 255).float()
    return target, valid
