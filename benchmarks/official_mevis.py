"""Run henghuiding/MeViS tools/eval_mevis.py (the official MeViS scorer) from a
checkout OUTSIDE this repository, and regenerate the stored parity numbers.

    python benchmarks/official_mevis.py --upstream /work/upstream/henghuiding/MeViS \
        --python /path/to/venv/bin/python --write tests/data/official_mevis_synthetic.json

`--python` is an interpreter with what the script imports (numpy, opencv-python,
pycocotools, scikit-image). The script is copied to a temporary folder with one
change, its hard-coded `NUM_WOEKERS = 64` set to --workers; nothing else is
touched. Its worker loop (`while not q.empty(): q.get()`) sometimes hangs on the
last item, so each run has a timeout and is retried.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tree_memory import run_measured  # noqa: E402

#: the synthetic sets of the parity test (tests/test_mevis.py): name -> MevisSyntheticSpec fields
PARITY_SETS = {
    "binary-01": {"videos": 6, "expressions": 4, "frames": 8, "height": 72, "width": 128, "pred_value": 1,
                  "no_target": 0.2, "seed": 0},
    "binary-255": {"videos": 5, "expressions": 5, "frames": 6, "height": 90, "width": 160, "pred_value": 255,
                   "no_target": 0.2, "seed": 1},
    "mixed-overlapping": {"videos": 8, "expressions": 3, "frames": 5, "height": 64, "width": 96, "pred_value": 0,
                          "max_objects": 4, "no_target": 0.3, "single_frame_every": 3, "seed": 2},
}


def upstream_commit(upstream: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(upstream), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return (upstream / "COMMIT").read_text().strip() if (upstream / "COMMIT").is_file() else "unknown"


def prepared_script(upstream: Path, workers: int, into: Path) -> Path:
    """tools/ copied to `into`, NUM_WOEKERS set to `workers` (the only change)."""
    tools = into / "tools"
    shutil.copytree(upstream / "tools", tools)
    script = tools / "eval_mevis.py"
    text, n = re.subn(r"^NUM_WOEKERS = \d+$", f"NUM_WOEKERS = {workers}", script.read_text(), flags=re.M)
    if n != 1:
        raise SystemExit(f"{script}: NUM_WOEKERS = 64 not found; has the upstream script changed?")
    script.write_text(text)
    return script


def run_official(script: Path, python: str, split_dir: Path, pred: Path, out_json: Path,
                 timeout: float = 600, retries: int = 3, lower_bound: bool = False) -> dict:
    """One run of the official scorer; returns its printed numbers, its saved
    per-expression [J, F], wall seconds and peak memory of its process tree.
    With `lower_bound`, a run cut by the timeout is not retried: the result
    says so ("timed_out") with the seconds it ran and the peak so far."""
    command = [python, str(script), "--mevis_exp_path", str(split_dir / "meta_expressions.json"),
               "--mevis_mask_path", str(split_dir / "mask_dict.json"), "--mevis_pred_path", str(pred),
               "--save_name", str(out_json)]
    for attempt in range(1, retries + 1):
        start = time.perf_counter()
        completed, peak_mb = run_measured(command, cwd=script.parent, timeout=timeout)
        seconds = time.perf_counter() - start
        if completed is None and lower_bound:
            return {"timed_out": True, "seconds": seconds, "peak_mb": peak_mb}
        if completed is None:
            print(f"official eval_mevis.py timed out after {timeout:.0f} s (attempt {attempt}); retrying",
                  file=sys.stderr)
            continue
        if completed.returncode != 0:
            raise SystemExit(f"official eval_mevis.py failed:\n{completed.stderr[-3000:]}")
        printed = dict(re.findall(r"^(J|F|J&F): (\S+)$", completed.stdout, flags=re.M))
        return {"J": float(printed["J"]), "F": float(printed["F"]), "J&F": float(printed["J&F"]),
                "per_expression": json.loads(out_json.read_text()), "seconds": seconds, "peak_mb": peak_mb,
                "stdout": completed.stdout}
    raise SystemExit(f"official eval_mevis.py hung {retries} times")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="checkout of henghuiding/MeViS (tools/ is enough)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the official script's imports")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", required=True, help="the parity JSON to write")
    args = parser.parse_args()

    from instrack.dataset.synthetic_mevis import MevisSyntheticSpec, write_mevis

    upstream = Path(args.upstream)
    stored = {
        "upstream": {"repository": "henghuiding/MeViS", "commit": upstream_commit(upstream),
                     "script": "tools/eval_mevis.py", "change": f"NUM_WOEKERS = {args.workers}"},
        "note": "computed by the official MeViS scorer, run outside this repository "
                "(benchmarks/official_mevis.py); regenerate the sets with instrack.dataset.synthetic_mevis",
        "sets": {},
    }
    with tempfile.TemporaryDirectory(prefix="mevis-parity-") as tmp:
        tmp = Path(tmp)
        script = prepared_script(upstream, args.workers, tmp / "upstream")
        for name, fields in PARITY_SETS.items():
            spec = MevisSyntheticSpec(**fields)
            counts = write_mevis(tmp / name / "gt", tmp / name / "pred", spec)
            result = run_official(script, args.python, tmp / name / "gt" / spec.split, tmp / name / "pred",
                                  tmp / name / "official.json")
            print(f"{name}: {counts}; J {result['J']:.6f} F {result['F']:.6f} J&F {result['J&F']:.6f}",
                  file=sys.stderr)
            stored["sets"][name] = {"spec": asdict(spec), "counts": counts,
                                    "printed": {k: result[k] for k in ("J", "F", "J&F")},
                                    "per_expression": result["per_expression"]}
    Path(args.write).write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
