"""Cross-frame referring propagation (paper §3.4, Fig. 3).

The online referring query Q_t attends to the referring query Q_R
(self-attention over the pair) and then to the frame features f_t
(cross-attention), and a 3-layer MLP adapter turns the result into Q_{t+1}, the
query of the next frame. Attention layers are segment-anything's own
`Attention` (with its downsampled inner width for the image cross-attention)."""

from __future__ import annotations

import torch
from segment_anything.modeling.transformer import Attention
from torch import nn

from trackgpt.layers import MLP3


class ReferringPropagation(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_dim: int | None = None):
        """
        Arguments:
          dim: query width (SAM's prompt dimension)
          num_heads: attention heads
          mlp_dim: hidden width of the feed-forward block and of the adapter (default 4 x dim)
        """
        super().__init__()
        mlp_dim = mlp_dim or 4 * dim
        self.self_attn = Attention(dim, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, num_heads, downsample_rate=2)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(inplace=True), nn.Linear(mlp_dim, dim))
        self.norm3 = nn.LayerNorm(dim)
        self.adapter = MLP3(dim, mlp_dim, dim)

    def forward(self, q_t: torch.Tensor, q_r: torch.Tensor, features: torch.Tensor, pe: torch.Tensor) -> torch.Tensor:
        """
        Arguments:
          q_t: (K, C) online referring queries of frame t
          q_r: (K, C) referring queries from the brain
          features: (1 or K, C, h, w) frame features f_t
          pe: (1, C, h, w) their positional encoding

        Returns:
          (K, C) Q_{t+1}
        """
        k = q_t.shape[0]
        pair = torch.stack([q_t, q_r], dim=1)  # (K, 2, C)
        x = q_t[:, None] + self.self_attn(q=pair[:, :1], k=pair, v=pair)
        x = self.norm1(x)
        f = features.flatten(2).transpose(1, 2)  # (1|K, hw, C)
        f = f.expand(k, -1, -1) if f.shape[0] != k else f
        p = pe.flatten(2).transpose(1, 2).expand(k, -1, -1)
        x = self.norm2(x + self.cross_attn(q=x, k=f + p, v=f))
        x = self.norm3(x + self.ffn(x))
        return self.adapter(x[:, 0])
