"""instrack import-hf: turn an export-hf folder back into the dataset layout, byte for byte."""

from __future__ import annotations

import argparse
import sys

HELP = "write the dataset folder (SPEC §1) back from an `instrack export-hf` folder, byte-identical"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "export",
        metavar="EXPORT",
        help="export folder (a local copy of the HF dataset, e.g. from `huggingface-cli download`)",
    )
    parser.add_argument("out", metavar="ROOT", help="new dataset root")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.dataset.hf import import_hf

    counts = import_hf(args.export, args.out, progress=not args.quiet)
    print(
        f"imported {args.export} -> {args.out}: {counts['videos']} videos, {counts['files']} files, checksums match",
        file=sys.stderr,
    )
    return 0
