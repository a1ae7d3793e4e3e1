"""Flags shared by verbs that read ground truth and a submission."""

from __future__ import annotations

import argparse

from instrack.errors import UsageError
from instrack.evaluation.protocols import PROTOCOLS, get_protocol


def at_least(minimum: int):
    """An argparse type for an integer flag with a lower bound: a bad value is
    one usage line and exit 2, before any work starts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def add_gt_pred_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gt", metavar="ROOT", help="ground-truth root (default: the bundled sample)")
    parser.add_argument("--pred", metavar="PRED", help="submission: folder, .zip or RLE .json "
                        "(default: the bundled example submission)")
    parser.add_argument("--split", help="split or DAVIS subset (default: the protocol's, "
                        + ", ".join(f"{n}: {p.default_split}" for n, p in sorted(PROTOCOLS.items())) + ")")
    parser.add_argument("--protocol", default="instrack", type=_protocol_name, metavar="|".join(sorted(PROTOCOLS)),
                        help="evaluation protocol (default: instrack)")


def _protocol_name(text: str) -> str:
    try:
        return get_protocol(text).name
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def resolve_gt_pred(args: argparse.Namespace) -> tuple[str, str]:
    """Both paths, or neither (then the bundled sample and its example submission)."""
    if args.gt and args.pred:
        return args.gt, args.pred
    if args.gt or args.pred:
        missing = "--pred" if args.gt else "--gt"
        raise UsageError(f"{missing} is missing: give both --gt and --pred, or neither to use the bundled sample")
    if args.protocol != "instrack":
        raise UsageError(f"the bundled sample is in the instrack layout; give --gt and --pred for {args.protocol}")
    try:
        from instrack.dataset.sample import example_submission, sample_root
    except ImportError as err:
        raise UsageError("no bundled sample in this install; give --gt and --pred") from err
    return str(sample_root()), str(example_submission())
