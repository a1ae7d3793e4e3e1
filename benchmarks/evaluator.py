"""Evaluator benchmark: instrack vs the decode floor (and the official DAVIS code),
or, with --protocol mevis, instrack vs the official MeViS scorer.

    python benchmarks/evaluator.py                       # 30 seq x 70 frames x 480x854
    python benchmarks/evaluator.py --official ~/davis2017-evaluation
    python benchmarks/evaluator.py --sequences 4 --frames 10   # quick look
    python benchmarks/evaluator.py --protocol mevis --official-mevis ~/MeViS --official-python PY
        # MeViS valid_u size: 50 videos x 15 expressions x 60 frames at 1280x720, RLE ground truth

Reports, from one run on one machine: the wall time of
`instrack evaluate --protocol davis-semi` (a fresh process, as a user runs it),
the time to only decode every GT and prediction PNG with Pillow (the floor, in
one process and in --workers processes), and with --official the official
davis2017-evaluation's time on the same data, plus the largest difference
between the two results' global numbers and per-object means. Peak memory is
the largest resident set of any one process (ru_maxrss of the children).
`instrack_decode_s` is the same decode with instrack's own reader
(instrack/png_decode.py, which is faster than Pillow on plain mask PNGs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

OFFICIAL_SNIPPET = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from davis2017.evaluation import DAVISEvaluation
start = time.perf_counter()
metrics = DAVISEvaluation(davis_root=sys.argv[2], task=sys.argv[4], gt_set="val").evaluate(sys.argv[3])
J, F = metrics["J"], metrics["F"]
out = {"seconds": time.perf_counter() - start,
       "global": {"J&F-Mean": (np.mean(J["M"]) + np.mean(F["M"])) / 2, "J-Mean": np.mean(J["M"]),
                  "J-Recall": np.mean(J["R"]), "J-Decay": np.mean(J["D"]), "F-Mean": np.mean(F["M"]),
                  "F-Recall": np.mean(F["R"]), "F-Decay": np.mean(F["D"])},
       "objects": {k: [J["M_per_object"][k], F["M_per_object"][k]] for k in J["M_per_object"]}}
json.dump(out, open(sys.argv[5], "w"), default=float)
"""


def _decode_folder(folder: str, decoder: str = "pillow") -> int:
    """Decode every PNG of a folder: with Pillow (the floor any Pillow-based
    scorer pays) or with instrack's own reader (png_decode, Pillow fallback)."""
    from instrack.masks import read_mask

    count = 0
    for name in sorted(os.listdir(folder)):
        if decoder == "pillow":
            with Image.open(os.path.join(folder, name)) as image:
                np.asarray(image)
        else:
            read_mask(os.path.join(folder, name))
        count += 1
    return count


def decode_floor(folders: list[str], workers: int, decoder: str = "pillow") -> float:
    start = time.perf_counter()
    if workers <= 1:
        for folder in folders:
            _decode_folder(folder, decoder)
    else:
        with Pool(workers) as pool:
            pool.starmap(_decode_folder, [(folder, decoder) for folder in folders], chunksize=1)
    return time.perf_counter() - start


def run_timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and the peak RSS (MB) of the command's largest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--frames", type=int, default=70)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--data", help="reuse (or create) the synthetic set here")
    parser.add_argument("--official", help="path to a checkout of davis2017-evaluation")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--protocol", choices=("davis-semi", "mevis"), default="davis-semi")
    mevis = parser.add_argument_group("--protocol mevis (defaults: the size of MeViS valid_u)")
    mevis.add_argument("--videos", type=int, default=50)
    mevis.add_argument("--expressions", type=int, default=15, help="per video")
    mevis.add_argument("--mevis-frames", type=int, default=60)
    mevis.add_argument("--mevis-height", type=int, default=720)
    mevis.add_argument("--mevis-width", type=int, default=1280)
    mevis.add_argument("--official-mevis", help="checkout of henghuiding/MeViS (tools/ is enough)")
    mevis.add_argument("--official-python", default=sys.executable,
                       help="interpreter with the official script's imports (numpy, cv2, pycocotools, skimage)")
    mevis.add_argument("--official-timeout", type=float, default=5400)
    mevis.add_argument("--official-lower-bound", action="store_true",
                       help="stop the official run at --official-timeout and report that time as a lower bound")
    args = parser.parse_args()
    if args.protocol == "mevis":
        return mevis_main(args)

    from instrack.dataset.synthetic import SyntheticSpec, write_davis

    data = Path(args.data or tempfile.mkdtemp(prefix="instrack-bench-"))
    gt, pred = data / "davis", data / "pred_semi"
    if not (gt / "ImageSets").exists():
        spec = SyntheticSpec(args.sequences, args.frames, args.height, args.width)
        print(f"generating {spec} in {data}", file=sys.stderr)
        write_davis(gt, pred, data / "pred_unsup", spec)
    sequences = (gt / "ImageSets" / "2017" / "val.txt").read_text().split()
    folders = [str(gt / "Annotations" / "480p" / s) for s in sequences] + [str(pred / s) for s in sequences]
    n_png = sum(len(os.listdir(f)) for f in folders)

    figures: dict = {"sequences": len(sequences), "pngs": n_png, "workers": args.workers}
    # warm the page cache so every contender reads from memory
    decode_floor(folders, 1)
    figures["decode_floor_1proc_s"] = decode_floor(folders, 1)
    figures["decode_floor_s"] = decode_floor(folders, args.workers)
    figures["instrack_decode_s"] = decode_floor(folders, args.workers, "instrack")

    ours_json = data / "instrack-semi.json"
    command = [sys.executable, "-m", "instrack.cli.main", "evaluate", "--gt", str(gt), "--pred", str(pred),
               "--protocol", "davis-semi", "--workers", str(args.workers), "--quiet", "--json", str(ours_json)]
    figures["instrack_s"], figures["instrack_peak_mb"] = run_timed(command)
    figures["instrack_vs_floor"] = figures["instrack_s"] / figures["decode_floor_s"]

    if args.official:
        official_json = data / "official-semi.json"
        snippet = [sys.executable, "-c", OFFICIAL_SNIPPET, args.official, str(gt), str(pred), "semi-supervised",
                   str(official_json)]
        figures["official_s"], figures["official_peak_mb"] = run_timed(snippet)
        figures["speedup_vs_official"] = figures["official_s"] / figures["instrack_s"]
        ours, official = json.loads(ours_json.read_text()), json.loads(official_json.read_text())
        diffs = [abs(ours["metrics"][k] - v) for k, v in official["global"].items()]
        for unit in ours["units"]:
            j, f = official["objects"][f"{unit['video']}_{unit['object']}"]
            diffs += [abs(unit["J-Mean"] - j), abs(unit["F-Mean"] - f)]
        figures["max_abs_diff_vs_official"] = max(diffs)

    for key, value in figures.items():
        print(f"{key:28s} {value:.4g}" if isinstance(value, float) else f"{key:28s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def mevis_main(args) -> int:
    """instrack evaluate --protocol mevis vs tools/eval_mevis.py, same data, same worker count.
    Time is wall time of a fresh process; memory the peak PSS of its whole process tree."""
    from official_mevis import prepared_script, run_official, upstream_commit
    from tree_memory import run_measured

    from instrack.dataset.synthetic_mevis import MevisSyntheticSpec, write_mevis

    spec = MevisSyntheticSpec(videos=args.videos, expressions=args.expressions, frames=args.mevis_frames,
                              height=args.mevis_height, width=args.mevis_width, max_objects=4, no_target=0.1,
                              single_frame_every=0, seed=0)
    data = Path(args.data or tempfile.mkdtemp(prefix="instrack-bench-mevis-"))
    gt, pred = data / "gt", data / "pred"
    if not (gt / spec.split / "meta_expressions.json").exists():
        print(f"generating {spec} in {data}", file=sys.stderr)
        started = time.perf_counter()
        write_mevis(gt, pred, spec, progress=lambda i, n: print(f"  video {i}/{n}", file=sys.stderr))
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    meta = json.loads((gt / spec.split / "meta_expressions.json").read_text())["videos"]
    figures: dict = {
        "videos": len(meta), "expressions": sum(len(v["expressions"]) for v in meta.values()),
        "frames_scored": sum(len(v["frames"]) * len(v["expressions"]) for v in meta.values()),
        "size": f"{spec.width}x{spec.height}", "workers": args.workers,
        "mask_dict_mb": round((gt / spec.split / "mask_dict.json").stat().st_size / 2**20, 1),
    }
    # the decode floors: every prediction PNG decoded, in --workers processes
    folders = sorted(str(p) for p in pred.glob("*/*") if p.is_dir())
    decode_floor(folders, args.workers)  # warm the page cache
    figures["pillow_decode_s"] = decode_floor(folders, args.workers)
    figures["instrack_decode_s"] = decode_floor(folders, args.workers, "instrack")
    ours_json = data / "instrack-mevis.json"
    command = [sys.executable, "-m", "instrack.cli.main", "evaluate", "--protocol", "mevis", "--gt", str(gt),
               "--split", spec.split, "--pred", str(pred), "--workers", str(args.workers), "--quiet",
               "--no-per-frame", "--json", str(ours_json)]
    # the machine may be shared: the 1-minute load average after each contender says how busy it was
    started = time.perf_counter()
    completed, figures["instrack_peak_mb"] = run_measured(command)
    figures["instrack_s"] = time.perf_counter() - started
    figures["load_after_instrack"] = os.getloadavg()[0]
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    print(f"instrack: {figures['instrack_s']:.1f} s, peak {figures['instrack_peak_mb']:.0f} MB", file=sys.stderr,
          flush=True)
    if args.official_mevis:
        with tempfile.TemporaryDirectory(prefix="official-mevis-") as tmp:
            script = prepared_script(Path(args.official_mevis), args.workers, Path(tmp))
            official = run_official(script, args.official_python, gt / spec.split, pred, data / "official-mevis.json",
                                    timeout=args.official_timeout, retries=2, lower_bound=args.official_lower_bound)
        figures["official_commit"] = upstream_commit(Path(args.official_mevis))[:7]
        figures["official_s"], figures["official_peak_mb"] = official["seconds"], official["peak_mb"]
        figures["load_after_official"] = os.getloadavg()[0]
        figures["speedup_vs_official"] = figures["official_s"] / figures["instrack_s"]
        if official.get("timed_out"):  # stopped at --official-timeout: its time and speedup are lower bounds
            figures["official_timed_out"] = True
            _print_figures(figures, args)
            return 0
        ours = json.loads(ours_json.read_text())
        diffs = [abs(ours["metrics"]["J-Mean"] - official["J"]), abs(ours["metrics"]["F-Mean"] - official["F"]),
                 abs(ours["metrics"]["J&F-Mean"] - official["J&F"])]
        for unit in ours["units"]:
            j, f = official["per_expression"][f"{unit['video']}_{unit['exp_id']}"]
            diffs += [abs(unit["J-Mean"] - j), abs(unit["F-Mean"] - f)]
        figures["max_abs_diff_vs_official"] = max(diffs)
    _print_figures(figures, args)
    return 0


def _print_figures(figures: dict, args) -> None:
    for key, value in figures.items():
        print(f"{key:28s} {value:.4g}" if isinstance(value, float) else f"{key:28s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
