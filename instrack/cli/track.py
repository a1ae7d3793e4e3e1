"""`instrack track`: run a tracker over a dataset split and write a submission.

    instrack track --tracker trackgpt --preset tiny --data ROOT --split test --out PRED

Shards by the RANK / WORLD_SIZE environment (torchrun, accelerate launch) and
resumes: units already complete in PRED are skipped.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

HELP = "run a tracker (trackgpt, a baseline, null, oracle) over a split and write a submission"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracker", help="tracker name (see --list) or module:attr (docs/trackers.md)")
    parser.add_argument("--data", type=Path, help="dataset root in the layout of SPEC §1 (default: the bundled sample)")
    parser.add_argument("--split", default="test", help="split folder under --data (default: test)")
    parser.add_argument("--out", type=Path, help="submission folder to write (PRED/<video>/<exp_id>/<frame>.png)")
    parser.add_argument("--video", action="append", dest="videos", metavar="NAME",
                        help="only this video (repeatable)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite units that are already complete")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write one JSON per unit (answers, scores, rethought frames) here")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list the known trackers and exit")
    model = parser.add_argument_group("model trackers (TrackGPT and baselines that accept them)")
    model.add_argument("--preset", help="model preset: tiny, 7b, 13b")
    model.add_argument("--checkpoint", type=Path, help="trained weights (safetensors) of the preset")
    model.add_argument("--llava", type=Path, help="local LLaVA checkpoint folder (transformers format)")
    model.add_argument("--sam", type=Path, help="local SAM .pth checkpoint")
    model.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda:LOCAL_RANK when available)")
    model.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="compute dtype")
    model.add_argument("--no-rethinking", dest="rethinking", action="store_false", default=None,
                       help="never re-run the brain after frame 0 (Table 3 ablation)")
    model.add_argument("--no-propagation", dest="propagation", action="store_false", default=None,
                       help="no cross-frame referring propagation (Table 3 ablation)")
    model.add_argument("--tau-ratio", type=float, help="rethink when S_p < RATIO x first frame's S_p (default 0.5)")
    model.add_argument("--instruction-form", choices=["authors", "ours"],
                       help="TrackGPT: '<instruction> Please track the object.' (authors, default) or our older wording")
    model.add_argument("--seed", type=int, help="random seed for randomly initialised weights")


# CLI flag -> tracker option; only flags the user gave are passed on, so a tracker
# that does not take one can say which flag it refuses.
_OPTIONS = ("preset", "checkpoint", "llava", "sam", "device", "dtype", "rethinking", "propagation",
            "tau_ratio", "instruction_form", "seed")


@contextmanager
def loading(name: str, show: bool, every_s: float = 10.0):
    """Model trackers can take a minute to import and build: say so at the start,
    every `every_s` seconds while it lasts, and how long it took."""
    import threading
    import time

    if not show:
        yield
        return
    started, done = time.monotonic(), threading.Event()
    print(f"{name}: loading the tracker...", file=sys.stderr, flush=True)

    def heartbeat() -> None:
        while not done.wait(every_s):
            print(f"{name}: still loading ({time.monotonic() - started:.0f}s)", file=sys.stderr, flush=True)

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    print(f"{name}: loaded in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from instrack.errors import UsageError
    from instrack.tracking import TRACKERS
    from instrack.tracking.runner import RunConfig, Shard, run_tracking

    if args.list:
        for name in TRACKERS.names():
            print(name)
        return 0
    if args.tracker is None:
        raise UsageError("--tracker is required: a name from `instrack track --list`, or module:attr for "
                         "your own (docs/trackers.md)")
    if args.out is None:
        raise UsageError("--out is required")
    on_sample = args.data is None
    if args.data is None:
        try:
            from instrack.dataset.sample import sample_root
        except ImportError as err:
            raise UsageError("--data is required (no bundled sample in this install)") from err
        args.data = sample_root()
    options = {key: getattr(args, key) for key in _OPTIONS if getattr(args, key) is not None}
    config = RunConfig(
        data=args.data,
        out=args.out,
        split=args.split,
        shard=Shard.from_env(),
        videos=tuple(args.videos) if args.videos else None,
        overwrite=args.overwrite,
        report=args.report,
        progress=args.progress,
    )
    # Check the data before loading a model that may take minutes.
    from instrack.dataset.layout import read_split

    read_split(config.data, config.split)
    # an unknown name is one error line, with no "loading" before it
    with loading(args.tracker, args.progress and args.tracker in TRACKERS):
        tracker = TRACKERS.create(args.tracker, **options)
    try:
        summary = run_tracking(tracker, config)
    finally:
        tracker.close()
    rate = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
    print(
        f"{tracker.name}: rank {config.shard.rank}/{config.shard.world_size}: wrote {summary.written} unit(s), "
        f"skipped {summary.skipped} already complete, of {summary.total_units}; "
        f"{summary.frames} unit-frames in {summary.seconds:.1f}s ({rate:.1f}/s) -> {config.out}",
        file=sys.stderr,
    )
    gt = "" if on_sample else f" --gt {config.data}" + ("" if config.split == "test" else f" --split {config.split}")
    if config.videos or config.shard.world_size > 1:
        print("next: when every video (and every rank) is done, "
              f"`instrack evaluate{gt} --pred {config.out}` scores the whole submission", file=sys.stderr)
    else:
        print(f"next: `instrack evaluate{gt} --pred {config.out}` to score it", file=sys.stderr)
    return 0
