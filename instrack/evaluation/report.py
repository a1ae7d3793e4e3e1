"""Results for people: a table in percentages (like the paper's Table 2) and a
per-unit CSV in the same percentages. Both say first where the ground truth
came from: results on the bundled sample are labelled "sample"."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from instrack.fileio import atomic_write_text

TABLE_COLUMNS = (("J&F", "J&F-Mean"), ("J", "J-Mean"), ("F", "F-Mean"), ("J-R", "J-Recall"), ("F-R", "F-Recall"),
                 ("A", "A-Mean"), ("R", "R-Mean"))
# The per-unit CSV: a protocol names the unit fields it writes (Protocol.csv_columns);
# metric fields are written in percent, like the table, and their headers say so.
CSV_COLUMNS = ("video", "exp_id", "object", "kind", "source", "text", "n_frames", "J&F-Mean", "J-Mean", "J-Recall",
               "J-Decay", "F-Mean", "F-Recall", "F-Decay")
METRIC_FIELDS = frozenset({"J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay",
                           "A-Mean", "R-Mean"})
CSV_HEADERS = {"text": "instruction", **{key: f"{key} (%)" for key in METRIC_FIELDS}}


def _row(name: str, metrics: dict, width: int, columns=TABLE_COLUMNS) -> str:
    # None: a value the protocol leaves undefined (revos's overall without one of its two groups)
    cells = "".join(f"{'n/a':>8}" if metrics[key] is None else f"{100 * metrics[key]:>8.1f}" for _, key in columns)
    return f"{name:<{width}}{cells}"


def _table(title: str, rows: dict[str, dict], limit: int | None = None) -> list[str]:
    # the columns of TABLE_COLUMNS this protocol reports (mevis has no recall, revos adds A and R)
    columns = [c for c in TABLE_COLUMNS if all(c[1] in row for row in rows.values())]
    names = list(rows)
    if limit is not None and len(names) > limit:
        names = sorted(names, key=lambda n: rows[n]["J&F-Mean"])[:limit]
        title += f" (worst {limit} of {len(rows)})"
    width = max([len(n) for n in names] + [12]) + 2
    header = f"{'':<{width}}" + "".join(f"{label:>8}" for label, _ in columns)
    return [title, header] + [_row(name, rows[name], width, columns) for name in names] + [""]


def format_table(result: dict, max_videos: int = 15) -> str:
    """A readable summary: global numbers, then the breakdowns."""
    from instrack.evaluation.provenance import headline

    lines = [headline(result)]
    dataset = result.get("dataset", {})
    lines.append(
        f"InsTrack evaluator {result['evaluator_version']} | ground truth {dataset.get('provenance', '?')} | "
        f"protocol {result['protocol']} | "
        f"split {dataset.get('split', '?')} | {len(result['units'])} units | "
        f"submission sha256 {result['submission_sha256'][:12]}"
    )
    lines.append("")
    sample = dataset.get("provenance") == "sample"
    lines += _table("Overall (%) on the bundled sample" if sample else "Overall (%)", {"all units": result["metrics"]})
    breakdowns = result.get("breakdowns", {})
    if "by_kind" in breakdowns and len(breakdowns["by_kind"]) > 1:
        lines += _table("Seed vs rephrased instructions", breakdowns["by_kind"])
    if "by_source" in breakdowns and len(breakdowns["by_source"]) > 1:
        lines += _table("Per source dataset", breakdowns["by_source"])
    if "by_target" in breakdowns and len(breakdowns["by_target"]) > 1:
        lines += _table("Expressions with and without a target", breakdowns["by_target"])
    if "by_type" in breakdowns:  # revos: referring / reasoning / no-target
        lines += _table("By expression type (overall above is as the protocol defines it)", breakdowns["by_type"])
    if "per_video" in breakdowns:
        lines += _table("Per video (mean over its units)", breakdowns["per_video"], limit=max_videos)
    if "robustness" in breakdowns:
        robust = breakdowns["robustness"]
        per_video = robust["per_video"]
        names = sorted(per_video, key=lambda n: -per_video[n]["J&F-Std"])[:max_videos]
        width = max([len(n) for n in names] + [12]) + 2
        lines.append("Instruction robustness: J&F across each video's instructions (%)")
        lines.append(f"{'':<{width}}{'mean':>8}{'std':>8}{'worst':>8}{'best':>8}")
        for name in names:
            v = per_video[name]
            lines.append(
                f"{name:<{width}}{100 * v['J&F-Mean']:>8.1f}{100 * v['J&F-Std']:>8.1f}"
                f"{100 * v['J&F-Worst']:>8.1f}{100 * v['J&F-Best']:>8.1f}"
            )
        summary = robust["summary"]
        lines.append(
            f"mean std {100 * summary['mean J&F-Std']:.1f}, mean worst-case J&F {100 * summary['mean J&F-Worst']:.1f}"
        )
    return "\n".join(lines).rstrip() + "\n"


def units_csv(result: dict) -> str:
    from instrack.evaluation.protocols import PROTOCOLS

    protocol = PROTOCOLS.get(result.get("protocol"))
    columns = protocol.csv_columns if protocol else CSV_COLUMNS
    buffer = io.StringIO()
    from instrack.evaluation.provenance import dataset_provenance

    ground_truth = dataset_provenance(result.get("dataset") or {})
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([CSV_HEADERS.get(key, key) for key in columns] + ["ground_truth"])
    for unit in result["units"]:
        writer.writerow([_csv_cell(key, unit.get(key)) for key in columns] + [ground_truth])
    return buffer.getvalue()


def _csv_cell(key: str, value) -> str:
    if value is None:
        return ""
    if key in METRIC_FIELDS:
        return f"{100 * value:.2f}"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


def write_csv(result: dict, path: str | Path) -> None:
    atomic_write_text(path, units_csv(result))
