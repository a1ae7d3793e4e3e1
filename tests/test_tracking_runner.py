"""The tracker interface, registry and `instrack track` run loop, with the null and
oracle trackers (no torch needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instrack.cli.main import main
from instrack.dataset.layout import read_split
from instrack.masks import read_mask
from instrack.dataset.model import Instruction, Video
from instrack.tracking import TRACKERS, Tracker, create_tracker, track_unit
from instrack.tracking.runner import assign_videos, unit_complete
from instrack.tracking.simple import OracleTracker
from instrack.tracking.synthetic import write_synthetic_split

TESTS = Path(__file__).parent
REPO = TESTS.parent


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_synthetic_split(tmp_path / "data", "test", videos=3, frames=4, size=(24, 32), instructions=3)


def _all_units(root: Path):
    return list(read_split(root, "test").units())


def _check_submission(out: Path, root: Path, expect_gt: bool) -> None:
    split = read_split(root, "test")
    for unit in split.units():
        folder = out / unit.video.name / unit.instruction.exp_id
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{f}.png" for f in unit.video.frames)
        for frame in unit.video.frames:
            pred = read_mask(folder / f"{frame}.png")
            gt = read_mask(unit.video.mask_path(frame))
            assert pred.shape == gt.shape
            if expect_gt:
                np.testing.assert_array_equal(pred != 0, gt == 1)
            else:
                assert not pred.any()
    assert not (out / ".instrack-staging").exists()


def test_oracle_and_null_through_cli(data: Path, tmp_path: Path, capsys) -> None:
    assert main(["track", "--tracker", "oracle", "--data", str(data), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    assert "reads the ground truth" in capsys.readouterr().err
    _check_submission(tmp_path / "o", data, expect_gt=True)
    assert main(["track", "--tracker", "null", "--data", str(data), "--out", str(tmp_path / "n"), "--no-progress"]) == 0
    _check_submission(tmp_path / "n", data, expect_gt=False)


def test_scores_with_the_evaluator_when_present(data: Path, tmp_path: Path) -> None:
    """Oracle scores exactly 1; null scores the hand-computed value: J = F = 1 on
    frames with no target, 0 elsewhere."""
    evaluate = pytest.importorskip("instrack.cli.evaluate")  # written by another engineer
    del evaluate
    for name in ("oracle", "null"):
        assert main(["track", "--tracker", name, "--data", str(data), "--out", str(tmp_path / name), "--no-progress"]) == 0
        out_json = tmp_path / f"{name}.json"
        assert main(["evaluate", "--gt", str(data), "--pred", str(tmp_path / name), "--json", str(out_json)]) == 0
        result = json.loads(out_json.read_text())
        if name == "oracle":
            assert result["metrics"]["J&F-Mean"] == pytest.approx(1.0)
        else:
            expected = []
            for unit in _all_units(data):
                absent = [not read_mask(unit.video.mask_path(f)).any() for f in unit.video.frames]
                expected.append(float(np.mean(absent)))
            assert result["metrics"]["J-Mean"] == pytest.approx(np.mean(expected))
            assert result["metrics"]["F-Mean"] == pytest.approx(np.mean(expected))


def test_track_unit_in_memory(data: Path) -> None:
    unit = _all_units(data)[0]
    result = track_unit(OracleTracker(), unit)
    assert len(result.masks) == len(unit.video.frames)
    assert result.masks[0].dtype == bool


def test_registry_misses_and_bad_options(data: Path, tmp_path: Path, capsys) -> None:
    assert main(["track", "--tracker", "orcle", "--data", str(data), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "Did you mean: oracle?" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["track", "--tracker", "null", "--preset", "tiny", "--data", str(data), "--out", str(tmp_path / "x")]) == 2
    assert "--preset" in capsys.readouterr().err
    assert main(["track", "--tracker", "null", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["track", "--tracker", "null", "--data", str(data), "--split", "train", "--out", str(tmp_path / "x")]) == 2
    assert "meta_expressions.json" in capsys.readouterr().err
    assert {"null", "oracle", "trackgpt"} <= set(TRACKERS.names())
    assert isinstance(create_tracker("instrack.tracking.simple:NullTracker"), Tracker)


def test_core_imports_do_not_pull_torch() -> None:
    code = (
        "import sys, instrack.tracking, instrack.tracking.runner, instrack.cli.track\n"
        "from instrack.cli.main import build_parser; build_parser()\n"
        # trackgpt contributes the `train` verb, so its package and cli module load;
        # nothing that needs torch may
        "loaded = {m for m in sys.modules if m.startswith('trackgpt')}\n"
        "assert 'torch' not in sys.modules and loaded <= {'trackgpt', 'trackgpt.cli', 'trackgpt.cli.train'}, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_assign_videos_deals_every_video_once() -> None:
    videos = [Video(f"v{i}", tuple(str(t) for t in range(1 + (i * 7) % 13)),
                    (Instruction("0", "x"),)) for i in range(23)]
    for world in (1, 2, 3, 8, 30):
        shards = assign_videos(videos, world)
        names = [v.name for shard in shards for v in shard]
        assert sorted(names) == sorted(v.name for v in videos)
        assert shards == assign_videos(list(reversed(videos)), world)  # order-independent


class KilledOracle(OracleTracker):
    """Dies like `kill -9` (no cleanup) after KILL_AFTER frames in total."""

    name = "killed-oracle"
    frames_seen = 0

    def track(self, video, units):
        for output in super().track(video, units):
            KilledOracle.frames_seen += 1
            if KilledOracle.frames_seen > int(os.environ["KILL_AFTER"]):
                os._exit(137)
            yield output


def _cli(args, env=None, **kwargs):
    full_env = dict(os.environ, PYTHONPATH=f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {}))
    return subprocess.run([sys.executable, "-m", "instrack.cli.main", "track", "--no-progress", *args],
                          env=full_env, cwd=REPO, capture_output=True, text=True, **kwargs)


def test_resume_after_kill(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    # 3 videos x 4 frames: die during the second video, after the first is in place.
    killed = _cli(["--tracker", "test_tracking_runner:KilledOracle", "--data", str(data), "--out", str(out)],
                  env={"KILL_AFTER": "6"})
    assert killed.returncode == 137, killed.stderr
    split = read_split(data, "test")
    done = [u for u in split.units() if unit_complete(out, u, (24, 32))]
    assert len(done) == 3  # the first video's three units, nothing half-written counted
    assert (out / ".instrack-staging").exists()  # the killed run's leftovers
    stamps = {str(u): (out / u.video.name / u.instruction.exp_id / f"{u.video.frames[0]}.png").stat().st_mtime_ns
              for u in done}
    resumed = _cli(["--tracker", "oracle", "--data", str(data), "--out", str(out)])
    assert resumed.returncode == 0, resumed.stderr
    assert "wrote 6 unit(s), skipped 3" in resumed.stderr
    for u in done:  # untouched
        assert (out / u.video.name / u.instruction.exp_id / f"{u.video.frames[0]}.png").stat().st_mtime_ns == stamps[str(u)]
    _check_submission(out, data, expect_gt=True)


def test_two_process_sharding_covers_every_unit_once(data: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "pred", tmp_path / "report"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "instrack.cli.main", "track", "--no-progress", "--tracker", "oracle",
             "--data", str(data), "--out", str(out), "--report", str(report)],
            env=dict(os.environ, RANK=str(rank), WORLD_SIZE="2"), cwd=REPO,
            stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    errs = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    ranks: dict[str, int] = {}
    for path in report.rglob("*.json"):
        rec = json.loads(path.read_text())
        key = f"{rec['video']}/{rec['exp_id']}"
        assert key not in ranks
        ranks[key] = rec["shard"][0]
    assert sorted(ranks) == sorted(str(u) for u in _all_units(data))
    assert set(ranks.values()) == {0, 1}
    # A video's units stay on one rank (its frames are encoded once).
    by_video: dict[str, set[int]] = {}
    for key, rank in ranks.items():
        by_video.setdefault(key.split("/")[0], set()).add(rank)
    assert all(len(r) == 1 for r in by_video.values())
    _check_submission(out, data, expect_gt=True)


def test_bad_rank_env(data: Path, tmp_path: Path) -> None:
    res = _cli(["--tracker", "null", "--data", str(data), "--out", str(tmp_path / "p")], env={"RANK": "3", "WORLD_SIZE": "2"})
    assert res.returncode == 2 and "RANK=3" in res.stderr and "Traceback" not in res.stderr
