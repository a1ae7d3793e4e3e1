"""Pictures of a result: where does the tracker fail?

per_video.png  J&F per video (bars; for instrack, the spread over instructions)
worst_videos.png  J and F (%) over time for the worst units (video / instruction)
overlays.png  their worst frames, ground truth and prediction drawn over them (overlays.py)
"""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def ground_truth_label(result: dict) -> str:
    """Where the ground truth came from, for titles: results on the bundled sample say so."""
    from instrack.evaluation.provenance import is_sample_result

    return "SAMPLE: bundled sample, not InsTrack" if is_sample_result(result) else \
        f"split {result.get('dataset', {}).get('split', '?')}"


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
    ax.set_title(f"J&F per video ({result['protocol']}; {ground_truth_label(result)})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = out_dir / "per_video.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)

    units = [u for u in result["units"] if "J-per-frame" in u]
    if units:
        worst_units = sorted(units, key=lambda u: u["J&F-Mean"])[:n_worst]
        fig, axes = plt.subplots(len(worst_units), 1, figsize=(8, 2.2 * len(worst_units) + 0.5), squeeze=False)
        unit_word = "instruction" if "exp_id" in worst_units[0] else "object"
        for ax, unit in zip(axes[:, 0], worst_units):
            label = unit.get("exp_id", unit.get("object"))
            frames = range(len(unit["J-per-frame"]))
            # J and F can coincide exactly: a solid line with dots under a dashed one, both visible
            ax.plot(frames, [100 * v for v in unit["J-per-frame"]], label="J (region)", color="#1f5fbf",
                    linewidth=2.4, marker="o", markersize=3)
            ax.plot(frames, [100 * v for v in unit["F-per-frame"]], label="F (boundary)", color="#e07b00",
                    linewidth=1.4, linestyle="--", marker="x", markersize=4)
            same = sum(abs(j - f) < 1e-9 for j, f in zip(unit["J-per-frame"], unit["F-per-frame"]))
            if same:
                ax.text(0.99, 0.5, f"J = F on {same} of {len(frames)} frames", transform=ax.transAxes,
                        ha="right", va="center", fontsize=7, color="#444444")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_ylim(-3, 103)
            ax.set_ylabel("%")
            title = f"video {unit['video']}, {unit_word} {label}: J&F {100 * unit['J&F-Mean']:.1f}%"
            if unit.get("text"):
                title += f" — “{unit['text'][:60]}”"
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=7, loc="lower left")
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("frame index")
        fig.suptitle(f"The {len(worst_units)} worst units (video, {unit_word}) by J&F: J and F per frame "
                     f"({ground_truth_label(result)})", fontsize=10)
        fig.tight_layout()
        path = out_dir / "worst_videos.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
