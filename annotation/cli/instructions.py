"""`instrack instructions report ROOT`: counts, lengths, flags and the share of
instructions naming their target's category, with a picture."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "report on a split's instructions (counts, lengths, flags, category naming, a picture)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["report"], help="what to do")
    parser.add_argument("root", type=Path, metavar="ROOT", help="dataset root (SPEC §1 layout)")
    parser.add_argument("--split", default="test", help="split folder under ROOT (default: test)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write instructions_report.json and instructions_lengths.png here "
                             "(default: ROOT/.annotation/report/<split>)")


def run(args: argparse.Namespace) -> int:
    from instrack_annotation.meta import WORK_DIR
    from instrack_annotation.report import build_report, write_report

    report = build_report(args.root, args.split)
    print(report.text())
    json_path, png_path = write_report(report, args.out or args.root / WORK_DIR / "report" / args.split)
    print(f"wrote {json_path} and {png_path}")
    return 0
