"""The revamped mask decoder D (paper §3.4, Eq. 3), a subclass of segment-anything's
MaskDecoder that keeps all of SAM's parameters (so SAM checkpoints load into it
unchanged) and changes what goes into its two-way transformer:

1. the prompt tokens are the referring query Q_R (and, with propagation, the
   online referring query Q_t) instead of point / box embeddings;
2. the IoU token is multiplied by the purport query Q_p, so the IoU head now
   predicts the purport score S_p.

Only SAM's single-mask output (mask token 0) is used, as LISA does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from segment_anything.modeling import MaskDecoder, TwoWayTransformer

from trackgpt.perception.encoder import Geometry
from trackgpt.presets import SamSpec


class PurportMaskDecoder(MaskDecoder):
    def decode(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        dense_embeddings: torch.Tensor,
        prompts: torch.Tensor,
        purport: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Arguments:
          image_embeddings: (1 or K, C, h, w) frame features; one frame may serve K prompts
          image_pe: (1, C, h, w) SAM's dense positional encoding
          dense_embeddings: (1, C, h, w) SAM's "no mask" embedding
          prompts: (K, N, C) sparse prompt tokens (Q_R, Q_t)
          purport: (K, C) purport queries Q_p, or None for SAM's plain IoU token

        Returns:
          low-resolution mask logits (K, 1, 4h, 4w) and purport scores S_p (K,)
        """
        k = prompts.shape[0]
        iou_token = self.iou_token.weight.expand(k, -1)  # (K, C)
        if purport is not None:
            iou_token = iou_token * purport.to(iou_token.dtype)
        output_tokens = torch.cat([iou_token[:, None], self.mask_tokens.weight[None].expand(k, -1, -1)], dim=1)
        tokens = torch.cat([output_tokens, prompts.to(output_tokens.dtype)], dim=1)

        src = image_embeddings if image_embeddings.shape[0] == k else image_embeddings.expand(k, -1, -1, -1)
        src = src + dense_embeddings
        pos = image_pe.expand(k, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos, tokens)
        iou_out, mask_out = hs[:, 0], hs[:, 1]

        upscaled = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        hyper = self.output_hypernetworks_mlps[0](mask_out)  # (K, C/8)
        _, cu, hu, wu = upscaled.shape
        masks = (hyper[:, None] @ upscaled.reshape(b, cu, hu * wu)).reshape(b, 1, hu, wu)
        score = self.iou_prediction_head(iou_out)[:, 0]
        return masks, score


def build_mask_decoder(spec: SamSpec) -> PurportMaskDecoder:
    return PurportMaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=spec.decoder_depth, embedding_dim=spec.prompt_embed_dim,
                                      mlp_dim=spec.decoder_mlp_dim, num_heads=spec.decoder_heads),
        transformer_dim=spec.prompt_embed_dim,
        iou_head_depth=3,
        iou_head_hidden_dim=spec.iou_head_hidden_dim,
    )


def upscale_logits(low_res: torch.Tensor, size: int, geometry: Geometry | None) -> torch.Tensor:
    """Low-resolution logits (K, 1, h, w) -> logits over the padded square (K, size, size),
    or, with a geometry, over the frame itself (K, H, W)."""
    x = F.interpolate(low_res.float(), size=(size, size), mode="bilinear", align_corners=False)
    if geometry is None:
        return x[:, 0]
    x = x[..., : geometry.resized_height, : geometry.resized_width]
    return F.interpolate(x, size=(geometry.height, geometry.width), mode="bilinear", align_corners=False)[:, 0]
