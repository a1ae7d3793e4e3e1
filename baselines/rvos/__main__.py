"""`python -m instrack_baselines.rvos export|run|convert|list`: the adapters from
a shell. Errors a user can cause print one line and exit with status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m instrack_baselines.rvos", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def data_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, required=True, help="InsTrack root (SPEC §1 layout)")
        p.add_argument("--split", default="test", help="split under --data (default: test)")

    export = sub.add_parser("export", help="write a split in the Ref-YouTube-VOS layout")
    data_flags(export)
    export.add_argument("--out", type=Path, required=True, help="folder to become the --ytvos_path")
    export.add_argument("--copy", action="store_true", help="copy frames instead of hard-linking them")

    run = sub.add_parser("run", help="export, run the official inference script, convert")
    run.add_argument("baseline", help="referformer, sgmg, r2vos or onlinerefer")
    data_flags(run)
    run.add_argument("--repo", type=Path, required=True, help="checkout of the baseline's official code")
    run.add_argument("--checkpoint", type=Path, help="the released weights (.pth)")
    run.add_argument("--work", type=Path, required=True, help="scratch folder: exported data, raw outputs, log")
    run.add_argument("--out", type=Path, required=True, help="submission folder to write (SPEC §2)")
    run.add_argument("--command", help="command template replacing the default (placeholders: {python} {repo} "
                                       "{ytvos} {output} {checkpoint} {ngpu} {backbone})")
    run.add_argument("--python", help="interpreter of the baseline's environment (default: this one)")
    run.add_argument("--backbone", help="backbone flag value (default: the baseline's)")
    run.add_argument("--ngpu", type=int, default=1)

    convert = sub.add_parser("convert", help="convert prediction folders (or a zip) into a SPEC §2 submission")
    convert.add_argument("predictions", type=Path, help="what the official code wrote (folder or .zip)")
    data_flags(convert)
    convert.add_argument("--out", type=Path, required=True, help="submission folder to write")

    sub.add_parser("list", help="the known baselines and their default commands")
    return parser


def main(argv: list[str] | None = None) -> int:
    from instrack.errors import InsTrackError, SubmissionError

    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except SubmissionError as err:
        for problem in err.problems[:20]:
            print(f"error: {problem}", file=sys.stderr)
        print(f"error: {err.source}: {len(err.problems)} problem(s); nothing was converted", file=sys.stderr)
        return 2
    except InsTrackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from instrack_baselines import rvos

    if args.action == "list":
        for b in rvos.BASELINES.values():
            print(f"{b.key:12s} {b.method:12s} {b.repo_url}\n    {b.command}\n    edit once: {b.edit}\n    {b.notes}")
        return 0
    if args.action == "export":
        s = rvos.export_ytvos(args.data, args.split, args.out, mode="copy" if args.copy else "link")
        print(f"exported {s.videos} videos, {s.expressions} instructions, {s.frames} frames -> {s.root}")
        return 0
    if args.action == "convert":
        s = rvos.convert_predictions(args.predictions, args.data, args.split, args.out)
        print(f"converted {s.units} units ({s.frames} frames) from {s.source} -> {s.out}")
        return 0
    result = rvos.run_baseline(args.baseline, data=args.data, split=args.split, repo=args.repo, work=args.work,
                               out=args.out, checkpoint=args.checkpoint, command=args.command, python=args.python,
                               ngpu=args.ngpu, backbone=args.backbone)
    print(f"{result.baseline.method}: {result.convert.units} units -> {result.convert.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
