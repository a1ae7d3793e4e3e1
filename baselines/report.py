"""Reported vs reproduced, side by side: Markdown and CSV tables and a bar plot.

Percentages with one decimal as the paper prints them (CSV keeps fractions).
A row without predictions says so in every reproduced cell; nothing is filled
in. The difference is reproduced - reported, in percentage points.
"""

from __future__ import annotations

import csv
import io

from instrack_baselines.reproduce import Reproduction, RowOutcome

SHORT = {"J&F-Mean": "J&F", "J-Mean": "J", "F-Mean": "F", "J-Recall": "J-R", "F-Recall": "F-R"}
STATUS_TEXT = {"run": "run here", "imported": "imported", "missing": "no predictions"}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def delta(outcome: RowOutcome, metric: str) -> float | None:
    reported = outcome.row.reported.get(metric)
    if outcome.metrics is None or reported is None:
        return None
    return outcome.metrics[metric] - reported


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.1f}"


def to_markdown(report: Reproduction) -> str:
    metrics = report.table.metrics
    heads = ["Row", "Predictions"] + [f"{SHORT[m]} {part}" for m in metrics for part in ("paper", "here", "Δ")]
    lines = [f"**{title(report)}: reported vs reproduced** (percent; Δ = here − paper)", "",
             "| " + " | ".join(heads) + " |", "|---|---|" + "---:|" * (3 * len(metrics))]
    for o in report.outcomes:
        label = o.row.label.replace("|", "\\|")
        if o.row.uses_ground_truth:
            label += " ⚠"
        cells = [label, STATUS_TEXT[o.status]]
        for m in metrics:
            # the Predictions column already says so; a blank cell keeps the table readable
            here = "" if o.metrics is None else pct(o.metrics[m])
            cells += [pct(o.row.reported.get(m)), here, _signed(delta(o, m))]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [report.table.caption] if report.table.caption else []
    if any(o.row.uses_ground_truth for o in report.outcomes):
        notes.append("⚠ reads the ground truth: a pipeline check, not a result.")
    if any(o.row.tracker and o.row.tracker[0] != "trackgpt" for o in report.outcomes):
        notes.append("Sanity rows are computed by this suite and are not in the paper.")
    for o in report.outcomes:
        if o.row.note and o.row.tracker and o.row.tracker[0] == "trackgpt":
            notes.append(f"{o.row.label}: {o.row.note}.")
    missing = [o.row.label for o in report.outcomes if o.status == "missing"]
    if missing:
        notes.append(f"No predictions for {len(missing)} row(s); pass `--predictions ROW=PATH` to add them "
                     "(see docs/baselines.md).")
    if report.sample:
        notes.append("SAMPLE: the reproduced numbers were scored on the bundled sample (5 synthetic clips), not on "
                     "InsTrack; they are a pipeline check and cannot be compared with the paper's numbers.")
    notes.append(stored_note(report))
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def title(report: Reproduction) -> str:
    return f"{report.table.title} — SAMPLE (bundled sample, not InsTrack)" if report.sample else report.table.title


def stored_note(report: Reproduction) -> str:
    """Where the reproduced rows went, truthfully."""
    stored = [o for o in report.outcomes if o.entry_id is not None]
    if not stored:
        return "No row was scored, so nothing was stored."
    if not report.kept:
        return ("Reproduced rows were not kept: with no --db they went to the embedded in-memory store, which "
                "forgets them when the command ends (pass --db FILE to keep them).")
    boards = sorted({o.board for o in stored})
    ids = ", ".join(f"#{o.entry_id}" for o in stored)
    return (f"{len(stored)} reproduced row(s) stored in {report.store_url} on the {', '.join(boards)} "
            f"board{'s' if len(boards) > 1 else ''} (entries {ids}).")


def to_csv(report: Reproduction) -> str:
    """One line per (row, metric): fractions as stored, empty where absent."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["table", "row", "benchmark", "status", "source", "uses_ground_truth", "metric", "reported",
                     "reproduced", "difference", "entry_id"])
    for o in report.outcomes:
        for m in report.table.metrics:
            rep, d = o.row.reported.get(m), delta(o, m)
            writer.writerow([report.table.name, o.row.label, o.board or o.row.benchmark, o.status, o.source,
                             str(o.row.uses_ground_truth).lower(), m, "" if rep is None else repr(rep),
                             "" if o.metrics is None else repr(o.metrics[m]), "" if d is None else repr(d),
                             o.entry_id or ""])
    return buf.getvalue()


def plot_png(report: Reproduction, metric: str = "J&F-Mean") -> bytes:
    """Horizontal bars per row: the paper's number and this suite's, missing ones marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt
    from instrack_leaderboard.plots import ORIGIN_COLOURS

    rows = report.outcomes
    fig, ax = plt.subplots(figsize=(8.0, 0.42 * max(len(rows), 3) + 1.4))
    height = 0.38
    labelled: set[str] = set()

    def label(text: str) -> str | None:  # each legend entry once
        if text in labelled:
            return None
        labelled.add(text)
        return text

    for y, o in enumerate(rows):
        rep = o.row.reported.get(metric)
        if rep is not None:
            ax.barh(y - height / 2, rep * 100, height, color=ORIGIN_COLOURS["reported"],
                    label=label("reported (paper)"))
        if o.metrics is not None:
            ax.barh(y + height / 2, o.metrics[metric] * 100, height, color=ORIGIN_COLOURS["reproduced"],
                    hatch="//" if o.row.uses_ground_truth else None,
                    label=label("reproduced here, on the bundled sample" if report.sample else "reproduced (here)"))
            d = delta(o, metric)
            if d is not None:
                ax.text(o.metrics[metric] * 100 + 0.8, y + height / 2, f"{d * 100:+.1f}", va="center",
                        fontsize="x-small")
        else:
            ax.text(1, y + height / 2, "no predictions", va="center", fontsize="x-small", color="#777777")
    names = [o.row.label + (" (uses GT)" if o.row.uses_ground_truth and "ground truth" not in o.row.label else "")
             for o in rows]
    ax.set_yticks(range(len(rows)), names, fontsize="small")
    ax.invert_yaxis()  # the paper's order, top to bottom
    ax.set_xlim(0, 105)
    ax.set_xlabel(f"{SHORT.get(metric, metric)} (%)")
    ax.set_title(f"{title(report)}: reported vs reproduced", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
