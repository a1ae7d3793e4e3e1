"""Run the official ReVOS scorer (cilinyan/VISA tools/eval_revos.py) on the
synthetic ReVOS sets of the parity tests, from a checkout OUTSIDE this
repository, and store what it reports in tests/data/official_revos_synthetic.json.

    git --git-dir=<mirror of cilinyan/VISA> archive HEAD tools | tar -x -C /work/upstream/cilinyan/VISA
    python -m venv /work/upstream/revos-venv   # + numpy, opencv, pycocotools, pandas, scikit-image, termcolor, tqdm
    python tests/official_revos.py --visa /work/upstream/cilinyan/VISA \\
        --python /work/upstream/revos-venv/bin/python --commit <VISA commit>

The script is run unchanged except for its hard-coded worker count
(NUM_WOEKERS = 128, which on 2 cores mostly waits): it runs with 2 workers.
Its `while not q.empty(): q.get()` loop can hang on the last item, so each run
has a timeout and is retried. tests/test_revos.py reads the stored file; with
INSTRACK_UPSTREAM=DIR (DIR/cilinyan/VISA a checkout) and INSTRACK_UPSTREAM_PYTHON
set, `pytest -m upstream` also runs the official scorer live (opt-in).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "official_revos_synthetic.json"

#: name -> generator arguments (instrack.dataset.synthetic_revos.RevosSpec)
CASES = {
    "pred-0-1": {"seed": 0, "pred_value": 1},
    "pred-0-255": {"seed": 1, "pred_value": 255},
    "pred-mixed-palette": {"seed": 2, "pred_value": "mixed"},
    "pred-0-1-larger": {"seed": 3, "pred_value": 1, "height": 120, "width": 160, "videos": 5},
}
WORKERS = 2

RUNNER = r"""
import os, runpy, sys
workers, tools = int(sys.argv[1]), sys.argv[2]
sys.argv = [os.path.join(tools, "eval_revos.py")] + sys.argv[3:]
sys.path.insert(0, tools)
source = open(sys.argv[0]).read()
assert source.count("NUM_WOEKERS = 128") == 1, "eval_revos.py changed upstream"
exec(compile(source.replace("NUM_WOEKERS = 128", f"NUM_WOEKERS = {workers}"), sys.argv[0], "exec"),
     {"__name__": "__main__", "__file__": sys.argv[0]})
"""


def make_case(name: str, workdir: Path) -> tuple[Path, Path, dict]:
    """Generate case `name` under workdir: (gt root, pred folder, generator summary)."""
    from instrack.dataset.synthetic_revos import RevosSpec, make_revos_set

    gt, pred = workdir / "gt", workdir / "run" / "pred"
    summary = make_revos_set(gt, pred, RevosSpec(**CASES[name]))
    return gt, pred, summary


def run_official(visa: Path, python: str, gt: Path, pred: Path, timeout: float = 180, tries: int = 4) -> dict:
    """Run eval_revos.py on (gt, pred); return its JSON and its CSV rows."""
    runner = pred.parent / "run_eval_revos.py"
    runner.write_text(RUNNER)
    command = [python, str(runner), str(WORKERS), str(visa / "tools"), str(pred),
               "--visa_exp_path", str(gt / "meta_expressions_valid_.json"),
               "--visa_mask_path", str(gt / "mask_dict.json"),
               "--visa_foreground_mask_path", str(gt / "mask_dict_foreground.json")]
    for attempt in range(tries):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=pred.parent)
        except subprocess.TimeoutExpired:
            continue  # the known hang of its queue loop: run again
        if done.returncode != 0:
            raise RuntimeError(f"eval_revos.py failed:\n{done.stderr[-3000:]}")
        if "error:" in done.stdout:
            # its bare except printed a traceback and scored an expression 0
            raise RuntimeError(f"eval_revos.py hit an error on the synthetic set:\n{done.stdout[-3000:]}")
        results = json.loads((pred.parent / "revos_valid.json").read_text())
        with open(pred.parent / "revos_valid.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        per_expression = {
            f"{row['video_name']}/{row['exp_id']}": {
                **{k: float(row[k]) for k in ("J", "F", "JF", "A", "R")}, "type_id": int(row["type_id"])}
            for row in rows
        }
        return {"results": results, "per_expression": dict(sorted(per_expression.items())), "attempts": attempt + 1}
    raise RuntimeError(f"eval_revos.py hung {tries} times (timeout {timeout} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visa", required=True, type=Path, help="checkout of cilinyan/VISA (outside this repo)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the official script's packages")
    parser.add_argument("--commit", required=True, help="the VISA commit of that checkout (recorded)")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    from instrack.dataset.synthetic_revos import RevosSpec

    cases = {}
    for name in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            gt, pred, summary = make_case(name, Path(tmp))
            official = run_official(args.visa, args.python, gt, pred)
        summary["type_id"] = {str(k): v for k, v in summary["type_id"].items()}
        cases[name] = {"spec": asdict(RevosSpec(**CASES[name])), "summary": summary,
                       "results": official["results"], "per_expression": official["per_expression"]}
        print(f"{name}: overall {official['results']['overall']} ({official['attempts']} run(s))")
    record = {
        "upstream": {"repository": "cilinyan/VISA", "commit": args.commit, "script": "tools/eval_revos.py",
                     "workers": WORKERS, "note": "run outside this repository, NUM_WOEKERS set to 2; "
                     "values in percent, as the script reports them"},
        "cases": cases,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
