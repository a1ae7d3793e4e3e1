"""instrack candidates: rank possible targets in DAVIS-2017 or VIPSeg videos."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "rank possible targets in raw DAVIS-2017 / VIPSeg videos (visibility, size, same-category distractors)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--davis", metavar="DIR", help="DAVIS-2017 trainval folder")
    parser.add_argument(
        "--davis-annotations",
        choices=("Annotations_unsupervised", "Annotations"),
        default="Annotations_unsupervised",
        help="DAVIS annotation set to rank (default: Annotations_unsupervised, whose ids Ref-DAVIS17 follows)",
    )
    source.add_argument("--vipseg", metavar="DIR", help="VIPSeg folder")
    parser.add_argument("--video", action="append", metavar="NAME", help="only this video (repeatable)")
    parser.add_argument("--split", metavar="SPLIT", help="only the videos of this source split (e.g. val)")
    parser.add_argument("--top", type=int, default=3, metavar="N", help="candidates per video (default 3; 0 = all)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from instrack.dataset.candidates import format_table, rank_davis, rank_vipseg

    if args.davis:
        from instrack.dataset.sources.davis import DavisSource

        source, rank = DavisSource(args.davis, annotations=args.davis_annotations), rank_davis
    else:
        from instrack.dataset.sources.vipseg import VipsegSource

        source, rank = VipsegSource(args.vipseg), rank_vipseg
    videos = args.video or source.sequences(args.split)
    found = []
    for video in tqdm(videos, desc="candidates", unit="video", file=sys.stderr, disable=len(videos) < 2):
        ranked = rank(source, video)
        found.extend(ranked[: args.top] if args.top > 0 else ranked)
    found.sort(key=lambda c: (-c.score, c.video, c.target))
    if args.json:
        for candidate in found:
            print(json.dumps(candidate.to_json()))
    else:
        print(format_table(found))
    return 0
