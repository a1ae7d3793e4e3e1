"""Tables in Markdown, LaTeX (booktabs), HTML and CSV.

Percentages with one decimal, as the paper prints them, except CSV, which keeps
the stored fractions for machines. Best is bold and second underlined in the
three formats meant for people."""

from __future__ import annotations

import csv
import html
import io

from instrack.errors import UsageError
from instrack_leaderboard.reported import BENCHMARKS
from instrack_leaderboard.tables import SHORT, Row, Table, percent

FORMATS = ("md", "latex", "html", "csv")


def _title(benchmark: str) -> str:
    return BENCHMARKS.get(benchmark, (benchmark, ""))[0]


def _lead_columns(table: Table) -> list[str]:
    cols = ["Method", "Year", "Online/Offline"]
    if any(r.entry.get("reasoning") is not None for r in table.rows):
        cols.append("Reasoning")
    if table.spec.show_origin:
        cols.append("Origin")
    return cols


def _lead_values(table: Table, row: Row) -> list[str]:
    e = row.entry
    out = [e["display_name"], "" if e["year"] is None else str(e["year"]), e["setting"] or ""]
    if "Reasoning" in _lead_columns(table):
        out.append({True: "yes", False: "no", None: ""}[e.get("reasoning")])
    if table.spec.show_origin:
        out.append(e["origin"])
    return out


def render(table: Table, fmt: str) -> str:
    try:
        return {"md": to_markdown, "latex": to_latex, "html": to_html, "csv": to_csv}[fmt](table)
    except KeyError:
        raise UsageError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}") from None


# -- Markdown -----------------------------------------------------------------

def to_markdown(table: Table) -> str:
    multi = len(table.spec.groups) > 1
    heads = _lead_columns(table) + [
        (f"{_title(b)} {SHORT[m]}" if multi else SHORT[m]) for b, m in table.columns
    ]
    lines = [f"**{table.spec.title}** ({table.spec.contends_note})", "",
             "| " + " | ".join(heads) + " |",
             "|" + "|".join(["---"] * len(_lead_columns(table)) + ["---:"] * len(table.columns)) + "|"]
    for row in table.rows:
        cells = [c.replace("|", "\\|") for c in _lead_values(table, row)]
        for col in table.columns:
            text, mark = percent(row.values.get(col)), row.marks.get(col)
            cells.append(f"**{text}**" if mark == 1 else f"<u>{text}</u>" if mark == 2 else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- LaTeX ----------------------------------------------------------------------

_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "²": r"$^2$", "*": r"$^*$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


_LATEX_METRIC = {"J&F": r"$\mathcal{J}\&\mathcal{F}$", "J": r"$\mathcal{J}$", "F": r"$\mathcal{F}$",
                 "J-R": r"$\mathcal{J}$-$\mathcal{R}$", "F-R": r"$\mathcal{F}$-$\mathcal{R}$",
                 "J-D": r"$\mathcal{J}$-$\mathcal{D}$", "F-D": r"$\mathcal{F}$-$\mathcal{D}$"}


def to_latex(table: Table) -> str:
    """A booktabs table: \\textbf for best, \\underline for second."""
    lead = _lead_columns(table)
    n_lead = len(lead)
    colspec = "l" * n_lead + "".join("c" * len(metrics) for _, metrics in table.spec.groups)
    out = [r"% needs \usepackage{booktabs}", r"\begin{table}[t]", r"\centering",
           rf"\begin{{tabular}}{{{colspec}}}", r"\toprule"]
    # benchmark header row with a rule under each group
    header, rules, start = [""] * n_lead, [], n_lead + 1
    for benchmark, metrics in table.spec.groups:
        header.append(rf"\multicolumn{{{len(metrics)}}}{{c}}{{{latex_escape(_title(benchmark))}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + len(metrics) - 1}}}")
        start += len(metrics)
    out.append(" & ".join(header) + r" \\")
    out.append(" ".join(rules))
    out.append(" & ".join([latex_escape(c) for c in lead] + [_LATEX_METRIC[SHORT[m]] for _, m in table.columns])
               + r" \\")
    out.append(r"\midrule")
    for row in table.rows:
        cells = [latex_escape(c) for c in _lead_values(table, row)]
        for col in table.columns:
            text, mark = percent(row.values.get(col)), row.marks.get(col)
            cells.append(rf"\textbf{{{text}}}" if mark == 1 else rf"\underline{{{text}}}" if mark == 2 else text)
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}",
            rf"\caption{{{latex_escape(table.spec.caption or table.spec.title)} "
            rf"{latex_escape(table.spec.contends_note.capitalize())}.}}",
            r"\end{table}"]
    return "\n".join(out) + "\n"


# -- HTML -------------------------------------------------------------------------

def to_html(table: Table) -> str:
    """A standalone <table> fragment (the web board has its own, sortable one)."""
    esc = html.escape
    lead = _lead_columns(table)
    parts = ['<table class="instrack-table">', f"<caption>{esc(table.spec.title)} "
             f"({esc(table.spec.contends_note)})</caption>", "<thead>"]
    if len(table.spec.groups) > 1:
        parts.append("<tr>" + f'<th colspan="{len(lead)}"></th>' + "".join(
            f'<th colspan="{len(ms)}">{esc(_title(b))}</th>' for b, ms in table.spec.groups) + "</tr>")
    parts.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in lead)
                 + "".join(f"<th>{esc(SHORT[m])}</th>" for _, m in table.columns) + "</tr>")
    parts.append("</thead><tbody>")
    for row in table.rows:
        cells = [f"<td>{esc(c)}</td>" for c in _lead_values(table, row)]
        for col in table.columns:
            text, mark = esc(percent(row.values.get(col))), row.marks.get(col)
            inner = f"<strong>{text}</strong>" if mark == 1 else f"<u>{text}</u>" if mark == 2 else text
            cells.append(f'<td class="num">{inner}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts) + "\n"


# -- CSV ------------------------------------------------------------------------------

def to_csv(table: Table) -> str:
    """Fractions as stored (full precision), one column per benchmark metric."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    multi = len(table.spec.groups) > 1
    writer.writerow(["method", "variant", "year", "setting", "reasoning", "origin", "entry_id"]
                    + [f"{b}:{m}" if multi else m for b, m in table.columns])
    for row in table.rows:
        e = row.entry
        writer.writerow([e["method"], e["variant"], e["year"] or "", e["setting"] or "",
                         "" if e.get("reasoning") is None else str(bool(e["reasoning"])).lower(), e["origin"],
                         e["id"]] + ["" if row.values.get(c) is None else repr(row.values[c]) for c in table.columns])
    return buf.getvalue()
