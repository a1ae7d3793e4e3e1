"""Figures with matplotlib (Agg, no display): PNG bytes, written by the caller.

* methods:    J&F per method, reported / reproduced / submitted side by side
* per-video:  distribution of per-video J&F, one box per entry
* robustness: for each video, J&F of each of its instructions (seed and
              rephrasings); a long bar means the answer depends on the wording
"""

from __future__ import annotations

import functools
import io
import threading
from collections import defaultdict
from statistics import mean

from instrack_leaderboard.store import Store

# pyplot and rcParams are process-global: the web server draws from a thread
# pool, so one figure at a time (rc_context below would otherwise be undone by
# another thread mid-draw).
_DRAWING = threading.RLock()
ORIGIN_COLOURS = {"reported": "#4C72B0", "reproduced": "#55A868", "submitted": "#DD8452"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: servers and CI have no display
    import matplotlib.pyplot as plt

    return plt


def plain_text(draw):
    """Draw with mathtext off: names come from submitters, and a name such as
    `$\\frac{$` must print as typed, not fail to parse (a 500 for every
    visitor of the board). Every figure function is wrapped, from figure
    creation to savefig, since tick labels are laid out when drawn."""

    @functools.wraps(draw)
    def wrapped(*args, **kwargs):
        plt = _pyplot()
        with _DRAWING, plt.rc_context({"text.parse_math": False, "text.usetex": False}):
            return draw(*args, **kwargs)

    return wrapped


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def unit_jf(unit: dict) -> float:
    return (unit["j_mean"] + unit["f_mean"]) / 2


def per_video_jf(units: list[dict]) -> dict[str, list[float]]:
    """video -> J&F of each of its units (instructions, or objects)."""
    out: dict[str, list[float]] = defaultdict(list)
    for u in units:
        out[u["video"]].append(unit_jf(u))
    return dict(out)


def methods_data(store: Store, benchmark: str = "instrack", include_hidden: bool = False
                 ) -> dict[str, dict[str, float]]:
    """What the methods plot shows: display name -> origin -> best J&F."""
    entries = [e for e in store.entries(benchmark, include_hidden=include_hidden) if e["jf_mean"] is not None]
    by_method: dict[str, dict[str, float]] = defaultdict(dict)
    for e in entries:
        # best of each origin per method: one bar per (method, origin)
        prev = by_method[e["display_name"]].get(e["origin"])
        by_method[e["display_name"]][e["origin"]] = max(prev or 0.0, e["jf_mean"])
    return dict(by_method)


def methods_png(store: Store, benchmark: str = "instrack", include_hidden: bool = False) -> bytes:
    return methods_png_of(methods_data(store, benchmark, include_hidden), benchmark)


@plain_text
def methods_png_of(by_method: dict[str, dict[str, float]], benchmark: str) -> bytes:
    plt = _pyplot()
    names = sorted(by_method, key=lambda n: max(by_method[n].values()))
    origins = [o for o in ORIGIN_COLOURS if any(o in v for v in by_method.values())]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * max(len(names), 3) + 1.2))
    height = 0.8 / max(len(origins), 1)
    for i, origin in enumerate(origins):
        offset = (i - (len(origins) - 1) / 2) * height
        present = [(k, by_method[n][origin]) for k, n in enumerate(names) if origin in by_method[n]]
        ax.barh([k + offset for k, _ in present], [v * 100 for _, v in present], height=height,
                color=ORIGIN_COLOURS[origin], label=origin)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("J&F (%)")
    ax.set_title(f"{benchmark}: J&F per method")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


@plain_text
def per_video_png(series: dict[str, list[dict]], title: str = "per-video J&F") -> bytes:
    """series: label -> units of one entry."""
    plt = _pyplot()
    labels = [k for k, units in series.items() if units]
    data = [[mean(v) * 100 for v in per_video_jf(series[k]).values()] for k in labels]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(labels) + 2), 3.6))
    if data:
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20, ha="right")
    else:
        ax.text(0.5, 0.5, "no per-unit results", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("J&F of a video (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


@plain_text
def robustness_png(units: list[dict], title: str = "robustness across a video's instructions") -> bytes:
    plt = _pyplot()
    videos = per_video_jf(units)
    order = sorted(videos, key=lambda v: mean(videos[v]))
    fig, ax = plt.subplots(figsize=(7.0, 0.28 * max(len(order), 4) + 1.2))
    seeds = {(u["video"], u.get("exp_id")) for u in units if u.get("kind") == "seed"}
    for y, video in enumerate(order):
        vals = [v * 100 for v in videos[video]]
        ax.hlines(y, min(vals), max(vals), color="#999999", linewidth=2)
        ax.scatter(vals, [y] * len(vals), s=14, color="#4C72B0", zorder=3)
        seed = [unit_jf(u) * 100 for u in units if u["video"] == video and (video, u.get("exp_id")) in seeds]
        if seed:  # the human-written instruction, against its rephrasings
            ax.scatter(seed, [y] * len(seed), s=40, marker="D", color="#DD8452", zorder=4,
                       label="seed instruction" if y == 0 else None)
        ax.scatter([mean(vals)], [y], marker="|", s=120, color="black", zorder=5)
    ax.set_yticks(range(len(order)), order, fontsize="small")
    ax.set_xlim(0, 100)
    ax.set_xlabel("J&F of each instruction (%); bar: min to max, tick: mean")
    if seeds:
        ax.legend(loc="lower left", fontsize="small")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def robustness_summary(units: list[dict]) -> dict[str, float]:
    """Mean over videos of (max - min) and of the worst instruction's J&F."""
    videos = [v for v in per_video_jf(units).values() if len(v) > 1]
    if not videos:
        return {}
    return {"mean spread (max - min)": mean(max(v) - min(v) for v in videos),
            "mean worst instruction": mean(min(v) for v in videos),
            "mean best instruction": mean(max(v) for v in videos)}
