"""Small layers shared by the brain and the perception."""

from __future__ import annotations

import torch
from torch import nn


class MLP3(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear: the paper's 3-layer projection / adapter."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
