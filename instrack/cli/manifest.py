"""instrack manifest: selection manifests from an imported release, and their differences."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "selection manifests: write one from an imported release (from-release), compare two (diff)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="manifest_action", metavar="ACTION", required=True)
    from_release = actions.add_parser("from-release", help="write the selection manifest of an imported release")
    from_release.add_argument("root", metavar="ROOT", help="dataset root made by `instrack import-release`")
    from_release.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    diff = actions.add_parser("diff", help="what two manifests select differently (exit 1 when they differ)")
    diff.add_argument("a", metavar="A", help="a manifest ('bundled' for the one shipped with instrack)")
    diff.add_argument("b", metavar="B", help="another manifest ('bundled' for the one shipped with instrack)")


def run(args: argparse.Namespace) -> int:
    from instrack.dataset.manifest import load_manifest
    from instrack.dataset.manifest_release import diff_manifests, manifest_from_release
    from instrack.fileio import atomic_write_text

    if args.manifest_action == "from-release":
        manifest, notes = manifest_from_release(args.root)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        if args.out:
            atomic_write_text(args.out, text)
            load_manifest(args.out)  # what was written must load
            print(f"wrote {args.out}: {len(manifest['videos'])} videos", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    a = load_manifest(None if args.a == "bundled" else args.a)
    b = load_manifest(None if args.b == "bundled" else args.b)
    lines = diff_manifests(a, b)
    for line in lines:
        print(line)
    print(f"{len(lines)} difference(s) between {a.path} and {b.path}", file=sys.stderr)
    return 1 if lines else 0
