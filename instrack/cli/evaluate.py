"""instrack evaluate: score a submission (SPEC §6)."""

from __future__ import annotations

import argparse
import json
import sys

from instrack.cli.common import add_gt_pred_arguments, at_least, resolve_gt_pred
from instrack.fileio import atomic_write_json

HELP = "score a submission: J, F, J&F, recall, decay and breakdowns (SPEC §6)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_gt_pred_arguments(parser)
    parser.add_argument("--json", metavar="OUT.json", help="write the full result (SPEC §6) here ('-': stdout)")
    parser.add_argument("--csv", metavar="OUT.csv", help="write one row per unit here")
    parser.add_argument("--plot", metavar="DIR", help="draw per-video J&F, J/F over time for the worst units, "
                        "and (instrack layout) overlays of their worst frames")
    parser.add_argument("--workers", type=at_least(1), metavar="N", help="processes (default: all cores)")
    parser.add_argument("--no-per-frame", action="store_true", help="leave per-frame scores out of the JSON")
    parser.add_argument("--quiet", action="store_true", help="no table, no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.evaluation import evaluate
    from instrack.evaluation.report import format_table, write_csv

    gt, pred = resolve_gt_pred(args)
    result = evaluate(
        gt,
        pred,
        split=args.split,
        protocol=args.protocol,
        workers=args.workers,
        progress=not args.quiet and sys.stderr.isatty(),
        per_frame=not args.no_per_frame,
    )
    if result.get("quirks"):
        # revos: one line when the submission triggered a quirk of the official scorer
        from instrack.evaluation.protocols._revos_metrics import quirk_line

        print(quirk_line(result["quirks"], result["protocol"]), file=sys.stderr)
    if args.json == "-":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif args.json:
        atomic_write_json(args.json, result)
    if args.csv:
        write_csv(result, args.csv)
    if args.plot:
        from instrack.evaluation.plots import plot_result

        paths = plot_result(result, args.plot)
        if result["dataset"].get("layout") == "instrack" and not args.no_per_frame:
            from instrack.evaluation.overlays import plot_overlays

            paths.append(plot_overlays(result, gt, pred, args.plot))
        for path in filter(None, paths):
            print(f"wrote {path}", file=sys.stderr)
    if not args.quiet and args.json != "-":
        sys.stdout.write(format_table(result))
    if not args.quiet:
        print(next_step(result, args), file=sys.stderr)
    return 0


def next_step(result: dict, args: argparse.Namespace) -> str:
    """What a user would do after this run, as commands they can paste."""
    from instrack.evaluation.provenance import is_sample_result

    if is_sample_result(result) and (result.get("submission") or {}).get("example"):
        return ("next: run a tracker on the sample and score its predictions: "
                "`instrack track --tracker NAME --out pred/ && instrack evaluate --pred pred/` "
                "(`instrack track --list` names the trackers; docs/trackers.md shows how to bring your own). "
                "For InsTrack itself, get the data (README, \"Getting the data\") and pass --gt ROOT.")
    if is_sample_result(result):
        return ("next: these are sample numbers (they go only to the instrack-sample board); "
                "to score on InsTrack, get the data (README, \"Getting the data\") and pass --gt ROOT --pred PRED.")
    if not args.json:
        return ("next: keep the full result with --json OUT.json, then put it on a leaderboard: "
                "`instrack leaderboard add OUT.json --method NAME --db lb.sqlite`.")
    return (f"next: `instrack leaderboard add {args.json} --method NAME --db lb.sqlite` to put it on a board; "
            "`instrack leaderboard show --db lb.sqlite` to compare with the paper's Table 2.")
