"""instrack validate: list every problem of a submission without scoring it."""

from __future__ import annotations

import argparse
import sys

from instrack.cli.common import add_gt_pred_arguments, at_least, resolve_gt_pred
from instrack.errors import SubmissionError

HELP = "check a submission against the ground truth and list every problem (exit 2 if any)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_gt_pred_arguments(parser)
    parser.add_argument("--decode", action="store_true",
                        help="also decode every mask (finds corrupt PNG data, slower)")
    parser.add_argument("--workers", type=at_least(1), metavar="N", help="processes for --decode (default: all cores)")


def run(args: argparse.Namespace) -> int:
    from instrack.evaluation import default_workers, run_jobs, validate

    gt, pred = resolve_gt_pred(args)
    report, plan, submission = validate(gt, pred, args.split, args.protocol)
    for message in report.warnings:
        print(f"warning: {message}", file=sys.stderr)
    problems = list(report.problems)
    if not problems and args.decode:
        outcomes = run_jobs(plan.jobs, args.workers or default_workers())
        problems = sorted((p for o in outcomes for p in o.problems), key=lambda p: p.where)
    submission.close()
    if problems:
        raise SubmissionError(pred, problems)
    print(f"ok: {pred} has all {report.n_files} mask files for {plan.dataset['n_videos']} videos "
          f"({args.protocol}{', decoded' if args.decode else ''})")
    return 0
