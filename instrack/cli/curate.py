"""instrack curate: build the InsTrack layout from raw DAVIS-2017 and VIPSeg downloads."""

from __future__ import annotations

import argparse
import sys

from instrack.cli.common import at_least

HELP = "build the dataset folder (SPEC §1) from raw DAVIS-2017 / VIPSeg downloads and a manifest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--davis", metavar="DIR", help="DAVIS-2017 trainval folder (holds JPEGImages/480p)")
    parser.add_argument(
        "--davis-annotations",
        choices=("Annotations_unsupervised", "Annotations"),
        help="DAVIS annotation set the manifest's obj_ids refer to (default: the manifest's, else "
        "Annotations_unsupervised, whose ids Ref-DAVIS17 and davis_semantics.json follow)",
    )
    parser.add_argument("--vipseg", metavar="DIR", help="VIPSeg folder (holds imgs/ and panomasks/)")
    parser.add_argument(
        "--manifest", metavar="FILE", help="selection manifest (default: the one shipped with instrack)"
    )
    parser.add_argument("--out", metavar="ROOT", required=True, help="dataset root to create or update")
    parser.add_argument(
        "--instructions",
        metavar="FILE",
        help="meta_expressions.json-like file with the annotated instructions to merge in",
    )
    parser.add_argument("--video", action="append", metavar="NAME", help="only this video (repeatable)")
    parser.add_argument("--split", action="append", metavar="SPLIT", help="only this split (repeatable)")
    parser.add_argument("--workers", type=at_least(1), default=1, metavar="N", help="processes (default: 1)")
    parser.add_argument("--force", action="store_true", help="rebuild videos even when their record is current")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from instrack.dataset.curate import curate
    from instrack.dataset.manifest import load_manifest

    manifest = load_manifest(args.manifest)
    report = curate(
        manifest,
        args.out,
        davis=args.davis,
        vipseg=args.vipseg,
        names=args.video,
        splits=args.split,
        instructions=args.instructions,
        workers=max(1, args.workers),
        force=args.force,
        progress=not args.quiet,
        davis_annotations=args.davis_annotations,
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.missing_source:
        which = sorted({e.source for e in manifest.entries if e.name in set(report.missing_source)})
        print(
            f"note: {len(report.missing_source)} video(s) skipped: no folder given for {', '.join(which)}",
            file=sys.stderr,
        )
    for name in report.removed:
        print(f"note: removed {name} (no longer in the manifest)", file=sys.stderr)
    for name, message in report.failed:
        print(f"error: {name}: {message}", file=sys.stderr)
    print(
        f"curated {args.out}: {len(report.built)} built, {len(report.skipped)} up to date, {len(report.failed)} failed",
        file=sys.stderr,
    )
    return 2 if report.failed else 0
