"""Entry point of the `instrack` command.

The core verbs (scoring, dataset tooling, tracking) are named in VERBS; the other
packages of the suite (leaderboard, annotation, baselines, trackgpt) and plugins
outside it contribute theirs through the `instrack.verbs` entry-point group, so
this package imports none of them. Verb modules are imported lazily, so
`instrack --help` stays fast and a verb's heavy imports (torch, servers) happen
only when that verb runs. Each verb module defines:

    HELP: str                                 one line for `instrack --help`
    def add_arguments(parser) -> None         its flags
    def run(args) -> int                      the work; returns the exit status

Errors a user can cause are InsTrackError: printed as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from instrack import __version__
from instrack.errors import InsTrackError, SubmissionError

#: The core verbs: verb -> module.
VERBS: dict[str, str] = {
    "evaluate": "instrack.cli.evaluate",
    "validate": "instrack.cli.validate",
    "curate": "instrack.cli.curate",
    "check-data": "instrack.cli.check_data",
    "candidates": "instrack.cli.candidates",
    "export-hf": "instrack.cli.export_hf",
    "import-hf": "instrack.cli.import_hf",
    "import-release": "instrack.cli.import_release",
    "manifest": "instrack.cli.manifest",
    "track": "instrack.cli.track",
}

#: Entry-point group through which other packages add verbs ("verb = module").
VERB_GROUP = "instrack.verbs"

EXIT_OK, EXIT_BUG, EXIT_INPUT = 0, 1, 2

# Top-level modules of optional dependencies -> the extra that installs them.
EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "torchvision", "transformers", "peft", "accelerate", "safetensors",
                     "segment_anything", "sentencepiece"), "trackgpt"),
    **dict.fromkeys(("datasets", "pyarrow"), "data"),
    **dict.fromkeys(("openai", "label_studio_sdk", "pydantic"), "annotation"),
    **dict.fromkeys(("sqlalchemy", "fastapi", "uvicorn", "jinja2", "multipart", "dask", "distributed"),
                    "leaderboard"),
}


def all_verbs() -> dict[str, str]:
    """Core verbs, then those contributed by installed packages (a core name wins)."""
    from importlib.metadata import entry_points

    verbs = dict(VERBS)
    for entry in sorted(entry_points(group=VERB_GROUP), key=lambda e: e.name):
        verbs.setdefault(entry.name, entry.value.partition(":")[0])
    return verbs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instrack",
        description="InsTrack: instruction-tracking benchmark, evaluator and reference tracker.",
    )
    parser.add_argument("--version", action="version", version=f"instrack {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, module_name in all_verbs().items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                continue  # the verb's module is not part of this install
            raise
        sub = subparsers.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args._run(args) or 0)
    except SubmissionError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"error: {err.source}: {len(err.problems)} problem(s); nothing was scored", file=sys.stderr)
        return EXIT_INPUT
    except InsTrackError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except ModuleNotFoundError as err:
        extra = EXTRA_OF_MODULE.get((err.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"error: `instrack {args.verb}` needs the optional package {err.name!r}: "
              f"pip install -e '.[{extra}]' (in your clone of instrack)", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
