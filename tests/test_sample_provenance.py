"""Results on the bundled sample are labelled "sample" wherever they are shown
and never stored beside InsTrack numbers, whichever command stores them."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import need_extra
from instrack.cli.main import main
from instrack.dataset.sample import example_submission, sample_root


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instrack.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd)


def test_readme_first_command_says_it_scored_the_sample_with_the_example(tmp_path):
    result = run("evaluate", cwd=tmp_path)  # the README's first command
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("SAMPLE RESULT: scored the bundled example submission on the bundled sample")
    assert "not InsTrack" in first
    assert "ground truth sample" in result.stdout.splitlines()[1]
    assert "Overall (%) on the bundled sample" in result.stdout
    # and it ends with the next step
    assert result.stderr.strip().splitlines()[-1].startswith("next: run a tracker on the sample")


def test_pred_alone_is_scored_against_the_sample(tmp_path):
    pred = shutil.copytree(example_submission(), tmp_path / "pred")
    result = run("evaluate", "--pred", str(pred), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"SAMPLE RESULT: scored submission {pred} on the bundled sample")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["dataset"]["provenance"] == "sample" and data["submission"]["example"] is False
    assert result.stderr.splitlines()[-1].startswith("next: these are sample numbers")


def test_json_and_csv_are_labelled_and_the_csv_matches_the_table(tmp_path):
    out = tmp_path / "r.json"
    result = run("evaluate", "--json", str(out), "--csv", str(tmp_path / "r.csv"))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["dataset"]["provenance"] == "sample" and data["submission"]["example"] is True
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert {r["ground_truth"] for r in rows} == {"sample"} and len(rows) == 30
    texts = {(u["video"], u["exp_id"]): u["text"] for u in data["units"]}
    first = rows[0]
    assert first["instruction"] == texts[(first["video"], first["exp_id"])] and first["instruction"]
    # percent, as the table prints it (the header says so)
    unit = next(u for u in data["units"] if (u["video"], u["exp_id"]) == (first["video"], first["exp_id"]))
    assert float(first["J&F-Mean (%)"]) == pytest.approx(100 * unit["J&F-Mean"], abs=0.005)


def test_a_copy_of_the_sample_is_still_the_sample(tmp_path):
    from instrack.evaluation import evaluate

    copy = shutil.copytree(sample_root(), tmp_path / "InsTrack")
    assert evaluate(copy, example_submission(), workers=1)["dataset"]["provenance"] == "sample"


def test_leaderboard_add_puts_sample_results_on_the_sample_board_only(tmp_path, capsys):
    need_extra("leaderboard", "sqlalchemy")
    from instrack_leaderboard.store import Store

    # an old result without the provenance field is still recognised by its digest
    assert main(["evaluate", "--quiet", "--json", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    del data["dataset"]["provenance"]
    (tmp_path / "r.json").write_text(json.dumps(data))
    db = str(tmp_path / "lb.sqlite")
    assert main(["leaderboard", "add", str(tmp_path / "r.json"), "--method", "MyTracker", "--db", db]) == 0
    captured = capsys.readouterr()
    assert "on instrack-sample" in captured.out and "bundled sample" in captured.err
    store = Store(db)
    assert [e["method"] for e in store.entries("instrack-sample")] == ["MyTracker"]
    assert "MyTracker" not in [e["method"] for e in store.entries("instrack")]
    # asking for the InsTrack board is refused, one line, exit 2
    assert main(["leaderboard", "add", str(tmp_path / "r.json"), "--method", "Again", "--db", db,
                 "--benchmark", "instrack"]) == 2
    err = capsys.readouterr().err
    assert "goes only to the 'instrack-sample' board" in err and err.count("\n") == 1
    assert "Again" not in [e["method"] for e in store.entries(None)]


def test_serve_on_the_sample_scores_into_the_sample_board_and_its_first_page_helps(tmp_path):
    need_extra("leaderboard", "sqlalchemy", "fastapi", "jinja2", "multipart")
    import argparse

    from fastapi.testclient import TestClient

    from instrack.errors import UsageError
    from instrack_leaderboard.cli.serve import add_arguments, settings_from
    from instrack_leaderboard.web.app import create_app

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(UsageError, match="bundled sample; its scores go only to the instrack-sample board"):
        settings_from(parser.parse_args(["--data-dir", str(tmp_path), "--benchmark", "instrack"]))
    copy = shutil.copytree(sample_root(), tmp_path / "copy")
    assert settings_from(parser.parse_args(["--data-dir", str(tmp_path), "--gt", str(copy)])).benchmark == \
        "instrack-sample"
    settings = settings_from(parser.parse_args(["--data-dir", str(tmp_path), "--db", str(tmp_path / "lb.sqlite")]))
    assert settings.benchmark == "instrack-sample"
    page = TestClient(create_app(settings)).get("/").text
    assert "No entries." not in page
    assert 'href="?benchmark=instrack-sample&origin=all"' in page  # the sample board is in the selector
    assert "form field <code>file</code>" in page and 'href="/submit"' in page
    assert 'href="?benchmark=instrack&origin=all">InsTrack board</a>' in page


def test_plots_say_sample_and_use_percent(tmp_path):
    from instrack.evaluation import evaluate
    from instrack.evaluation.plots import ground_truth_label, plot_result

    result = evaluate(sample_root(), example_submission(), workers=1)
    assert ground_truth_label(result) == "SAMPLE: bundled sample, not InsTrack"
    paths = plot_result(result, tmp_path)
    assert [p.name for p in paths] == ["per_video.png", "worst_videos.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_readme_shows_what_the_first_command_prints(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "pip install -e . && instrack evaluate\n" in readme
    assert "pip install instrack" not in readme  # not on a registry: install from a clone
    first = run("evaluate", cwd=tmp_path).stdout.splitlines()[0]
    assert f"\n{first}\n" in readme


def test_worker_never_files_a_sample_score_on_the_instrack_board(tmp_path):
    """A submission queued for the InsTrack board while the server scores against the
    sample (a misconfigured or older server): it fails with the reason, nothing stored."""
    need_extra("leaderboard", "sqlalchemy")
    from instrack_leaderboard.config import ServerSettings
    from instrack_leaderboard.executor import LocalExecutor
    from instrack_leaderboard.queue import Queue
    from instrack_leaderboard.store import Store
    from instrack_leaderboard.testing import zip_folder
    from instrack_leaderboard.worker import Worker

    settings = ServerSettings(db=str(tmp_path / "lb.sqlite"), data_dir=tmp_path, gt_root=sample_root())
    store = Store(settings.db)
    queue = Queue(store)
    who = store.submitter_for_token(store.add_submitter("dana"))
    upload = zip_folder(example_submission(), tmp_path / "pred.zip")
    sub = queue.enqueue(submitter_id=who.id, method="Sneaky", variant="", paper="", link="", benchmark="instrack",
                        split="test", protocol="instrack", filename=upload.name, stored_path=str(upload),
                        size_bytes=upload.stat().st_size, sha256="0" * 64)
    worker = Worker(settings, store, LocalExecutor())
    while worker.run_once():
        pass
    final = queue.get(sub)
    assert final["status"] == "failed" and "goes only to the 'instrack-sample' board" in final["message"]
    assert "Sneaky" not in [e["method"] for e in store.entries(None)]
