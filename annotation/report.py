"""`instrack instructions report`: what a split's instructions look like.

Counts (videos, seeds, rephrasings, videos short of 5), lengths in words, the
annotators' flags, what is waiting for review, and the share of instructions
that name their target's category (the thing InsTrack instructions avoid).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instrack.fileio import atomic_write_json
from instrack.dataset.model import REPHRASE, SEED
from instrack_annotation import meta as m
from instrack_annotation.categories import category_terms, names_category, words
from instrack_annotation.seeds import FLAGS


def _lengths(values: list[int]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "mean": round(statistics.fmean(values), 2), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


@dataclass
class InstructionsReport:
    data: dict[str, Any]
    seed_lengths: list[int]
    rephrase_lengths: list[int]

    def text(self) -> str:
        d = self.data
        lines = [
            f"{d['split_path']}",
            f"  videos {d['videos']}: {d['with_seed']} with a seed, {d['skipped']} skipped by annotators, "
            f"{d['without_seed']} without a seed, {d['complete']} with 5 rephrasings"
            + (f", {d['over_complete']} with more than 5" if d.get("over_complete") else ""),
            f"  seeds {d['seeds']}, rephrasings {d['rephrasings']} "
            + "(" + ", ".join(f"{k} {v}" for k, v in d["rephrase_status"].items()) + ")",
            f"  words per seed: {_fmt(d['seed_words'])}; per rephrasing: {_fmt(d['rephrase_words'])}",
            "  seed flags: " + ", ".join(f"{k} {v}" for k, v in d["flags"].items()),
            f"  naming their target's category: seeds {_pct(d['seeds_naming_category'], d['seeds_with_category'])}, "
            f"rephrasings {_pct(d['rephrasings_naming_category'], d['rephrasings_with_category'])}",
        ]
        if d["flagged"]:
            lines.append(f"  flagged ({len(d['flagged'])}): " + "; ".join(
                f"{f['video']}/{f['exp_id']}: {f['why']}" for f in d["flagged"][:10])
                + (" ..." if len(d["flagged"]) > 10 else ""))
        return "\n".join(lines)


def _fmt(stats: dict[str, float]) -> str:
    if not stats.get("n"):
        return "none"
    return f"mean {stats['mean']}, median {stats['median']}, range {stats['min']}-{stats['max']}"


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else "n/a (no categories recorded)"


def build_report(root: str | Path, split: str = "test") -> InstructionsReport:
    meta = m.MetaFile(root, split)
    seed_lengths, rephrase_lengths = [], []
    counts = dict(videos=len(meta.videos), with_seed=0, skipped=0, without_seed=0, complete=0, over_complete=0,
                  seeds=0,
                  rephrasings=0, seeds_with_category=0, seeds_naming_category=0,
                  rephrasings_with_category=0, rephrasings_naming_category=0)
    status: dict[str, int] = {}
    flags = {flag: 0 for flag in FLAGS}
    flagged: list[dict[str, str]] = []
    for name, video in meta.videos.items():
        category = m.category_of(video)
        terms = category_terms(category) if category else ()
        found = m.seed_of(video)
        if found is None:
            counts["skipped" if video.get("seed_skipped") else "without_seed"] += 1
            continue
        counts["with_seed"] += 1
        n_rephrase = 0
        for exp_id, exp in m.expressions(video).items():
            kind, text = exp.get("kind", SEED), exp.get("exp", "")
            term = names_category(text, terms) if terms else None
            if kind == SEED:
                counts["seeds"] += 1
                seed_lengths.append(len(words(text)))
                for flag, value in (exp.get("flags") or {}).items():
                    if value and flag in flags:
                        flags[flag] += 1
                if terms:
                    counts["seeds_with_category"] += 1
                    counts["seeds_naming_category"] += term is not None
                if isinstance(exp.get("flags"), dict) and not exp["flags"].get("implicit", True):
                    flagged.append({"video": name, "exp_id": exp_id, "why": "annotator: not implicit"})
            elif kind == REPHRASE:
                n_rephrase += 1
                counts["rephrasings"] += 1
                rephrase_lengths.append(len(words(text)))
                state = exp.get("status", m.ACCEPTED)
                status[state] = status.get(state, 0) + 1
                if terms:
                    counts["rephrasings_with_category"] += 1
                    counts["rephrasings_naming_category"] += term is not None
                if state == m.NEEDS_REVIEW:
                    flagged.append({"video": name, "exp_id": exp_id,
                                    "why": "needs review: " + "; ".join(exp.get("problems") or [])})
            if term is not None:
                flagged.append({"video": name, "exp_id": exp_id, "why": f"names the category ({term!r})"})
        counts["complete"] += n_rephrase == 5
        if n_rephrase > 5:  # e.g. rephrased twice: check-data refuses such a split
            counts["over_complete"] += 1
            flagged.append({"video": name, "exp_id": "*", "why": f"{n_rephrase} rephrasings (more than 5)"})
    data = {
        "split_path": str(meta.path), **counts, "rephrase_status": status, "flags": flags,
        "seed_words": _lengths(seed_lengths), "rephrase_words": _lengths(rephrase_lengths), "flagged": flagged,
    }
    return InstructionsReport(data, seed_lengths, rephrase_lengths)


def write_report(report: InstructionsReport, out_dir: Path) -> tuple[Path, Path]:
    """report.json and lengths.png (word-length histograms of seeds and rephrasings,
    and the share naming their category)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / "instructions_report.json", out_dir / "instructions_lengths.png"
    atomic_write_json(json_path, report.data)
    d = report.data
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 1]})
    top = max(report.seed_lengths + report.rephrase_lengths + [1])
    bins = range(0, top + 2)
    left.hist([report.seed_lengths, report.rephrase_lengths], bins=bins, label=["seeds", "rephrasings"],
              color=["#d62728", "#1f77b4"])
    left.set_xlabel("words per instruction")
    left.set_ylabel("instructions")
    left.legend()
    shares = [
        d["seeds_naming_category"] / d["seeds_with_category"] if d["seeds_with_category"] else 0.0,
        d["rephrasings_naming_category"] / d["rephrasings_with_category"] if d["rephrasings_with_category"] else 0.0,
    ]
    right.bar(["seeds", "rephr."], [100 * s for s in shares], color=["#d62728", "#1f77b4"])
    right.set_ylabel("% naming the category")
    right.set_ylim(0, 100)
    fig.suptitle(f"{d['split_path']}: {d['seeds']} seeds, {d['rephrasings']} rephrasings", fontsize=9)
    fig.tight_layout()
    tmp = png_path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(png_path)
    return json_path, png_path
