"""Seed annotation and rephrasing review against a real Label Studio server.

One server is started for the whole module (the first start migrates its
database, ~20 s) on loopback, from the executable in $INSTRACK_LABEL_STUDIO_BIN
or <repo>/.ls-venv/bin/label-studio (scripts/ci_label_studio.sh installs it).
Without it the tests are skipped, unless INSTRACK_REQUIRE_SERVERS=1 (CI), where
a missing server is a failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import need, need_extra
from instrack.cli.main import main as cli_main
from instrack.dataset.layout import read_split, write_meta
from instrack.masks import write_mask

REPO = Path(__file__).resolve().parents[1]
def make_root(root: Path, n_videos: int = 3, n_frames: int = 6) -> Path:
    """A tiny curated split: JPEG frames of a moving square, 0/1 masks, categories."""
    categories = ["dog", "horse", "person", "car"]
    meta = {"videos": {}}
    rng = np.random.default_rng(0)
    for v in range(n_videos):
        name = f"video{v}"
        frames = [f"{i:05d}" for i in range(n_frames)]
        for i, frame in enumerate(frames):
            image = (rng.random((96, 128, 3)) * 60 + 80).astype(np.uint8)
            mask = np.zeros((96, 128), np.uint8)
            y, x = 20 + 3 * i, 10 + 10 * i + 5 * v
            mask[y:y + 30, x:x + 30] = 1
            image[mask == 1] = (200, 120, 40)
            path = root / "test" / "JPEGImages" / name / f"{frame}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path, quality=90)
            write_mask(root / "test" / "Annotations" / name / f"{frame}.png", mask)
        meta["videos"][name] = {"frames": frames, "category": categories[v % 4], "expressions": {}}
    write_meta(meta, root / "test" / "meta_expressions.json")
    return root


@pytest.fixture(scope="module")
def files_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ls-files")


@pytest.fixture(scope="module")
def server(tmp_path_factory, files_root):
    need_extra("annotation", "label_studio_sdk")
    from instrack_annotation.server import LabelStudioServer, default_executable

    executable = default_executable(REPO)
    need(executable.is_file(), f"no Label Studio server at {executable}: run scripts/ci_label_studio.sh "
                               "or set INSTRACK_LABEL_STUDIO_BIN")
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (apt-get install ffmpeg)")
    data_dir = tmp_path_factory.mktemp("ls-data")
    with LabelStudioServer(executable, data_dir, files_root) as running:
        yield running


def cli(*argv: str, capsys) -> str:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def annotate(conn, task_id: int, text: str = "", flags=(), skip_reason: str | None = None):
    """What the labelling view sends when an annotator presses Submit."""
    result = []
    if text:
        result.append({"from_name": "instruction", "to_name": "first_frame", "type": "textarea",
                       "value": {"text": [text]}})
    if flags:
        result.append({"from_name": "flags", "to_name": "first_frame", "type": "choices",
                       "value": {"choices": list(flags)}})
    if skip_reason is not None:
        result.append({"from_name": "skip", "to_name": "first_frame", "type": "choices",
                       "value": {"choices": ["skip video"]}})
        result.append({"from_name": "skip_reason", "to_name": "first_frame", "type": "textarea",
                       "value": {"text": [skip_reason]}})
    return conn.client.annotations.create(id=task_id, result=result, lead_time=12.5)


def review(conn, task_id: int, decision: str, fixed: str | None = None):
    result = [{"from_name": "decision", "to_name": "rephrasing", "type": "choices",
               "value": {"choices": [decision]}}]
    if fixed is not None:
        result.append({"from_name": "fixed", "to_name": "rephrasing", "type": "textarea",
                       "value": {"text": [fixed]}})
    return conn.client.annotations.create(id=task_id, result=result)


def tasks_by_key(conn, project_id: int) -> dict:
    from instrack_annotation.labelstudio import KEY, iter_tasks

    return {t.data[KEY]: t for t in iter_tasks(conn, project_id)}


def test_render_first_frame_and_h264_clip(tmp_path):
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (apt-get install ffmpeg)")
    from instrack_annotation.meta import MetaFile
    from instrack_annotation.labelstudio import video_media
    from instrack_annotation.render import RenderConfig

    root = make_root(tmp_path / "root", n_videos=1, n_frames=10)
    meta = MetaFile(root, "test")
    media = video_media(meta, "video0", RenderConfig(max_frames=4, fps=4))
    assert media.frames == ("00000", "00003", "00006", "00009")
    first = np.asarray(Image.open(media.first_frame))
    assert first.shape == (96, 128, 3)
    assert (np.abs(first.astype(int) - (255, 48, 48)).sum(axis=2) < 90).sum() > 50  # the red outline
    if shutil.which("ffprobe"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                                "-show_entries", "stream=codec_name,nb_read_frames,pix_fmt", "-of", "json",
                                str(media.clip)], capture_output=True, text=True, check=True)
        stream = json.loads(probe.stdout)["streams"][0]
        assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p"
        assert int(stream["nb_read_frames"]) == 4
    stamp = media.clip.stat().st_mtime_ns
    video_media(meta, "video0", RenderConfig(max_frames=4, fps=4))  # up to date: not rendered again
    assert media.clip.stat().st_mtime_ns == stamp


def test_seed_project_import_annotate_export(server, files_root, capsys, monkeypatch):
    from instrack_annotation import labelstudio
    from instrack_annotation.labelstudio import connect, find_project
    from instrack_annotation.meta import MetaFile
    from instrack_annotation.seeds import default_title, export_seeds

    root = make_root(files_root / "seeds-root")
    data = server.data_dir
    monkeypatch.setattr(labelstudio, "PAGE_SIZE", 2)  # the duplicate check must read every page
    first = cli("annotate", "import", root, "--server-dir", data, "--no-progress", capsys=capsys)
    again = cli("annotate", "import", root, "--server-dir", data, "--no-progress", capsys=capsys)
    assert "3 tasks created, 0 already there" in first
    assert "0 tasks created, 3 already there" in again

    conn = connect(server.url, server.credentials.token)
    project = find_project(conn, default_title(MetaFile(root, "test")))
    tasks = tasks_by_key(conn, project)
    assert sorted(tasks) == ["seed/test/video0", "seed/test/video1", "seed/test/video2"]

    # The media the labelling view shows are served by the server itself.
    for field in ("first_frame", "clip"):
        request = urllib.request.Request(server.url + tasks["seed/test/video0"].data[field],
                                         headers={"Authorization": f"Token {server.credentials.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        assert response.status == 200 and len(body) > 500
        assert body[:3] == b"\xff\xd8\xff" if field == "first_frame" else b"ftyp" in body[:16]

    annotate(conn, tasks["seed/test/video0"].id, "Who will win the race?", flags=("implicit", "unique_target"))
    annotate(conn, tasks["seed/test/video1"].id, skip_reason="two identical horses")
    out = cli("annotate", "export", root, "--server-dir", data, capsys=capsys)
    assert "1 seeds written, 1 videos skipped by annotators" in out and "1 tasks not annotated yet" in out

    meta = json.loads((root / "test" / "meta_expressions.json").read_text())
    seed = meta["videos"]["video0"]["expressions"]["0"]
    assert seed["exp"] == "Who will win the race?" and seed["kind"] == "seed"
    assert seed["annotator"] == server.credentials.username and seed["annotated_at"].startswith("20")
    assert seed["flags"] == {"implicit": True, "unique_target": True, "needs_reasoning": False}
    assert meta["videos"]["video1"]["seed_skipped"]["reason"] == "two identical horses"
    assert meta["videos"]["video2"]["expressions"] == {}
    assert read_split(root, "test").videos["video0"].instructions[0].text == "Who will win the race?"

    out = cli("annotate", "export", root, "--server-dir", data, capsys=capsys)
    assert "0 seeds written" in out and "2 unchanged" in out

    # An export interrupted after its first tasks keeps them and the next one resumes.
    annotate(conn, tasks["seed/test/video0"].id, "Which one is going to finish first?", flags=("implicit",))
    annotate(conn, tasks["seed/test/video2"].id, "What is everyone looking at?", flags=("needs_reasoning",))

    def interrupt(n: int) -> None:
        if n == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_seeds(conn, MetaFile(root, "test"), on_task=interrupt, flush_every=1000)
    meta = json.loads((root / "test" / "meta_expressions.json").read_text())
    assert meta["videos"]["video0"]["expressions"]["0"]["exp"] == "Which one is going to finish first?"
    assert meta["videos"]["video2"]["expressions"] == {}
    report = export_seeds(conn, MetaFile(root, "test"))
    assert (report.written, report.unchanged) == (1, 2)
    meta = json.loads((root / "test" / "meta_expressions.json").read_text())
    assert meta["videos"]["video2"]["expressions"]["0"]["exp"] == "What is everyone looking at?"


def test_review_project_writes_decisions_back(server, files_root, capsys):
    from instrack_annotation.labelstudio import connect, find_project
    from instrack_annotation.meta import MetaFile
    from instrack_annotation.review import default_title

    root = make_root(files_root / "review-root", n_videos=1)
    meta = json.loads((root / "test" / "meta_expressions.json").read_text())
    exps = {"0": {"exp": "Who will win the race?", "obj_id": [1], "kind": "seed"}}
    texts = ["Which dog wins?", "Keep your eyes on the future champion.", "Who crosses the line first?",
             "Follow the leader of the pack.", "Who is ahead of all the others?"]
    for i, text in enumerate(texts, start=1):
        exps[str(i)] = {"exp": text, "obj_id": [1], "kind": "rephrase", "seed": "0",
                        "status": "needs_review" if i <= 2 else "accepted"}
    exps["1"]["problems"] = ["names the target's category ('dog')"]
    meta["videos"]["video0"]["expressions"] = exps
    write_meta(meta, root / "test" / "meta_expressions.json")

    data = server.data_dir
    assert "2 tasks created" in cli("annotate", "review-import", root, "--server-dir", data, "--no-progress",
                                     capsys=capsys)
    assert "3 tasks created, 2 already there" in cli(
        "annotate", "review-import", root, "--server-dir", data, "--all", "--no-progress", capsys=capsys)
    conn = connect(server.url, server.credentials.token)
    tasks = tasks_by_key(conn, find_project(conn, default_title(MetaFile(root, "test"))))
    by_exp = {t.data["exp_id"]: t for t in tasks.values()}
    assert by_exp["1"].data["problems"].startswith("names the target's category")

    review(conn, by_exp["1"].id, "fix", fixed="Which runner wins?")
    review(conn, by_exp["2"].id, "keep")
    review(conn, by_exp["3"].id, "reject")
    out = cli("annotate", "review-export", root, "--server-dir", data, capsys=capsys)
    assert "1 kept, 1 fixed, 1 rejected" in out and "2 not reviewed yet" in out

    exps = json.loads((root / "test" / "meta_expressions.json").read_text())["videos"]["video0"]["expressions"]
    assert exps["1"]["exp"] == "Which runner wins?" and exps["1"]["original"] == "Which dog wins?"
    assert exps["1"]["status"] == "fixed" and exps["1"]["review"]["by"] == server.credentials.username
    assert exps["2"]["status"] == "kept"
    assert "3" not in exps
    rejected = json.loads((root / "test" / "meta_expressions.json").read_text())["videos"]["video0"]
    assert rejected["rejected_rephrasings"][0]["exp"] == "Who crosses the line first?"
    out = cli("annotate", "review-export", root, "--server-dir", data, capsys=capsys)
    assert "0 kept, 0 fixed, 0 rejected, 3 unchanged" in out

    report = cli("instructions", "report", root, "--out", root / "report", capsys=capsys)
    assert "rephrasings 4" in report
    assert (root / "report" / "instructions_lengths.png").stat().st_size > 1000


def test_unreachable_server_is_one_line(tmp_path, capsys):
    need_extra("annotation", "label_studio_sdk")
    root = make_root(tmp_path / "root", n_videos=1, n_frames=2)
    code = cli_main(["annotate", "export", str(root), "--url", "http://127.0.0.1:9", "--token", "x" * 40])
    err = capsys.readouterr().err
    assert code == 2 and "no Label Studio server answers" in err and err.count("\n") == 1


def test_an_annotator_writes_a_seed_in_the_labelling_view(server, files_root, browser, capsys):
    """The whole human path in a real browser: log in, open the labelling view,
    see the outlined first frame and the clip, type the instruction, tick a
    flag, submit; the export then finds it in meta_expressions.json."""
    from browser import ARTIFACTS
    from instrack_annotation.labelstudio import connect, find_project
    from instrack_annotation.meta import MetaFile
    from instrack_annotation.seeds import default_title

    root = make_root(files_root / "browser-root", n_videos=1)
    cli("annotate", "import", root, "--server-dir", server.data_dir, "--no-progress", capsys=capsys)
    conn = connect(server.url, server.credentials.token)
    project = find_project(conn, default_title(MetaFile(root, "test")))

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server.url + "/user/login/")
        page.fill("input[name=email]", server.credentials.username)
        page.fill("input[name=password]", server.credentials.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{server.url}/projects/{project}/data?labeling=1")
        page.wait_for_selector("textarea", timeout=60_000)
        # what the annotator looks at: the outlined first frame and the highlighted clip
        # (the view fetches the frame itself and shows it from a blob: URL)
        page.wait_for_function("() => [...document.images].some(i => i.complete && i.naturalWidth === 128)",
                               timeout=30_000)
        page.wait_for_function("() => [...document.querySelectorAll('video')].some(v => v.readyState >= 2)",
                               timeout=30_000)
        page.fill("textarea", "Which one would a herder call back first?")
        page.keyboard.press("Shift+Enter")  # adds the text as the answer
        page.get_by_text("implicit", exact=False).first.click()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "label-studio-labelling-view.png"), full_page=True)
        with page.expect_response(lambda r: "/annotations" in r.url and r.request.method == "POST") as sent:
            page.get_by_test_id("bottombar-submit-button").click()
        assert sent.value.ok
    finally:
        page.close()

    out = cli("annotate", "export", root, "--server-dir", server.data_dir, capsys=capsys)
    assert "1 seeds written" in out
    seed = json.loads((root / "test" / "meta_expressions.json").read_text())["videos"]["video0"]["expressions"]["0"]
    assert seed["exp"] == "Which one would a herder call back first?"
    assert seed["annotator"] == server.credentials.username
    assert seed["flags"]["implicit"] is True
