"""`instrack reproduce table2|table1|table3`: evaluate every row of a paper table
that has predictions (run here or imported), store them as `reproduced`, and
render reported vs reproduced with the difference (Markdown, CSV, plot).

    instrack reproduce table2                                     # sample + sanity baselines
    instrack reproduce table2 --data ROOT --predictions OnlineRefer=PRED --predictions "LISA-7B*=PRED2"
    instrack reproduce table1 --data DAVIS2017 --predictions ReferFormer=RUNS   # RUNS/anno_0..anno_3
    instrack reproduce table3 --preset 7b --llava L --sam S --train instrack=ROOT   # trains Baseline and +RP
    instrack reproduce table3 --preset 7b ... --row-checkpoint Baseline=B --row-checkpoint +RP=C
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from instrack.cli.common import at_least

HELP = "reproduce the paper's tables: evaluate baselines' predictions, store and compare with the paper"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=("table1", "table2", "table3"),
                        help="table2: InsTrack; table1: Refer-DAVIS17; table3: TrackGPT's components")
    parser.add_argument("--data", type=Path, metavar="ROOT",
                        help="InsTrack root for table2/table3 (default: the bundled sample), "
                             "DAVIS-2017 root for table1")
    parser.add_argument("--split", help="split to score (default: test for InsTrack, val for DAVIS)")
    parser.add_argument("--davis", type=Path, metavar="ROOT", help="DAVIS-2017 root for table3's Refer-DAVIS17 rows")
    parser.add_argument("--predictions", action="append", default=[], metavar="ROW=PATH",
                        help="predictions of a row (repeatable): a submission folder/zip/RLE JSON, an official "
                             "referring-VOS output folder, or (Refer-DAVIS17) a folder with anno_0..anno_3")
    parser.add_argument("--out", type=Path, help="where predictions run here, results, table and plot go "
                                                 "(default: ./reproduce-TABLE)")
    parser.add_argument("--db", metavar="URL_OR_PATH",
                        help="leaderboard store (default: $INSTRACK_LEADERBOARD_DB, else the embedded store, "
                             "which forgets the reproduced rows when the command ends)")
    parser.add_argument("--no-sanity", dest="sanity", action="store_false",
                        help="table2: do not run the sanity baselines (empty, full, first-frame oracle)")
    parser.add_argument("--workers", type=at_least(1), help="evaluation processes (default: all cores)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--rows", action="store_true", help="list the table's rows (names for --predictions) and exit")
    model = parser.add_argument_group("table3: run TrackGPT here (InsTrack rows) instead of importing")
    model.add_argument("--preset", help="tiny, 7b, 13b")
    model.add_argument("--checkpoint", type=Path)
    model.add_argument("--llava", type=Path)
    model.add_argument("--sam", type=Path)
    model.add_argument("--device")
    model.add_argument("--dtype", choices=["float32", "bfloat16", "float16"])
    model.add_argument("--row-checkpoint", action="append", default=[], metavar="ROW=PATH",
                       help="table3: the checkpoint of one row (Baseline, +RP, +RP+RT); +RP+RT takes +RP's")
    model.add_argument("--train", action="append", default=[], metavar="KIND=PATH[,...]",
                       help="table3: train each row's checkpoint here on these datasets (as `instrack train --data`): "
                            "Baseline without propagation, +RP with it; +RP+RT shares +RP's")
    model.add_argument("--train-stage", default="instrack", help="table3 --train: stage (default instrack)")
    model.add_argument("--train-init", type=Path, help="table3 --train: start from this checkpoint (previous stage)")
    model.add_argument("--train-epochs", type=int, help="table3 --train: override the stage's epochs")
    model.add_argument("--train-steps-per-epoch", type=int, help="table3 --train: override steps per epoch")
    model.add_argument("--train-batch-size", type=int, default=2, help="table3 --train: clips per device (default 2)")
    model.add_argument("--train-total-batch", type=int, default=16,
                       help="table3 --train: clips per optimizer step over all devices (default 16, the paper's)")


def _pairs(values: list[str]) -> tuple[tuple[str, Path], ...]:
    from instrack.errors import UsageError

    out = []
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key.strip() or not path.strip():
            raise UsageError(f"--predictions {value!r}: expected ROW=PATH (see --rows for row names)")
        out.append((key.strip(), Path(path.strip()).expanduser()))
    return tuple(out)


def _table3_checkpoints(args: argparse.Namespace, trackgpt: dict) -> tuple[dict, dict]:
    """One checkpoint per Table 3 row, trained here or taken (trackgpt.table3); says which."""
    from instrack.errors import require

    require("torch", "trackgpt")
    from trackgpt.table3 import parse_row_checkpoints, plan
    from trackgpt.train import TrainConfig, parse_data_args

    training = None
    if args.train:
        training = TrainConfig(preset=trackgpt["preset"], stage=args.train_stage, data=parse_data_args(args.train),
                               out=Path("."), llava=args.llava, sam=args.sam, init=args.train_init,
                               epochs=args.train_epochs, steps_per_epoch=args.train_steps_per_epoch,
                               batch_size=args.train_batch_size, total_batch=args.train_total_batch,
                               device=args.device, progress=args.progress)
    out = args.out or Path(f"reproduce-{args.table}")
    checkpoints = plan(given=parse_row_checkpoints(args.row_checkpoint), shared=trackgpt.pop("checkpoint", None),
                       training=training, out=out, say=lambda m: print(m, file=sys.stderr) if args.progress else None)
    for component, row in checkpoints.rows.items():
        print(f"table3 {component}: checkpoint {row.describe()}", file=sys.stderr)
    return checkpoints.tracker_options(), checkpoints.notes()


def run(args: argparse.Namespace) -> int:
    from instrack.errors import UsageError
    from instrack_baselines.reproduce import ReproduceConfig, reproduce

    trackgpt = {k: getattr(args, k) for k in ("preset", "checkpoint", "llava", "sam", "device", "dtype")
                if getattr(args, k) is not None}
    per_row = {k: getattr(args, k) for k in ("row_checkpoint", "train") if getattr(args, k)}
    if (trackgpt or per_row) and args.table != "table3":
        flag = next(iter(trackgpt or per_row)).replace("_", "-")
        raise UsageError(f"--{flag}: only table3 runs TrackGPT here; for {args.table}, run "
                         "`instrack track` and pass --predictions")
    if (trackgpt or per_row) and "preset" not in trackgpt:
        raise UsageError("table3: --preset is needed to run TrackGPT here")
    trackgpt_rows = row_notes = None
    if trackgpt and not args.rows:
        trackgpt_rows, row_notes = _table3_checkpoints(args, trackgpt)
    if args.rows:
        from instrack_baselines.paper_tables import build_paper_table
        from instrack_leaderboard.store import Store

        table = build_paper_table(args.table, Store(args.db), sanity=args.sanity, trackgpt=trackgpt or None)
        for row in table.rows:
            print(f"{row.label}\t{row.benchmark}\t{'runs here' if row.tracker else 'import with --predictions'}")
        return 0
    config = ReproduceConfig(
        table=args.table, out=args.out or Path(f"reproduce-{args.table}"), data=args.data, split=args.split,
        davis=args.davis, predictions=_pairs(args.predictions), db=args.db, sanity=args.sanity,
        trackgpt=trackgpt or None, trackgpt_rows=trackgpt_rows, row_notes=row_notes, workers=args.workers,
        progress=args.progress,
    )
    report = reproduce(config)
    sys.stdout.write(config.out.joinpath("table.md").read_text(encoding="utf-8"))
    done = sum(1 for o in report.outcomes if o.metrics is not None)
    from instrack_baselines.report import stored_note

    sample = " on the bundled sample (not InsTrack)" if report.sample else ""
    print(f"{args.table}: {done} of {len(report.outcomes)} rows reproduced{sample}; wrote "
          f"{', '.join(str(p) for p in report.files.values())}. {stored_note(report)}", file=sys.stderr)
    return 0
