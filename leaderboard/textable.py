"""A board as plain text for the terminal (`instrack leaderboard show`)."""

from __future__ import annotations

from instrack_leaderboard.schema import METRIC_COLUMNS
from instrack_leaderboard.store import Store
from instrack_leaderboard.tables import SHORT, percent


def board_text(store: Store, benchmark: str, origins: list[str] | None = None, include_hidden: bool = False) -> str:
    entries = store.entries(benchmark, origins=origins, include_hidden=include_hidden)
    if not entries:
        known = ", ".join(store.benchmarks())
        return f"no entries on {benchmark!r} (boards: {known})\n"
    metrics = [m for m in METRIC_COLUMNS if any(e[METRIC_COLUMNS[m]] is not None for e in entries)]
    head = ["id", "method", "origin", "year", "setting"] + [SHORT[m] for m in metrics]
    rows = [[str(e["id"]), e["display_name"] + (" [hidden]" if e["hidden"] else ""), e["origin"],
             str(e["year"] or ""), e["setting"] or ""] + [percent(e[METRIC_COLUMNS[m]]) for m in metrics]
            for e in entries]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    numeric = set(range(5, len(head)))

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [f"{benchmark}: {len(entries)} entries, J&F best first (percent)  [{store.display_url}]",
           line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out) + "\n"
