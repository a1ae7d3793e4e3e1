"""The joint loss (paper §3.5, Eq. 4):

    L = λ_text L_text + λ_mask (2.0 BCE + 0.5 DICE) + λ_po MSE(S_p, IoU(m, gt))

with λ_text = λ_mask = λ_po = 1 (the paper's values, LISA's BCE/DICE weights).
Pixels outside a frame (padding) and void pixels (255) are excluded through a
`valid` weight map. The purport target is the IoU of the predicted mask itself,
detached: S_p learns to say how good the mask is, not to move the mask."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    text: float = 1.0
    mask: float = 1.0
    bce: float = 2.0
    dice: float = 0.5
    purport: float = 1.0


def bce_loss(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the valid pixels of each mask, then over masks."""
    per_pixel = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none") * valid
    return (per_pixel.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1.0)).mean()


def dice_loss(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice per mask (the +1 keeps empty targets finite and rewards empty predictions)."""
    prob = torch.sigmoid(logits.float()) * valid
    target = target * valid
    inter = (prob * target).flatten(1).sum(1)
    total = prob.flatten(1).sum(1) + target.flatten(1).sum(1)
    return (1.0 - (2.0 * inter + smooth) / (total + smooth)).mean()


@torch.no_grad()
def mask_iou(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """IoU of each thresholded prediction (logit > 0) with its target; 1 when both are empty."""
    pred = (logits > 0).float() * valid
    target = target * valid
    inter = (pred * target).flatten(1).sum(1)
    union = ((pred + target) > 0).float().flatten(1).sum(1)
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.ones_like(union))


def joint_loss(
    text_loss: torch.Tensor | None,
    mask_logits: torch.Tensor | None,
    targets: torch.Tensor | None,
    valid: torch.Tensor | None,
    scores: torch.Tensor | None,
    weights: LossWeights = LossWeights(),
) -> dict[str, torch.Tensor]:
    """
    Arguments:
      text_loss: the brain's answer cross-entropy (None: not trained on text)
      mask_logits, targets, valid: (N, H, W) predicted logits, 0/1 targets, 0/1 weights;
        None when the batch has no target (text-only turns): the mask and purport
        terms are then absent, not zero-weighted
      scores: (N,) purport scores S_p predicted for those masks
    Returns the weighted total under "loss" and each term present (for logging).
    """
    out: dict[str, torch.Tensor] = {}
    total = None
    if mask_logits is not None:
        bce = bce_loss(mask_logits, targets, valid)
        dice = dice_loss(mask_logits, targets, valid)
        iou = mask_iou(mask_logits, targets, valid)
        purport = F.mse_loss(scores.float(), iou)
        mask = weights.bce * bce + weights.dice * dice
        total = weights.mask * mask + weights.purport * purport
        out.update({"bce": bce.detach(), "dice": dice.detach(), "purport": purport.detach(), "iou": iou.mean()})
    if text_loss is not None:
        total = weights.text * text_loss if total is None else total + weights.text * text_loss
        out["text"] = text_loss.detach()
    if total is None:
        raise ValueError("nothing to learn from: no text loss and no mask")
    out["loss"] = total
    return out
