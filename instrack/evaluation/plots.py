"""Pictures of a result: where does the tracker fail?

per_video.png  J&F per video (bars; for instrack, the spread over instructions)
worst_videos.png  J and F over time for the worst units
overlays.png  their worst frames, ground truth and prediction drawn over them (overlays.py)
"""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def plot_result(result: dict, out_dir: str | Path, n_worst: int = 4) -> list[Path]:
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    per_video = result["breakdowns"]["per_video"]
    names = sorted(per_video, key=lambda n: per_video[n]["J&F-Mean"])
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 4))
    values = [100 * per_video[n]["J&F-Mean"] for n in names]
    ax.bar(range(len(names)), values, color="#4C72B0", label="J&F (mean over units)")
    robust = result["breakdowns"].get("robustness")
    if robust:
        worst = [100 * robust["per_video"][n]["J&F-Worst"] for n in names]
        best = [100 * robust["per_video"][n]["J&F-Best"] for n in names]
        ax.vlines(range(len(names)), worst, best, color="black", linewidth=1.5, label="worst–best instruction")
    if result["metrics"]["J&F-Mean"] is not None:  # None: undefined (revos without one of its groups)
        ax.axhline(100 * result["metrics"]["J&F-Mean"], color="#C44E52", linestyle="--", label="overall J&F")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("J&F (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"J&F per video ({result['protocol']})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = out_dir / "per_video.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)

    units = [u for u in result["units"] if "J-per-frame" in u]
    if units:
        worst_units = sorted(units, key=lambda u: u["J&F-Mean"])[:n_worst]
        fig, axes = plt.subplots(len(worst_units), 1, figsize=(8, 2.2 * len(worst_units)), squeeze=False)
        for ax, unit in zip(axes[:, 0], worst_units):
            label = unit.get("exp_id", unit.get("object"))
            ax.plot(unit["J-per-frame"], label="J", color="#4C72B0")
            ax.plot(unit["F-per-frame"], label="F", color="#DD8452")
            ax.set_ylim(-0.02, 1.02)
            ax.set_ylabel("score")
            title = f"{unit['video']} / {label}: J&F {100 * unit['J&F-Mean']:.1f}"
            if unit.get("text"):
                title += f" — “{unit['text'][:70]}”"
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=7, loc="lower left")
        axes[-1, 0].set_xlabel("frame index")
        fig.tight_layout()
        path = out_dir / "worst_videos.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
