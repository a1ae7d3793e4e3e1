"""`instrack reproduce table2` on the bundled sample: the sanity baselines run,
one prediction folder is imported (and one official referring-VOS output folder
is converted on the way), results are stored as `reproduced`, and the rendered
table's reported cells are the paper's, cell by cell."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from instrack.cli.main import main
from instrack.evaluation import evaluate
from instrack.dataset.sample import example_submission, sample_root
from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

from instrack_baselines.paper_tables import normalize
from instrack_baselines.reproduce import ReproduceConfig, annotator_average, reproduce
from instrack_leaderboard.store import Store

EXCERPT = Path(__file__).parent / "data" / "trackgpt_paper_tables.txt"


def _paper_table2() -> dict[str, list[str]]:
    """normalized method -> the five cells as printed, from the verbatim excerpt."""
    lines = EXCERPT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Method\tYear\tOnline/Offline\tReasoning"))
    rows = {}
    for line in lines[start:]:
        if line.startswith("Table 2."):
            break
        cells = line.split("\t")
        if len(cells) > 4 and re.fullmatch(r"\d{4}", cells[1]):
            method = normalize(re.sub(r"\[\d+\]", "", cells[0]))
            rows[method] = [re.sub(r"</?u>|\*\*", "", c).strip() for c in cells[-5:]]
    return rows


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("reproduce")
    # an official referring-VOS output: ReferFormer writes <output>/valid/<video>/<exp_id>/<frame>.png
    official = tmp / "referformer-output"
    shutil.copytree(example_submission(), official / "valid")
    db = tmp / "board.sqlite"
    status = main(["reproduce", "table2", "--out", str(tmp / "out"), "--db", str(db), "--workers", "1",
                   "--no-progress", "--predictions", f"OnlineRefer={example_submission()}",
                   "--predictions", f"referformer={official}"])
    assert status == 0
    return tmp / "out", db


def test_reported_cells_are_the_papers(reproduced) -> None:
    out, _ = reproduced
    paper = _paper_table2()
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    seen = set()
    for row in rows:
        key = normalize(row["row"])
        if key in paper:
            metric_index = ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall", "F-Recall").index(row["metric"])
            assert f"{float(row['reported']) * 100:.1f}" == paper[key][metric_index], (row["row"], row["metric"])
            seen.add(key)
    assert seen == set(paper)  # every row of the paper's Table 2 is listed
    md = (out / "table.md").read_text()
    assert "| LISA-13B* | no predictions | 45.2 |  |  |" in md  # never filled in


def test_expected_rows_and_values(reproduced) -> None:
    out, db = reproduced
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    jf = {r["row"]: r for r in rows if r["metric"] == "J&F-Mean"}
    assert list(jf) == ["ReferFormer", "SgMg", "R²-VOS", "OnlineRefer", "LISA-7B*", "LISA-13B*", "TrackGPT-7B",
                        "TrackGPT-13B", "TrackGPT-7B (IT)", "TrackGPT-13B (IT)", "Empty masks (sanity)",
                        "Full-frame masks (sanity)", "First-frame GT repeated (sanity, uses ground truth)"]
    status = {k: v["status"] for k, v in jf.items()}
    assert status["OnlineRefer"] == status["ReferFormer"] == "imported"
    assert status["SgMg"] == status["LISA-7B*"] == status["TrackGPT-13B (IT)"] == "missing"
    assert {status[k] for k in list(jf)[-3:]} == {"run"}
    for k, v in jf.items():  # never filled in
        assert (v["reproduced"] == "") == (status[k] == "missing")
    direct = evaluate(sample_root(), example_submission(), "test", workers=1)["metrics"]["J&F-Mean"]
    for name in ("OnlineRefer", "ReferFormer"):  # the converted official output scores the same
        assert float(jf[name]["reproduced"]) == pytest.approx(direct)
        assert float(jf[name]["difference"]) == pytest.approx(direct - 0.368 if name == "OnlineRefer" else direct - 0.24)
    assert float(jf["Empty masks (sanity)"]["reproduced"]) < float(
        jf["First-frame GT repeated (sanity, uses ground truth)"]["reproduced"])
    assert (out / "plot.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "results" / "onlinerefer.json").is_file()
    # scored on the bundled sample: stored as reproduced on the sample board only, never beside the
    # paper's InsTrack rows, and every output says so
    assert Store(str(db)).entries("instrack", origins=("reproduced",)) == []
    assert {jf[k]["benchmark"] for k in jf if status[k] != "missing"} == {"instrack-sample"}
    md = (out / "table.md").read_text()
    assert md.startswith("**InsTrack (TrackGPT paper, Table 2) — SAMPLE (bundled sample, not InsTrack)")
    assert f"5 reproduced row(s) stored in sqlite:///{db} on the instrack-sample board" in md
    entries = Store(str(db)).entries("instrack-sample", origins=("reproduced",))
    assert sorted(e["method"] for e in entries) == sorted(
        ["OnlineRefer", "ReferFormer", "Empty masks (sanity)", "Full-frame masks (sanity)",
         "First-frame GT repeated (sanity, uses ground truth)"])
    assert all(Store(str(db)).units(e["id"]) for e in entries)


def test_without_db_it_says_nothing_was_kept(tmp_path: Path, capsys) -> None:
    assert main(["reproduce", "table2", "--out", str(tmp_path), "--workers", "1", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "stored in" not in captured.out + captured.err
    assert "Reproduced rows were not kept: with no --db" in captured.out
    assert "on the bundled sample (not InsTrack)" in captured.err


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["reproduce", "table2", "--out", str(tmp_path), "--predictions", "OnlineRefr=/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean: OnlineRefer" in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["reproduce", "table2", "--out", str(tmp_path), "--predictions", "SgMg"]) == 2
    assert "expected ROW=PATH" in capsys.readouterr().err
    assert main(["reproduce", "table2", "--preset", "tiny", "--out", str(tmp_path)]) == 2
    assert "only table3" in capsys.readouterr().err


def test_table1_averages_the_four_annotators(tmp_path: Path) -> None:
    """Ref-DAVIS17: four per-annotator runs scored with davis-unsup and averaged."""
    import numpy as np
    from PIL import Image

    from instrack.dataset.synthetic import SyntheticSpec, write_davis

    root, runs = tmp_path / "davis", tmp_path / "referformer" / "valid"
    names = write_davis(root, tmp_path / "semi", runs / "anno_0",
                        SyntheticSpec(sequences=2, frames=4, height=64, width=96, seed=3))
    shutil.copytree(runs / "anno_0", runs / "anno_1")
    for gt in (root / "Annotations_unsupervised" / "480p").rglob("*.png"):  # perfect (void as background)
        labels = np.asarray(Image.open(gt)).copy()
        labels[labels == 255] = 0
        (runs / "anno_2" / gt.parent.name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(labels).save(runs / "anno_2" / gt.parent.name / gt.name)
    for name in names:  # a run that finds nothing
        for png in (runs / "anno_0" / name).glob("*.png"):
            (runs / "anno_3" / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.zeros((64, 96), np.uint8)).save(runs / "anno_3" / name / png.name)
    each = [evaluate(root, runs / f"anno_{k}", "val", protocol="davis-unsup", workers=1)["metrics"] for k in range(4)]
    averaged = annotator_average(root, tmp_path / "referformer", "val", workers=1)
    for key in ("J&F-Mean", "J-Mean", "F-Mean", "J-Recall"):
        assert averaged["metrics"][key] == pytest.approx(sum(m[key] for m in each) / 4)
    assert each[2]["J&F-Mean"] == pytest.approx(1.0)
    report = reproduce(ReproduceConfig(table="table1", out=tmp_path / "out", data=root, workers=1, progress=False,
                                       predictions=(("ReferFormer", tmp_path / "referformer"),)))
    by_label = {o.row.label: o for o in report.outcomes}
    assert by_label["ReferFormer"].metrics["J&F-Mean"] == pytest.approx(averaged["metrics"]["J&F-Mean"])
    assert by_label["ReferFormer"].row.reported["J&F-Mean"] == pytest.approx(0.611)
    assert by_label["OnlineRefer (online)"].status == "missing"
    shutil.rmtree(runs / "anno_3")
    with pytest.raises(Exception, match="anno_3 missing"):
        annotator_average(root, tmp_path / "referformer", "val", workers=1)
