"""instrack import-release: the authors' InsTrack archive (or any release in the
layouts of this family of datasets) -> the layout of SPEC §1."""

from __future__ import annotations

import argparse
import sys

HELP = "import a released dataset archive (zip, tar or folder) into the InsTrack layout, checked like check-data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the release: a .zip, a .tar[.gz|.bz2|.xz] or a folder")
    parser.add_argument("--out", metavar="ROOT", required=True, help="dataset root to create (must not exist)")
    parser.add_argument("--force", action="store_true", help="replace ROOT if it exists")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="write what could be imported even when some of it could not (still listed; exit status 2)",
    )
    parser.add_argument(
        "--split",
        action="append",
        metavar="NAME",
        help="only this split folder of the release (repeatable), e.g. to leave out a split without masks",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.dataset.release.convert import import_release

    report = import_release(args.path, args.out, force=args.force, partial=args.partial,
                            progress=not args.quiet and sys.stderr.isatty(), splits=args.split)
    for folder, split in sorted(report.splits.items()):
        layout = report.layouts.get(folder, "unreadable")
        print(f"found: {folder} ({layout}) -> split {split}")
    if report.videos:
        for line in report.composition_lines():
            print(f"found: {line}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.problems:
        what = "the importable part was written to" if report.written else "nothing was written to"
        print(f"error: {args.path}: {len(report.problems)} problem(s); {what} {args.out}", file=sys.stderr)
        return 2
    print(f"imported {args.path} -> {args.out}: {len(report.videos)} videos; check-data passes")
    return 0
