"""The worker and its executors (real child processes, a real Dask cluster on
loopback), and the EvalAI / Codabench packaging of the same evaluator."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

import yaml

from instrack.evaluation import evaluate
from instrack.dataset.sample import example_submission, sample_root
from instrack_leaderboard.config import ServerSettings
from instrack_leaderboard.executor import DaskExecutor, LocalExecutor
from instrack_leaderboard.hosting import codabench, evalai
from instrack_leaderboard.queue import Queue
from instrack_leaderboard.store import Store
from instrack_leaderboard.testing import crash_job, raising_job, zip_folder
from instrack_leaderboard.worker import Worker


@pytest.fixture(scope="module")
def expected() -> dict:
    return evaluate(sample_root(), example_submission(), workers=1)


@pytest.fixture
def setup(tmp_path):
    settings = ServerSettings(db=str(tmp_path / "lb.sqlite"), data_dir=tmp_path, gt_root=sample_root(),
                              lease_s=5, max_attempts=2, eval_timeout_s=120)
    store = Store(settings.db)
    queue = Queue(store)
    who = store.submitter_for_token(store.add_submitter("carol"))
    good = zip_folder(example_submission(), tmp_path / "good.zip")
    # a broken one: one video's folder left out
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("tote-soap/"):
                dst.writestr(info, src.read(info))

    def enqueue(path: Path, method: str) -> int:
        return queue.enqueue(submitter_id=who.id, method=method, variant="", paper="", link="",
                             benchmark="instrack-sample", split="test", protocol="instrack", filename=path.name,
                             stored_path=str(path), size_bytes=path.stat().st_size, sha256="0" * 64)

    return settings, store, queue, enqueue, good, broken


def _drain(worker: Worker) -> None:
    while worker.run_once():
        pass


def test_local_worker_scores_and_rejects(setup, expected):
    settings, store, queue, enqueue, good, broken = setup
    ok, bad = enqueue(good, "Good"), enqueue(broken, "Broken")
    worker = Worker(settings, store, LocalExecutor())
    _drain(worker)
    done = queue.get(ok)
    assert done["status"] == "done" and done["attempts"] == 1
    entry = store.entry(done["entry_id"])
    assert entry["origin"] == "submitted" and entry["method"] == "Good"
    assert entry["jf_mean"] == pytest.approx(expected["metrics"]["J&F-Mean"], abs=1e-12)
    assert len(store.units(entry["id"])) == 30
    rejected = queue.get(bad)
    assert rejected["status"] == "rejected" and rejected["entry_id"] is None
    # the evaluator's messages, naming the file as uploaded, not our storage path
    assert any("tote-soap" in p["where"] and "missing video" in p["reason"] for p in rejected["problems"])
    assert all(str(broken.parent) not in p["where"] or "broken.zip" in p["where"] for p in rejected["problems"])


def test_crashed_evaluation_is_retried_then_failed(setup):
    settings, store, queue, enqueue, good, _ = setup
    sub = enqueue(good, "Doomed")
    worker = Worker(settings, store, LocalExecutor(), job=crash_job)
    assert worker.run_once()
    first = queue.get(sub)
    assert first["status"] == "queued" and "retrying after a crash" in first["message"]
    assert "exit code 137" in first["message"]
    assert worker.run_once()
    final = queue.get(sub)
    assert final["status"] == "failed" and "crashed 2 time(s)" in final["message"]
    assert not worker.run_once()


def test_a_job_that_raises_is_stored_as_one_line(setup):
    # a reader's bug deep in the evaluation: the row says what broke in one
    # line; the traceback went to the worker's log, never to the public page
    settings, store, queue, enqueue, good, _ = setup
    sub = enqueue(good, "Buggy")
    worker = Worker(settings, store, LocalExecutor(), job=raising_job)
    while worker.run_once():
        pass
    final = queue.get(sub)
    assert final["status"] == "failed" and final["attempts"] == 2
    assert "ValueError: Invalid RLE mask representation" in final["message"]
    assert "\n" not in final["message"] and "Traceback" not in final["message"] and "File " not in final["message"]


def test_dask_executor_on_a_local_cluster(setup, expected):
    need_extra("leaderboard", "distributed")
    import distributed
    settings, store, queue, enqueue, good, broken = setup
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, protocol="tcp") as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        executor = DaskExecutor(cluster.scheduler_address)
        ok, bad = enqueue(good, "ViaDask"), enqueue(broken, "BrokenViaDask")
        worker = Worker(settings, store, executor)
        _drain(worker)
        executor.close()
    entry = store.entry(queue.get(ok)["entry_id"])
    assert entry["jf_mean"] == pytest.approx(expected["metrics"]["J&F-Mean"], abs=1e-12)
    assert queue.get(bad)["status"] == "rejected"


def test_dask_scheduler_unreachable_is_a_clear_error():
    from instrack.errors import InsTrackError

    with pytest.raises(InsTrackError, match="--scheduler tcp://127.0.0.1:9: cannot connect"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout=2)


def test_evalai_entry_point(tmp_path, expected):
    gt_zip = zip_folder(sample_root(), tmp_path / "gt.zip")
    sub_zip = zip_folder(example_submission(), tmp_path / "sub.zip")
    evalai.PHASES["test"] = ("test", "instrack")
    out = evalai.evaluate(str(gt_zip), str(sub_zip), "test", submission_metadata={"id": 1})
    scores = out["result"][0]["test_split"]
    assert scores == out["submission_result"]
    assert scores["J&F-Mean"] == pytest.approx(expected["metrics"]["J&F-Mean"] * 100, abs=1e-3)


def test_codabench_bundle_scores_like_the_evaluator(tmp_path, expected):
    bundle = codabench.write_bundle(sample_root(), tmp_path / "bundle.zip")
    root = tmp_path / "bundle"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root)
    spec = yaml.safe_load((root / "competition.yaml").read_text())
    assert spec["version"] == 2 and spec["tasks"][0]["scoring_program"] == "scoring_program"
    assert [c["key"] for c in spec["leaderboards"][0]["columns"]] == ["jf", "j", "f", "j_recall", "f_recall"]
    assert (root / "scoring_program" / "instrack" / "evaluation" / "evaluator.py").is_file()
    assert not (root / "scoring_program" / "instrack" / "dataset" / "sample").exists()
    assert not any((root / "reference_data" / "test").glob("JPEGImages"))  # masks only
    # run the program as Codabench does: $input/ref, $input/res, $output
    inp, out = tmp_path / "input", tmp_path / "output"
    inp.mkdir()
    (inp / "ref").symlink_to(root / "reference_data")
    (inp / "res").symlink_to(example_submission())
    probe = "import runpy,sys; sys.argv=sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", probe, str(root / "scoring_program" / "score.py"), str(inp),
                           str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scores = json.loads((out / "scores.json").read_text())
    assert scores["jf"] == pytest.approx(expected["metrics"]["J&F-Mean"] * 100, abs=1e-9)
    result = json.loads((out / "result.json").read_text())
    assert result["evaluator_version"] == expected["evaluator_version"]
