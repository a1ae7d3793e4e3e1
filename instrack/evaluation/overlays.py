"""Overlays: the worst frames of the worst units, with the ground truth outlined
(green, on a black halo) and the prediction tinted and outlined in cyan (dashed,
on a black halo), so a researcher sees what the tracker did where J is lowest.
Cyan and green both stand out on red objects, and the halos on light or dark
ones. A frame whose prediction or target is empty says so in the frame.
Written by `instrack evaluate --plot` for the instrack layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from instrack.dataset.layout import read_split
from instrack.masks import read_mask
from instrack.evaluation.plots import _pyplot, ground_truth_label
from instrack.evaluation.submission import open_submission


GT_COLOUR = "#39ff14"  # green
PRED_COLOUR = "#00e5ff"  # cyan: stands out on red objects, where a red fill vanished
PRED_RGB = (0, 229, 255)


def _outline(ax, mask: np.ndarray, colour: str, style: str) -> None:
    """A contour on a black halo, visible on light and dark pixels alike."""
    if mask.any():
        ax.contour(mask, levels=[0.5], colors=["black"], linewidths=3.0)
        ax.contour(mask, levels=[0.5], colors=[colour], linewidths=1.4, linestyles=style)


def _worst_frames(unit: dict, n_frames: int) -> list[int]:
    j = np.asarray(unit["J-per-frame"])
    return sorted(np.argsort(j, kind="stable")[:n_frames].tolist())


def plot_overlays(result: dict, gt_root: str | Path, pred: str | Path, out_dir: str | Path,
                  n_units: int = 4, n_frames: int = 5) -> Path | None:
    units = [u for u in result["units"] if "J-per-frame" in u and "exp_id" in u]
    if not units:
        return None
    split = read_split(gt_root, result["dataset"]["split"])
    submission = open_submission(pred, depth=3)
    worst = sorted(units, key=lambda u: u["J&F-Mean"])[:n_units]
    plt = _pyplot()
    columns = min(n_frames, max(len(u["frames"]) for u in worst))
    fig = plt.figure(figsize=(2.6 * columns, 2.5 * len(worst)), layout="constrained")
    try:
        for subfigure, unit in zip(np.atleast_1d(fig.subfigures(len(worst), 1)), worst):
            video = split.videos[unit["video"]]
            instruction = video.instruction(unit["exp_id"])
            reader = submission.reader_for(video.name)
            subfigure.suptitle(f"{unit['video']}/{unit['exp_id']}, J&F {100 * unit['J&F-Mean']:.1f}: "
                               f"“{instruction.text[:90]}”", fontsize=8)
            axes = np.atleast_1d(subfigure.subplots(1, columns))
            for ax in axes:
                ax.axis("off")
            for ax, index in zip(axes, _worst_frames(unit, columns)):
                frame = unit["frames"][index]
                image = np.asarray(Image.open(video.image_path(frame)).convert("RGB"))
                gt = np.isin(read_mask(video.mask_path(frame)), instruction.obj_ids)
                mask, _ = reader.read(f"{video.name}/{unit['exp_id']}/{frame}.png")
                predicted = mask != 0
                shown = image.astype(np.float32)
                shown[predicted] = 0.5 * shown[predicted] + 0.5 * np.array(PRED_RGB)
                ax.imshow(shown.astype(np.uint8))
                _outline(ax, gt, GT_COLOUR, "solid")
                _outline(ax, predicted, PRED_COLOUR, "dashed")
                notes = [text for empty, text in ((not predicted.any(), "empty prediction"),
                                                  (not gt.any(), "target absent")) if empty]
                if notes:
                    ax.text(0.03, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", ha="left", fontsize=7,
                            color="white", bbox={"facecolor": "black", "alpha": 0.75, "pad": 2, "linewidth": 0})
                ax.set_title(f"frame {frame}: J {100 * unit['J-per-frame'][index]:.0f}%", fontsize=7)
        fig.suptitle("Worst frames of the worst units: ground truth outlined green, prediction tinted cyan with a "
                     f"dashed outline ({ground_truth_label(result)})", fontsize=9)
        path = Path(out_dir) / "overlays.png"
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
        submission.close()
    return path
