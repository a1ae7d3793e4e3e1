"""What a table shows, independent of its format: rows, column groups, and
which cell is best and second best.

A table is data (TableSpec), found by name in TABLES, like the paper's tables:
`table1` (Refer-Youtube-VOS + Refer-DAVIS17, best two among online methods),
`table2` (InsTrack as reported), and any benchmark name for its full board
(every origin, best first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from instrack.errors import UsageError
from instrack_leaderboard.reported import BENCHMARKS
from instrack_leaderboard.schema import METRIC_COLUMNS
from instrack_leaderboard.store import LOWER_IS_BETTER, Store

SHORT = {"J&F-Mean": "J&F", "J-Mean": "J", "F-Mean": "F", "J-Recall": "J-R", "F-Recall": "F-R",
         "J-Decay": "J-D", "F-Decay": "F-D"}


@dataclass(frozen=True)
class TableSpec:
    title: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (benchmark, metric names)
    origins: tuple[str, ...] | None = None  # None: every origin
    # rows that compete for bold/underline (Table 1: online methods only)
    contends: Callable[[dict], bool] = lambda row: True
    contends_note: str = "best in bold, second underlined"
    paper_order: bool = False  # keep the store's order (the paper's) instead of best first
    show_origin: bool = True
    caption: str = ""


TABLES: dict[str, TableSpec] = {
    "table1": TableSpec(
        title="Refer-Youtube-VOS and Refer-DAVIS17 (TrackGPT paper, Table 1)",
        groups=(("refer-youtube-vos", ("J&F-Mean", "J-Mean", "F-Mean")),
                ("refer-davis17", ("J&F-Mean", "J-Mean", "F-Mean"))),
        origins=("reported",), contends=lambda row: row["setting"] == "online",
        contends_note="for online methods, best in bold and second underlined",
        paper_order=True, show_origin=False,
        caption="Region similarity J, boundary accuracy F and their average J&F (percent).",
    ),
    "table2": TableSpec(
        title="InsTrack (TrackGPT paper, Table 2)",
        groups=(("instrack", ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall")),),
        origins=("reported",), paper_order=True, show_origin=False,
        caption="The quantitative evaluation on InsTrack (percent). IT: instruction tuning.",
    ),
}


def spec_for(name: str) -> TableSpec:
    if name in TABLES:
        return TABLES[name]
    if name in BENCHMARKS:
        return TableSpec(title=f"{BENCHMARKS[name][0]} leaderboard", groups=((name, (
            "J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall", "J-Decay", "F-Decay")),))
    return TableSpec(title=f"{name} leaderboard", groups=((name, tuple(METRIC_COLUMNS)),))


@dataclass
class Row:
    key: tuple
    entry: dict  # the first entry seen for this row (method, year, ...)
    values: dict[tuple[str, str], float | None] = field(default_factory=dict)  # (benchmark, metric)
    marks: dict[tuple[str, str], int] = field(default_factory=dict)  # 1 best, 2 second


@dataclass
class Table:
    spec: TableSpec
    rows: list[Row]

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [(b, m) for b, metrics in self.spec.groups for m in metrics]


def build_table(store: Store, name: str, origins: tuple[str, ...] | None = None,
                include_hidden: bool = False) -> Table:
    spec = spec_for(name)
    origins = origins or spec.origins
    rows: dict[tuple, Row] = {}
    for benchmark, metrics in spec.groups:
        entries = store.entries(benchmark, origins=origins, include_hidden=include_hidden,
                                sort="jf_mean" if not spec.paper_order else "created_at", descending=False)
        if spec.paper_order:
            entries.sort(key=lambda e: e["id"])
        for e in entries:
            # Table 1 joins a method's two benchmarks into one row; a
            # submitted entry is its own row (its id is part of the key).
            key = (e["method"], e["variant"], e["setting"], e["year"], e["origin"],
                   e["id"] if e["origin"] != "reported" else 0)
            row = rows.setdefault(key, Row(key, e))
            for m in metrics:
                row.values[(benchmark, m)] = e[METRIC_COLUMNS[m]]
    if not rows and spec.groups[0][0] not in store.benchmarks():
        raise UsageError(f"table {name!r}: unknown table or benchmark; known: "
                         f"{', '.join(sorted(set(TABLES) | set(store.benchmarks())))}")
    ordered = list(rows.values())
    if not spec.paper_order:
        first = (spec.groups[0][0], spec.groups[0][1][0])
        ordered.sort(key=lambda r: (r.values.get(first) is None, -(r.values.get(first) or 0.0)))
    table = Table(spec, ordered)
    mark_best(table)
    return table


def competition_marks(values: list[float | None], lower_is_better: bool = False) -> list[int | None]:
    """1 (best) or 2 (second) per value, else None.

    Competition ranking: a value's rank is 1 + the number of strictly better
    values, so ties share a mark and a tie for best leaves no second. Values
    are compared at 1e-6 so float noise does not split a printed tie."""
    present = [round(v, 6) for v in values if v is not None]
    out: list[int | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        r = round(v, 6)
        better = sum(1 for o in present if (o < r if lower_is_better else o > r))
        out.append(better + 1 if better < 2 else None)
    return out


def mark_best(table: Table) -> None:
    """Marks per column among the rows that contend (Table 1: online only)."""
    contenders = [r for r in table.rows if table.spec.contends(r.entry)]
    for col in table.columns:
        lower = METRIC_COLUMNS[col[1]] in LOWER_IS_BETTER
        for row, mark in zip(contenders, competition_marks([r.values.get(col) for r in contenders], lower)):
            if mark:
                row.marks[col] = mark


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"
