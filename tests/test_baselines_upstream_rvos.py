"""The referring-VOS adapters against the real upstream inference scripts
(checkouts under $INSTRACK_UPSTREAM, see tests/upstream.py; nothing of theirs is
committed here).

Each script runs from a copy of its checkout with exactly the documented one-line
edit (the 202-video assertion), through `run_baseline` with the project's default
command and default --backbone. tests/rvos_upstream_harness.py stubs only
`models.build_model` (the requested backbone is built with upstream's own class at
random weights, around a head whose mask is a stripe chosen by the expression's text)
and the CUDA calls. The output must convert, validate with 0 problems, and every
expression's masks must be its own.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from upstream import checkout

from helpers import need_extra  # noqa: E402

need_extra("trackgpt", "torch")

import torch  # noqa: E402

from instrack.evaluation import validate  # noqa: E402
from instrack.dataset.layout import read_split  # noqa: E402
from instrack.masks import read_mask  # noqa: E402
from instrack.tracking.synthetic import write_synthetic_split  # noqa: E402
from instrack_baselines import rvos  # noqa: E402

pytestmark = pytest.mark.upstream

HERE = Path(__file__).parent
HARNESS = HERE / "rvos_upstream_harness.py"
REPOSITORIES = {"referformer": "wjn922/ReferFormer", "sgmg": "bo-miao/SgMg", "r2vos": "lxa9867/R2VOS",
                "onlinerefer": "wudongming97/OnlineRefer"}
sys.path.insert(0, str(HERE))
from rvos_upstream_harness import STRIPES, stripe_of  # noqa: E402


def harness_interpreter(folder: Path) -> Path:
    """An executable standing in for `{python}`: this interpreter running the harness."""
    path = folder / "python-harness"
    path.write_text(f"#!/bin/sh\nexec {sys.executable} {HARNESS} \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def run_upstream(key: str, data: Path, split: str, tmp: Path) -> tuple[rvos.run.RunResult, Path]:
    baseline = rvos.get_baseline(key)
    source = checkout(REPOSITORIES[key])
    repo = tmp / f"{key}-checkout"
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns(".git", "docs", "*.gif", "*.jpg", "*.png"))
    # the documented edit, exactly as docs/baselines.md gives it
    subprocess.run(baseline.edit, shell=True, cwd=repo, check=True)
    script = (repo / baseline.script).read_text()
    assert f"pass  # {baseline.patch}" in script, f"the documented edit did not apply to {baseline.script}"
    weights = tmp / "checkpoint.pth"
    torch.save({"model": {}}, weights)
    result = rvos.run_baseline(key, data=data, split=split, repo=repo, work=tmp / "work", out=tmp / "pred",
                               checkpoint=weights, python=str(harness_interpreter(tmp)), progress=False)
    return result, tmp / "pred"


def check_masks(data: Path, split: str, pred: Path) -> int:
    """Every unit's masks are the stripe of its own expression; returns the unit count."""
    units = 0
    for unit in read_split(data, split).units():
        k = stripe_of(unit.instruction.text)
        for frame in unit.video.frames:
            mask = read_mask(pred / unit.video.name / unit.instruction.exp_id / f"{frame}.png") != 0
            w = mask.shape[1]
            inside = np.zeros_like(mask)
            inside[:, k * w // STRIPES: (k + 1) * w // STRIPES] = True
            assert mask.any(), f"{unit.video.name}/{unit.instruction.exp_id}/{frame}: empty"
            # bilinear resizing moves a stripe's edge by at most a pixel
            assert (mask & ~inside).sum() <= mask.shape[0] * 2 and (inside & ~mask).sum() <= mask.shape[0] * 2, \
                f"{unit.video.name}/{unit.instruction.exp_id}/{frame}: not its expression's stripe {k}"
        units += 1
    return units


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = write_synthetic_split(tmp_path_factory.mktemp("data"), "test", videos=2, frames=3, size=(48, 64),
                                 instructions=3)
    # the stripes must tell the expressions of a video apart somewhere, or a mix-up would pass
    assert any(len({stripe_of(i.text) for i in v.instructions}) > 1 for v in read_split(root, "test").videos.values())
    return root


@pytest.mark.parametrize("key", sorted(REPOSITORIES))
def test_upstream_script_through_run_baseline(key: str, data: Path, tmp_path: Path) -> None:
    result, pred = run_upstream(key, data, "test", tmp_path)
    baseline = rvos.get_baseline(key)
    assert f"--backbone {baseline.backbone}" in result.command  # the project's default command ran
    log = result.log.read_text()
    assert f"harness: built --backbone {baseline.backbone} with upstream's" in log
    report, _, submission = validate(data, pred, "test")
    submission.close()
    assert not report.problems, report.problems[:5]
    assert check_masks(data, "test", pred) == result.convert.units == 6


@pytest.mark.parametrize("key", sorted(REPOSITORIES))
def test_stand_in_flags_are_the_real_parsers(key: str) -> None:
    """tests/rvos_upstream_flags.json (what the offline stand-in accepts) == upstream's opts.py."""
    code = ("import json, opts\np = opts.get_args_parser()\n"
            "print(json.dumps({s: a.nargs != 0 for a in p._actions for s in a.option_strings "
            "if s.startswith('--') and s != '--help'}))")
    real = subprocess.run([sys.executable, "-c", code], cwd=checkout(REPOSITORIES[key]), capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": ""})
    table = json.loads((HERE / "rvos_upstream_flags.json").read_text())["flags"][key]
    assert table == json.loads(real.stdout)
