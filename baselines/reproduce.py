"""`instrack reproduce TABLE`: for every row of a paper table that has predictions
(run here or imported), evaluate them, store the result as `reproduced` in the
leaderboard store, and render reported vs reproduced with the difference.

Rows without predictions are listed as such and never filled in. What runs here:
the sanity baselines (Table 2) and TrackGPT's Table 3 switches when a preset is
given; everything else is imported with `--predictions ROW=PATH`, where PATH is
a SPEC §2 submission (folder, zip, RLE JSON), an official referring-VOS output
folder (converted on the way), or for Refer-DAVIS17 a folder holding the four
annotators' runs `anno_0` ... `anno_3` of DAVIS-layout indexed PNGs.

Outputs go to `out`: predictions/ (what ran here), results/<row>.json (the
evaluator's SPEC §6 result), table.md, table.csv and plot.png.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instrack.errors import DataError, InsTrackError, UsageError
from instrack.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text
from instrack_baselines.paper_tables import PaperRow, PaperTable, build_paper_table, protocol_for

ANNOTATORS = tuple(f"anno_{k}" for k in range(4))


@dataclass(frozen=True)
class ReproduceConfig:
    table: str
    out: Path
    #: dataset of the table's main benchmark: an InsTrack root (table2, table3; default:
    #: the bundled sample) or a DAVIS-2017 root (table1)
    data: Path | None = None
    split: str | None = None
    #: DAVIS-2017 root for Table 3's Refer-DAVIS17 rows
    davis: Path | None = None
    predictions: tuple[tuple[str, Path], ...] = ()
    db: str | None = None
    sanity: bool = True
    #: TrackGPT tracker options (preset, checkpoint, llava, sam, device, ...) for Table 3
    trackgpt: dict[str, Any] | None = None
    #: Table 3: per-component options (each row's checkpoint) and where they came from
    trackgpt_rows: dict[str, dict[str, Any]] | None = None
    row_notes: dict[str, str] | None = None
    workers: int | None = None
    progress: bool = True


@dataclass
class RowOutcome:
    row: PaperRow
    status: str  # "run" (here), "imported", or "missing"
    source: str = ""
    metrics: dict[str, float] | None = None
    entry_id: int | None = None
    #: the board the result went to: instrack-sample for rows scored on the bundled sample
    board: str = ""


@dataclass
class Reproduction:
    table: PaperTable
    outcomes: list[RowOutcome]
    store_url: str
    files: dict[str, Path] = field(default_factory=dict)
    #: scored on the bundled sample: every title and note says so
    sample: bool = False
    #: False when the store is the embedded in-memory one, which forgets everything on exit
    kept: bool = True


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower().replace("²", "2").replace("*", "star")).strip("-")


def _roots(config: ReproduceConfig) -> dict[str, tuple[Path | None, str]]:
    """benchmark -> (ground-truth root, split)."""
    if config.table == "table1":
        return {"refer-davis17": (config.data, config.split or "val")}
    data = config.data
    if data is None:
        from instrack.dataset.sample import SPLIT, sample_root

        data = sample_root()
        split = config.split or SPLIT
    else:
        split = config.split or "test"
    return {"instrack": (Path(data), split), "refer-davis17": (config.davis, "val")}


def _is_sample(root_split: tuple[Path | None, str] | None) -> bool:
    if root_split is None or root_split[0] is None:
        return False
    import hashlib

    from instrack.dataset.sample import is_sample

    meta = Path(root_split[0]) / root_split[1] / "meta_expressions.json"
    return is_sample(root_split[0], hashlib.sha256(meta.read_bytes()).hexdigest() if meta.is_file() else None)


def reproduce(config: ReproduceConfig) -> Reproduction:
    from instrack_leaderboard.store import Store

    store = Store(config.db)
    table = build_paper_table(config.table, store, sanity=config.sanity, trackgpt=config.trackgpt,
                              trackgpt_rows=config.trackgpt_rows, row_notes=config.row_notes)
    imports: dict[str, tuple[PaperRow, Path]] = {}
    for key, path in config.predictions:
        row = table.row(key)
        if row.label in imports:
            raise UsageError(f"--predictions: row {row.label!r} given twice")
        if not Path(path).exists():
            raise UsageError(f"--predictions {key}={path}: no such file or folder")
        imports[row.label] = (row, Path(path))
    roots = _roots(config)
    out = Path(config.out)
    outcomes = []
    for row in table.rows:
        if row.label in imports:
            outcome = RowOutcome(row, "imported", str(imports[row.label][1]))
            predictions = imports[row.label][1]
        elif row.tracker is not None:
            outcome = RowOutcome(row, "run")
            predictions = _run_tracker(row, roots[row.benchmark], out / "predictions" / slug(row.label), config)
            outcome.source = str(predictions)
        else:
            outcomes.append(RowOutcome(row, "missing"))
            continue
        root, split = roots[row.benchmark]
        if root is None:
            flag = "--data" if config.table == "table1" else "--davis"
            raise UsageError(f"row {row.label!r}: {flag} ROOT (a DAVIS-2017 folder) is needed to score it")
        _say(config, f"{table.name}: scoring {row.label} ({outcome.status}: {predictions})")
        result = _score(row, predictions, root, split, out, config)
        atomic_write_json(out / "results" / f"{slug(row.label)}.json", result)
        outcome.metrics = {k: float(result["metrics"][k]) for k in table.metrics}
        outcome.entry_id = _store(store, row, result, f"instrack reproduce {table.name} ({outcome.status}: "
                                                      f"{outcome.source})")
        outcome.board = store.entry(outcome.entry_id)["benchmark"]
        outcomes.append(outcome)
    report = Reproduction(table, outcomes, store.display_url, sample=_is_sample(roots.get("instrack")),
                          kept=not store.is_embedded)
    from instrack_baselines.report import plot_png, to_csv, to_markdown

    report.files = {"table.md": out / "table.md", "table.csv": out / "table.csv", "plot.png": out / "plot.png"}
    atomic_write_text(report.files["table.md"], to_markdown(report))
    atomic_write_text(report.files["table.csv"], to_csv(report))
    atomic_write_bytes(report.files["plot.png"], plot_png(report))
    return report


def _say(config: ReproduceConfig, message: str) -> None:
    if config.progress:
        print(message, file=sys.stderr)


def _run_tracker(row: PaperRow, root_split: tuple[Path | None, str], out: Path, config: ReproduceConfig) -> Path:
    """Run a registered tracker over the row's split (resumable: complete units are kept)."""
    from instrack.tracking import TRACKERS
    from instrack.tracking.runner import RunConfig, run_tracking

    root, split = root_split
    name, options = row.tracker
    _say(config, f"running tracker {name!r} for {row.label} -> {out}")
    tracker = TRACKERS.create(name, **options)
    try:
        run_tracking(tracker, RunConfig(data=root, out=out, split=split, progress=config.progress))
    finally:
        tracker.close()
    return out


def _score(row: PaperRow, predictions: Path, root: Path, split: str, out: Path, config: ReproduceConfig) -> dict:
    from instrack.evaluation import evaluate

    protocol = protocol_for(row.benchmark)
    if protocol == "instrack":
        predictions = _converted_if_official(predictions, root, split, out / "predictions" / slug(row.label), config)
        return evaluate(root, predictions, split, protocol="instrack", workers=config.workers, per_frame=False)
    return annotator_average(root, predictions, split, workers=config.workers)


def _converted_if_official(path: Path, root: Path, split: str, out: Path, config: ReproduceConfig) -> Path:
    """A folder whose videos sit deeper than its top level is an official
    referring-VOS output (`valid/`, `Annotations/` ...): convert it first."""
    if not path.is_dir():
        return path  # a zip or an RLE JSON: the evaluator reads it as is
    from instrack.dataset.layout import read_split
    from instrack_baselines.rvos.convert import convert_predictions, find_prediction_root

    videos = set(read_split(root, split).videos)
    try:
        found = find_prediction_root(path, videos)
    except InsTrackError:
        return path  # let the evaluator name what is wrong
    if found.resolve() == path.resolve():
        return path
    _say(config, f"{path}: official outputs found in {found}; converting to {out}")
    convert_predictions(path, root, split, out, progress=config.progress)
    return out


def find_annotator_runs(path: Path) -> dict[str, Path]:
    """anno_0 ... anno_3 under `path` (at most two levels down)."""
    for base in (path, *sorted(p for p in path.iterdir() if p.is_dir())) if path.is_dir() else ():
        for candidate in (base, *sorted(p for p in base.iterdir() if p.is_dir())):
            runs = {a: candidate / a for a in ANNOTATORS if (candidate / a).is_dir()}
            if runs:
                missing = [a for a in ANNOTATORS if a not in runs]
                if missing:
                    raise UsageError(f"{candidate}: Ref-DAVIS17 needs the four annotators' runs; "
                                     f"{', '.join(missing)} missing")
                return runs
    raise UsageError(f"{path}: no anno_0 ... anno_3 folders (Ref-DAVIS17 predictions: one DAVIS-layout run "
                     "per annotator)")


def annotator_average(root: Path, path: Path, split: str, workers: int | None = None) -> dict:
    """Ref-DAVIS17: score each annotator's run with davis-unsup and average the
    four (every metric, as the Ref-DAVIS17 papers do)."""
    from instrack.evaluation import evaluate

    runs = find_annotator_runs(Path(path))
    results = {a: evaluate(root, p, split, protocol="davis-unsup", workers=workers, per_frame=False)
               for a, p in runs.items()}
    first = results[ANNOTATORS[0]]
    metrics = {k: sum(r["metrics"][k] for r in results.values()) / len(results) for k in first["metrics"]}
    units = [{**u, "exp_id": annotator} for annotator, r in results.items() for u in r["units"]]
    digest = hashlib.sha256("".join(r["submission_sha256"] for r in results.values()).encode()).hexdigest()
    return {**first, "metrics": metrics, "units": units, "submission_sha256": digest,
            "dataset": {**first["dataset"], "annotators": list(results)},
            "per_annotator": {a: r["metrics"] for a, r in results.items()}}


def _store(store, row: PaperRow, result: dict, source: str) -> int:
    from instrack_leaderboard.results import parse_result

    parsed = parse_result(result, source)
    # a row scored on the bundled sample goes to the sample board, never beside the paper's numbers
    return store.add_result(parsed, method=row.method, variant=row.variant, origin="reproduced",
                            benchmark=None if parsed.is_sample else row.benchmark, year=row.year, setting=row.setting, reasoning=row.reasoning,
                            source=source)


__all__ = ["ReproduceConfig", "Reproduction", "RowOutcome", "annotator_average", "find_annotator_runs",
           "reproduce", "DataError"]
