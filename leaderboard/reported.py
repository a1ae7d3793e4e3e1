"""The numbers the TrackGPT paper reports, typed in from its Tables 1 and 2.

Cells are kept as the paper prints them (percent strings, None for "-") so that
test_leaderboard_reported can compare them, cell by cell, with the paper's text;
reported_rows() turns them into store rows with fractions in [0, 1] (SPEC §5).

Citations are the paper's own reference list; a link is given only where the
paper itself gives one (its code, LISA's arXiv id), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator

SOURCE_PAPER = "Zhu et al., Tracking with Human-Intent Reasoning (TrackGPT / InsTrack)"
TRACKGPT_LINK = "https://github.com/jiawen-zhu/TrackGPT"

# benchmark name -> (display title, protocol the numbers were produced under)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "instrack": ("InsTrack", "instrack"),
    "refer-youtube-vos": ("Refer-Youtube-VOS", "refer-youtube-vos-server"),
    "refer-davis17": ("Refer-DAVIS17", "davis-unsup"),
    # the bundled sample split: a board of its own, never ranked against InsTrack test numbers
    "instrack-sample": ("InsTrack bundled sample (not InsTrack)", "instrack"),
}

# The paper's reference number -> (citation, link)
CITATIONS: dict[int | str, tuple[str, str]] = {
    3: ("Botach et al., End-to-end referring video object segmentation with multimodal transformers, CVPR 2022", ""),
    11: ("Ding et al., Progressive multimodal interaction network for referring video object segmentation, "
         "The 3rd Large-scale Video Object Segmentation Challenge 2021", ""),
    12: ("Ding et al., Language-bridged spatial-temporal interaction for referring video object segmentation, "
         "CVPR 2022", ""),
    23: ("Lai et al., LISA: Reasoning segmentation via large language model, arXiv:2308.00692, 2023",
         "https://arxiv.org/abs/2308.00692"),
    25: ("Li et al., You only infer once: Cross-modal meta-transfer for referring video object segmentation, "
         "AAAI 2022", ""),
    27: ("Li et al., Robust referring video object segmentation with cyclic structural consensus, ICCV 2023", ""),
    28: ("Liang et al., Rethinking cross-modal interaction from a top-down perspective for referring video "
         "object segmentation, CVPRW 2021", ""),
    30: ("Liu et al., Cross-modal progressive comprehension for referring segmentation, TPAMI 2021", ""),
    34: ("Miao et al., Spectrum-guided multi-granularity referring video object segmentation, ICCV 2023", ""),
    46: ("Seo et al., URVOS: Unified referring video object segmentation network with a large-scale benchmark, "
         "ECCV 2020", ""),
    50: ("Wu et al., Multi-level representation learning with semantic alignment for referring video object "
         "segmentation, CVPR 2022", ""),
    51: ("Wu et al., OnlineRefer: A simple online baseline for referring video object segmentation, ICCV 2023", ""),
    52: ("Wu et al., Language as queries for referring video object segmentation, CVPR 2022", ""),
    57: ("Ye et al., Cross-modal self-attention network for referring image segmentation, CVPR 2019", ""),
    "ours": (SOURCE_PAPER, TRACKGPT_LINK),
}


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1: Refer-Youtube-VOS and Refer-DAVIS17, (J&F, J, F) each."""

    method: str
    ref: int | str
    year: int
    setting: str
    ytvos: tuple[str | None, str | None, str | None]
    davis: tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class Table2Row:
    """One row of Table 2: InsTrack (J&F, J, F, J-R, F-R)."""

    method: str
    variant: str
    ref: int | str
    year: int
    setting: str
    reasoning: bool
    cells: tuple[str, str, str, str, str]


_ = None
TABLE1: tuple[Table1Row, ...] = (
    Table1Row("CMPC-V", 30, 2021, "offline", ("47.5", "45.6", "49.3"), (_, _, _)),
    Table1Row("PMINet + CFBI", 11, 2021, "offline", ("54.2", "53.0", "55.5"), (_, _, _)),
    Table1Row("CITD", 28, 2021, "offline", ("61.4", "60.0", "62.7"), (_, _, _)),
    Table1Row("MLSA", 50, 2022, "offline", ("49.7", "48.4", "50.9"), ("57.9", "53.8", "62.0")),
    Table1Row("MTTR", 3, 2022, "offline", ("55.3", "54.0", "56.6"), (_, _, _)),
    Table1Row("ReferFormer", 52, 2022, "offline", ("62.9", "61.3", "64.6"), ("61.1", "58.1", "64.1")),
    Table1Row("R²-VOS", 27, 2023, "offline", ("61.3", "59.6", "63.1"), (_, _, _)),
    Table1Row("SgMg", 34, 2023, "offline", ("65.7", "63.9", "67.4"), ("63.3", "60.6", "66.0")),
    Table1Row("OnlineRefer", 51, 2023, "semi-online", ("62.9", "61.0", "64.7"), ("62.4", "59.1", "65.6")),
    Table1Row("CMSA", 57, 2019, "online", ("34.9", "33.3", "36.5"), ("34.7", "32.1", "37.2")),
    Table1Row("URVOS", 46, 2020, "online", ("47.2", "45.2", "49.1"), ("51.6", "47.2", "55.9")),
    Table1Row("YOFO", 25, 2022, "online", ("48.6", "47.5", "49.7"), ("53.3", "48.8", "57.8")),
    Table1Row("LBDT", 12, 2022, "online", ("49.4", "48.2", "50.6"), ("54.3", _, _)),
    Table1Row("R²-VOS", 27, 2023, "online", ("60.2", "58.9", "61.5"), (_, _, _)),
    Table1Row("OnlineRefer", 51, 2023, "online", ("63.5", "61.6", "65.5"), ("64.8", "61.6", "67.7")),
    Table1Row("LISA-7B*", 23, 2023, "online", ("50.2", "49.7", "50.6"), ("58.4", "54.9", "61.9")),
    Table1Row("LISA-13B*", 23, 2023, "online", ("52.6", "52.1", "53.0"), ("60.7", "56.8", "64.6")),
    Table1Row("TrackGPT-7B", "ours", 2023, "online", ("56.4", "55.3", "57.4"), ("63.2", "59.4", "67.0")),
    Table1Row("TrackGPT-13B", "ours", 2023, "online", ("59.5", "58.1", "60.8"), ("66.5", "62.7", "70.4")),
)

TABLE2: tuple[Table2Row, ...] = (
    Table2Row("ReferFormer", "", 52, 2022, "offline", False, ("24.0", "22.9", "25.2", "24.7", "23.1")),
    Table2Row("SgMg", "", 34, 2023, "offline", False, ("33.4", "31.9", "35.0", "34.6", "35.1")),
    Table2Row("R²-VOS", "", 27, 2023, "online", False, ("24.7", "21.1", "28.2", "21.6", "27.4")),
    Table2Row("OnlineRefer", "", 51, 2023, "online", False, ("36.8", "33.8", "39.9", "38.6", "40.0")),
    Table2Row("LISA-7B*", "", 23, 2023, "online", True, ("39.7", "38.5", "40.9", "37.0", "37.5")),
    Table2Row("LISA-13B*", "", 23, 2023, "online", True, ("45.2", "44.8", "45.7", "47.4", "44.7")),
    Table2Row("TrackGPT-7B", "", "ours", 2023, "online", True, ("43.3", "42.1", "44.5", "47.4", "46.2")),
    Table2Row("TrackGPT-13B", "", "ours", 2023, "online", True, ("50.5", "48.8", "52.1", "54.1", "58.0")),
    Table2Row("TrackGPT-7B", "IT", "ours", 2023, "online", True, ("49.2", "48.9", "49.4", "55.9", "54.9")),
    Table2Row("TrackGPT-13B", "IT", "ours", 2023, "online", True, ("54.9", "52.8", "56.9", "59.4", "62.9")),
)

TABLE1_METRICS = ("J&F-Mean", "J-Mean", "F-Mean")
TABLE2_METRICS = ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall")


def fraction(cell: str | None) -> float | None:
    """'62.9' (percent, as printed) -> 0.629; exact decimal, then one rounding."""
    return None if cell is None else float(Decimal(cell) / 100)


def _row(benchmark: str, source: str, method: str, variant: str, ref, year: int, setting: str,
         reasoning: bool | None, metrics: dict[str, str | None]) -> dict[str, Any]:
    from instrack_leaderboard.schema import METRIC_COLUMNS

    paper, link = CITATIONS[ref]
    row: dict[str, Any] = {
        "benchmark": benchmark, "split": "test", "method": method, "variant": variant, "year": year,
        "setting": setting, "reasoning": reasoning, "paper": paper, "link": link, "origin": "reported",
        "source": source, "protocol": BENCHMARKS[benchmark][1], "dataset_revision": "as in the paper",
        "evaluator_version": "", "submission_sha256": "", "hidden": False, "dataset": None, "breakdowns": None,
    }
    row.update({col: None for col in METRIC_COLUMNS.values()})
    row.update({METRIC_COLUMNS[name]: fraction(cell) for name, cell in metrics.items()})
    return row


def reported_rows() -> Iterator[dict[str, Any]]:
    """Store rows (schema.entries columns, less created_at) for both tables.

    A Table 1 row whose cells for a benchmark are all "-" gives no entry there."""
    for r in TABLE1:
        for benchmark, cells in (("refer-youtube-vos", r.ytvos), ("refer-davis17", r.davis)):
            if all(c is None for c in cells):
                continue
            yield _row(benchmark, f"{SOURCE_PAPER}, Table 1", r.method, "", r.ref, r.year, r.setting, None,
                       dict(zip(TABLE1_METRICS, cells)))
    for r in TABLE2:
        yield _row("instrack", f"{SOURCE_PAPER}, Table 2", r.method, r.variant, r.ref, r.year, r.setting,
                   r.reasoning, dict(zip(TABLE2_METRICS, r.cells)))
