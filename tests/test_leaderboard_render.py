"""Renderers (md, LaTeX booktabs, HTML, CSV) and plots, through the CLI too."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from instrack.cli.main import main
from instrack.evaluation import evaluate
from instrack.dataset.sample import example_submission, sample_root
from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

from instrack_leaderboard import plots
from instrack_leaderboard.render import render
from instrack_leaderboard.results import parse_result
from instrack_leaderboard.store import Store
from instrack_leaderboard.tables import build_table

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store_with_result(tmp_path_factory):
    from helpers import not_the_sample

    store = Store(tmp_path_factory.mktemp("render") / "lb.sqlite")
    result = evaluate(not_the_sample(tmp_path_factory.mktemp("gt")), example_submission(), workers=1)
    entry = store.add_result(parse_result(result), method="Example", origin="reproduced")
    return store, entry


def test_markdown_table2_marks_best_and_second():
    md = render(build_table(Store(), "table2"), "md")
    lines = [line for line in md.splitlines() if line.startswith("| TrackGPT-13B")]
    assert lines[0] == "| TrackGPT-13B | 2023 | online | yes | <u>50.5</u> | 48.8 | <u>52.1</u> | 54.1 | <u>58.0</u> |"
    assert lines[1] == "| TrackGPT-13B (IT) | 2023 | online | yes | **54.9** | **52.8** | **56.9** | **59.4** | **62.9** |"
    assert md.count("**") == 2 * 5 + 2 and md.count("<u>") == 5  # +2: the bold title


def test_latex_table1_booktabs_online_only_marks():
    tex = render(build_table(Store(), "table1"), "latex")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\cmidrule(lr){4-6}", r"\cmidrule(lr){7-9}"):
        assert rule in tex
    assert r"\multicolumn{3}{c}{Refer-Youtube-VOS} & \multicolumn{3}{c}{Refer-DAVIS17}" in tex
    # SgMg (offline) has the best YTVOS J&F overall, but Table 1 marks online methods only
    sgmg = next(line for line in tex.splitlines() if line.startswith("SgMg"))
    assert r"\textbf" not in sgmg and "65.7" in sgmg
    online_refer = next(line for line in tex.splitlines() if line.startswith("OnlineRefer & 2023 & online"))
    assert online_refer.startswith(r"OnlineRefer & 2023 & online & \textbf{63.5} & \textbf{61.6} & \textbf{65.5} & "
                                   r"\underline{64.8}")
    assert r"R$^2$-VOS" in tex and r"LISA-7B$^*$" in tex and r"J\&F" in tex
    assert tex.count(r"\textbf{") == 6 and tex.count(r"\underline{") == 6
    # LBDT's DAVIS J and F are "-" in the paper, and stay so
    assert "LBDT & 2022 & online & 49.4 & 48.2 & 50.6 & 54.3 & - & - \\\\" in tex


def test_html_escapes_and_marks():
    html = render(build_table(Store(), "table2"), "html")
    assert html.count("<strong>") == 5 and html.count("<u>") == 5 and "R²-VOS" in html
    assert "<script" not in html


def test_csv_keeps_fractions(store_with_result):
    store, entry = store_with_result
    text = render(build_table(store, "instrack"), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 11 and rows[0]["method"] == "Example" and rows[0]["origin"] == "reproduced"
    assert float(rows[0]["J&F-Mean"]) == pytest.approx(store.entry(entry)["jf_mean"], abs=0)
    tg = next(r for r in rows if r["method"] == "TrackGPT-13B" and r["variant"] == "IT")
    assert tg["J&F-Mean"] == "0.549" and tg["J-Decay"] == ""


def test_board_orders_best_first_with_an_origin_column(store_with_result):
    store, _ = store_with_result
    md = render(build_table(store, "instrack"), "md")
    body = [line for line in md.splitlines() if line.startswith("| ") and "Method" not in line]
    assert body[0].startswith("| Example | ") and "| reproduced |" in body[0]
    assert body[1].startswith("| TrackGPT-13B (IT) |")


def test_plots_are_pngs(store_with_result):
    store, entry = store_with_result
    units = store.units(entry)
    for png in (plots.methods_png(store, "instrack"), plots.per_video_png({"Example": units}),
                plots.robustness_png(units)):
        assert png.startswith(PNG) and len(png) > 5000
    summary = plots.robustness_summary(units)
    assert 0 < summary["mean spread (max - min)"] < 1


def test_cli_render_and_plot(tmp_path, store_with_result, capsys):
    store, entry = store_with_result
    out = tmp_path / "t2.tex"
    assert main(["leaderboard", "render", "--format", "latex", "--table", "table2", "--out", str(out)]) == 0
    assert out.read_text().startswith("% needs \\usepackage{booktabs}")
    assert main(["leaderboard", "render", "--format", "csv", "--table", "instrack", "--db", store.url]) == 0
    assert "Example" in capsys.readouterr().out
    for kind in ("methods", "per-video", "robustness"):
        png = tmp_path / f"{kind}.png"
        assert main(["leaderboard", "plot", "--kind", kind, "--db", store.url, "--out", str(png)]) == 0
        assert png.read_bytes().startswith(PNG)
    # typed-in entries have no units: a clear one-line error, exit 2
    reported = store.entries("instrack", origins=["reported"])[0]["id"]
    assert main(["leaderboard", "plot", "--kind", "robustness", "--entry", str(reported), "--db", store.url,
                 "--out", str(tmp_path / "x.png")]) == 2
    assert re.search(r"no per-unit results", capsys.readouterr().err)


def test_result_json_roundtrip_through_cli(tmp_path, capsys):
    result = evaluate(sample_root(), example_submission(), workers=1)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result))
    db = tmp_path / "x.sqlite"
    assert main(["leaderboard", "add", str(path), "--method", "Mine", "--origin", "submitted", "--db", str(db)]) == 0
    # a result on the bundled sample: on the sample board only
    assert main(["leaderboard", "render", "--format", "md", "--table", "instrack-sample", "--origin", "submitted",
                 "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "| Mine |" in out and "TrackGPT" not in out
