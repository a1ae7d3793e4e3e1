"""What `instrack reproduce TABLE` compares: the rows of the paper's tables, where
their reported numbers come from, and how a row is named on the command line.

Tables 1 and 2 are read from the leaderboard's reported entries (typed in once,
in instrack_leaderboard.reported, and checked there against the paper); Table 3
is not on a leaderboard and is typed in here, cell by cell as printed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal

from instrack.errors import UsageError

TABLE2_METRICS = ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall")
TABLE1_METRICS = ("J&F-Mean", "J-Mean", "F-Mean")


@dataclass(frozen=True)
class PaperRow:
    """One row to reproduce: reported cells (fractions, None for "-") and how to store it."""

    label: str  # unique within the table; what --predictions LABEL=PATH names
    benchmark: str  # leaderboard board: instrack, refer-davis17
    method: str
    variant: str = ""
    year: int | None = None
    setting: str | None = None
    reasoning: bool | None = None
    reported: dict[str, float | None] = field(default_factory=dict)
    #: a tracker run by `instrack reproduce` itself (name, options), or None: import only
    tracker: tuple[str, dict] | None = None
    uses_ground_truth: bool = False
    note: str = ""


@dataclass(frozen=True)
class PaperTable:
    name: str
    title: str
    metrics: tuple[str, ...]
    rows: tuple[PaperRow, ...]
    caption: str = ""

    def row(self, key: str) -> PaperRow:
        """The row named `key` (a label, a method, an adapter key; case and punctuation ignored)."""
        wanted = normalize(key)
        for row in self.rows:
            if wanted in (normalize(row.label), normalize(row.method) if not row.variant else None):
                return row
        from instrack_baselines.rvos.specs import BASELINES

        if wanted in BASELINES:  # the adapters' keys: referformer, sgmg, r2vos, onlinerefer
            return self.row(BASELINES[wanted].method)
        labels = [r.label for r in self.rows]
        close = difflib.get_close_matches(key, labels, n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UsageError(f"--predictions {key!r}: no such row in {self.name}.{hint} (rows: {'; '.join(labels)})")


def normalize(text: str) -> str:
    return re.sub(r"[^a-z0-9+*]", "", text.lower().replace("²", "2"))


def percent(cell: str | None) -> float | None:
    return None if cell is None else float(Decimal(cell) / 100)


# -- Table 3, as printed: (J&F, J, F, J-R, F-R); "(+1.5)" annotations are derived, not stored.
TABLE3_CELLS: dict[str, tuple[tuple[str, tuple[str, str, str, str, str]], ...]] = {
    "refer-davis17": (
        ("Baseline", ("60.0", "55.9", "64.1", "61.4", "67.1")),
        ("+RP", ("61.5", "57.7", "65.2", "64.0", "69.6")),
        ("+RP+RT", ("64.3", "60.3", "68.3", "67.1", "73.6")),
    ),
    "instrack": (
        ("Baseline", ("41.5", "40.0", "42.1", "44.8", "43.3")),
        ("+RP", ("42.7", "41.5", "44.0", "46.8", "45.6")),
        ("+RP+RT", ("44.0", "42.8", "45.2", "48.0", "47.0")),
    ),
}
#: Table 3 component -> TrackGPT's switches (RP: referring propagation, RT: rethinking)
TABLE3_SWITCHES = {
    "Baseline": {"propagation": False, "rethinking": False},
    "+RP": {"propagation": True, "rethinking": False},
    "+RP+RT": {"propagation": True, "rethinking": True},
}
SECTION_TITLE = {"instrack": "InsTrack", "refer-davis17": "Refer-DAVIS17"}

SANITY_ROWS = (
    ("empty", "Empty masks (sanity)", False),
    ("full", "Full-frame masks (sanity)", False),
    ("first-frame-oracle", "First-frame GT repeated (sanity, uses ground truth)", True),
)


def _sanity_rows() -> tuple[PaperRow, ...]:
    return tuple(
        PaperRow(label=label, benchmark="instrack", method=label, tracker=(name, {}), uses_ground_truth=gt,
                 note="computed here; not in the paper")
        for name, label, gt in SANITY_ROWS
    )


def _from_store(store, benchmark: str, metrics: tuple[str, ...]) -> list[PaperRow]:
    from instrack_leaderboard.schema import METRIC_COLUMNS

    entries = sorted(store.entries(benchmark, origins=("reported",)), key=lambda e: e["id"])
    return [
        PaperRow(label=e["display_name"], benchmark=benchmark, method=e["method"], variant=e["variant"],
                 year=e["year"], setting=e["setting"], reasoning=e["reasoning"],
                 reported={m: e[METRIC_COLUMNS[m]] for m in metrics})
        for e in entries
    ]


def _dedupe(rows: list[PaperRow]) -> tuple[PaperRow, ...]:
    """Table 1 lists R²-VOS and OnlineRefer twice (offline / online, semi-online /
    online): such rows are labelled with their setting so each can be named."""
    from collections import Counter

    counts = Counter(row.label for row in rows)
    return tuple(PaperRow(**{**row.__dict__, "label": f"{row.label} ({row.setting})"}) if counts[row.label] > 1
                 else row for row in rows)


def protocol_for(benchmark: str) -> str:
    """How a row's predictions are scored: InsTrack units, or Ref-DAVIS17's
    unsupervised DAVIS protocol averaged over the four annotators."""
    return {"instrack": "instrack", "refer-davis17": "davis-unsup"}[benchmark]


def build_paper_table(name: str, store, *, sanity: bool = True, trackgpt: dict | None = None,
                      trackgpt_rows: dict[str, dict] | None = None, row_notes: dict[str, str] | None = None) -> PaperTable:
    """The table `name` with its reported cells; `trackgpt` (tracker options: preset,
    checkpoint, ...) makes Table 3's InsTrack rows runnable here; `trackgpt_rows`
    adds options per component (each row's own checkpoint, trackgpt.table3) and
    `row_notes` says where each row's checkpoint came from."""
    if name == "table2":
        rows = _from_store(store, "instrack", TABLE2_METRICS)
        return PaperTable(name, "InsTrack (TrackGPT paper, Table 2)", TABLE2_METRICS,
                          tuple(rows) + (_sanity_rows() if sanity else ()),
                          "J&F, J, F, J-R, F-R in percent; the paper's numbers against this suite's.")
    if name == "table1":
        rows = _from_store(store, "refer-davis17", TABLE1_METRICS)
        return PaperTable(name, "Refer-DAVIS17 (TrackGPT paper, Table 1)", TABLE1_METRICS, _dedupe(rows),
                          "Mean of the four annotators' runs (davis-unsup protocol). Refer-Youtube-VOS is scored "
                          "only by its challenge server and is not reproduced here.")
    if name == "table3":
        rows = []
        for benchmark, cells in TABLE3_CELLS.items():
            for component, values in cells:
                runnable = benchmark == "instrack" and trackgpt is not None
                rows.append(PaperRow(
                    label=f"{SECTION_TITLE[benchmark]} {component}", benchmark=benchmark, method="TrackGPT",
                    variant=f"Table 3 {component}", setting="online", reasoning=True,
                    reported=dict(zip(TABLE2_METRICS, map(percent, values))),
                    tracker=("trackgpt", {**(trackgpt or {}), **TABLE3_SWITCHES[component],
                                          **(trackgpt_rows or {}).get(component, {})}) if runnable else None,
                    note=(row_notes or {}).get(component, "") if runnable else "",
                ))
        return PaperTable(name, "Components of TrackGPT (TrackGPT paper, Table 3)", TABLE2_METRICS, tuple(rows),
                          "RP: cross-frame referring propagation, RT: rethinking. The paper does not say which "
                          "model size Table 3 used.")
    raise UsageError(f"table {name!r}: expected table1, table2 or table3")
