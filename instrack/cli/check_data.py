"""instrack check-data: verify a dataset root (layout, masks, frame lists, checksums)."""

from __future__ import annotations

import argparse
import sys

HELP = "verify a dataset folder: layout, masks, frame lists, instructions and SHA256SUMS; report every problem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="dataset root (SPEC §1)")
    parser.add_argument("--split", action="append", metavar="SPLIT", help="only this split (repeatable)")
    parser.add_argument("--no-checksums", action="store_true", help="skip hashing every file against SHA256SUMS")
    parser.add_argument(
        "--write-checksums", action="store_true", help="(re)write SHA256SUMS from the files as they are now, then check"
    )
    parser.add_argument(
        "--allow-unannotated",
        action="store_true",
        help="accept videos with no instructions yet (a freshly curated root)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.dataset.checksums import write_checksums
    from instrack.dataset.integrity import check_root

    progress = not args.quiet and sys.stderr.isatty()
    if args.write_checksums:
        print(f"wrote {write_checksums(args.root, progress=progress)}", file=sys.stderr)
    problems, counts = check_root(
        args.root,
        splits=args.split,
        checksums=not args.no_checksums,
        allow_unannotated=args.allow_unannotated,
        progress=progress,
    )
    what = (
        f"{counts['splits']} split(s), {counts['videos']} videos, {counts['frames']} frames, "
        f"{counts['instructions']} instructions"
    )
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"error: {args.root}: {len(problems)} problem(s) in {what}", file=sys.stderr)
        return 2
    print(f"ok: {args.root}: {what}" + ("" if args.no_checksums else ", checksums match"))
    return 0
