"""ReVOS benchmark: `instrack evaluate --protocol revos` against the official
cilinyan/VISA tools/eval_revos.py on the same synthetic ReVOS set, same worker count.

    python benchmarks/revos.py --visa /path/to/VISA --visa-python /path/to/python
    python benchmarks/revos.py --videos 4 --frames 6      # quick look, ours only

Reports the wall time of each (a fresh process, as a user runs it), the peak
memory (the largest resident set of any one process: ru_maxrss of the
children, each run in its own wrapper process) and the largest difference
between the two results' reported numbers. The official script runs unchanged
except for its hard-coded 128 workers, set to --workers (tests/official_revos.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - start
print(done.returncode, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr[-2000:])
"""


def measured(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(seconds, peak MB of any one process) of `command` run to completion."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=cwd)
    returncode, seconds, peak_kb = done.stdout.split()
    if returncode != "0":
        raise SystemExit(f"{command[0]} failed:\n{done.stderr}")
    return float(seconds), int(peak_kb) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--frames", type=int, default=40, help="most frames per video")
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--visa", type=Path, help="checkout of cilinyan/VISA (outside this repo)")
    parser.add_argument("--visa-python", default=sys.executable)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE.parent / "tests"))
    from instrack.dataset.synthetic_revos import RevosSpec, make_revos_set

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gt, pred = tmp / "gt", tmp / "run" / "pred"
        summary = make_revos_set(gt, pred, RevosSpec(videos=args.videos, max_frames=args.frames, height=args.height,
                                                     width=args.width, seed=0))
        n_units = sum(summary["type_id"].values())
        print(f"set: {args.videos} videos, {n_units} expressions, up to {args.frames} frames at "
              f"{args.width}x{args.height}; mask_dict.json {(gt / 'mask_dict.json').stat().st_size / 1e6:.1f} MB")
        ours_json = tmp / "ours.json"
        seconds, peak = measured([sys.executable, "-m", "instrack.cli.main", "evaluate", "--protocol", "revos",
                                  "--gt", str(gt), "--split", "valid", "--pred", str(pred), "--workers",
                                  str(args.workers), "--quiet", "--json", str(ours_json)])
        print(f"instrack revos, {args.workers} workers: {seconds:.1f} s, peak {peak:.0f} MB")
        if args.visa is None:
            return 0
        from official_revos import RUNNER

        runner = pred.parent / "run_eval_revos.py"
        runner.write_text(RUNNER)
        official_seconds, official_peak = measured(
            [args.visa_python, str(runner), str(args.workers), str(args.visa / "tools"), str(pred),
             "--visa_exp_path", str(gt / "meta_expressions_valid_.json"),
             "--visa_mask_path", str(gt / "mask_dict.json"),
             "--visa_foreground_mask_path", str(gt / "mask_dict_foreground.json")], cwd=pred.parent)
        print(f"official eval_revos.py, {args.workers} workers: {official_seconds:.1f} s, peak {official_peak:.0f} MB")
        print(f"speed-up {official_seconds / seconds:.1f}x")
        ours = json.loads(ours_json.read_text())["metrics"]
        theirs = json.loads((pred.parent / "revos_valid.json").read_text())
        names = {"J": "J-Mean", "F": "F-Mean", "A": "A-Mean", "R": "R-Mean", "JF": "J&F-Mean"}
        pairs = [(ours, theirs["overall"]), (ours["groups"]["referring"], theirs["referring"]),
                 (ours["groups"]["reasoning"], theirs["reason"])]
        worst = max(abs(100 * mine[names[k]] - value) for mine, group in pairs for k, value in group.items())
        print(f"largest difference of a reported number: {worst:.2e} (percent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
