"""instrack export-hf: write a dataset root as Hugging Face `datasets` parquet + card."""

from __future__ import annotations

import argparse
import sys

from instrack.cli.common import at_least

HELP = "write a dataset folder as a Hugging Face dataset (parquet shards + dataset card, no loading script)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="dataset root (SPEC §1)")
    parser.add_argument("out", metavar="OUT", help="new folder for the export (push it with `huggingface-cli upload`)")
    parser.add_argument("--max-shard-mb", type=at_least(0), default=500, metavar="MB", help="parquet shard size (default 500)")
    parser.add_argument("--title", default="InsTrack", help="dataset title in the card")
    parser.add_argument("--no-check", action="store_true", help="skip `check-data` before exporting")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.errors import DataError
    from instrack.dataset.hf import export_hf
    from instrack.dataset.integrity import check_root

    progress = not args.quiet
    if not args.no_check:
        # Exporting a broken root would publish it; check first (every problem, then stop).
        problems, _ = check_root(args.root, allow_unannotated=True, progress=progress and sys.stderr.isatty())
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            raise DataError(f"{args.root}: {len(problems)} problem(s); fix them or pass --no-check")
    summary = export_hf(
        args.root, args.out, max_shard_bytes=args.max_shard_mb * 1024 * 1024, title=args.title, progress=progress
    )
    parts = ", ".join(
        f"{split}: {c['videos']} videos / {c['instructions']} instructions" for split, c in summary["splits"].items()
    )
    print(f"exported {args.root} -> {args.out} ({parts})", file=sys.stderr)
    return 0
