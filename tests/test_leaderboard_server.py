"""The web leaderboard as real processes on loopback, on SQLite and on a real
PostgreSQL server: uploads, a restart of the server and a kill of the worker
mid-queue with nothing lost, two workers claiming at the same time with each
submission scored once, and bad input answered with the right status while the
server keeps serving."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

import httpx
import pytest

from instrack.evaluation import evaluate
from instrack.dataset.sample import example_submission, sample_root
from instrack_leaderboard.store import Store
from instrack_leaderboard.testing import ServeProcess, free_port, wait_status, zip_folder
from postgres_server import postgres_fixture

pytestmark = pytest.mark.server

postgres = pytest.fixture(scope="module")(postgres_fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        (tmp_path / "data").mkdir(exist_ok=True)
        return str(tmp_path / "data" / "lb.sqlite")
    return request.getfixturevalue("postgres").fresh_database()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("uploads")
    good = zip_folder(example_submission(), d / "good.zip")
    out = {"good": good}
    with zipfile.ZipFile(good) as src:
        members = [(i, src.read(i)) for i in src.infolist()]
    # passes the upload checks (headers are fine) but one PNG is cut short:
    # only scoring finds it, so it goes through the queue and comes back rejected
    with zipfile.ZipFile(d / "truncated.zip", "w") as z:
        for info, data in members:
            z.writestr(info, data[:60] if info.filename == "cafe-red-jacket/2/00004.png" else data)
    out["truncated"] = d / "truncated.zip"
    with zipfile.ZipFile(d / "missing.zip", "w") as z:
        for info, data in members:
            if not info.filename.startswith("tote-soap/"):
                z.writestr(info, data)
    out["missing"] = d / "missing.zip"
    with zipfile.ZipFile(d / "traversal.zip", "w") as z:
        for info, data in members:
            z.writestr(info, data)
        z.writestr("../../etc/evil.png", members[0][1])
    out["traversal"] = d / "traversal.zip"
    # a bomb: 80 MB of zeros deflate to ~80 kB
    with zipfile.ZipFile(d / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("cafe-cowboy-hat/0/00000.png", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(80):
                member.write(chunk)
    out["bomb"] = d / "bomb.zip"
    # the same masks as a COCO RLE JSON file (SPEC §2), a valid submission too
    import numpy as np
    from PIL import Image
    from pycocotools import mask as mask_utils

    rle = []
    for png in sorted(example_submission().rglob("*.png")):
        video, exp_id = png.parent.parent.name, png.parent.name
        encoded = mask_utils.encode(np.asfortranarray((np.asarray(Image.open(png)) > 0).astype(np.uint8)))
        rle.append({"video": video, "exp_id": exp_id, "frame": png.stem,
                    "segmentation": {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}})
    (d / "rle.json").write_text(json.dumps(rle))
    out["rle"] = d / "rle.json"
    (d / "malformed.json").write_text('[{"video": "cafe-cowboy-hat", "exp_id": "0", "frame": "00000", "segm')
    out["malformed"] = d / "malformed.json"
    (d / "big.zip").write_bytes(b"PK\x03\x04" + bytes(1_300_000))
    out["big"] = d / "big.zip"
    (d / "notes.txt").write_text("these are my predictions, honest")
    out["text"] = d / "notes.txt"
    return out


@pytest.fixture(scope="module")
def expected() -> dict:
    return evaluate(sample_root(), example_submission(), workers=1)


def _post(base: str, token: str | None, path: Path, method: str = "Mine", **extra) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with open(path, "rb") as handle:
        return httpx.post(f"{base}/api/submissions", headers=headers, timeout=60,
                          data={"method": method, **extra}, files={"file": (path.name, handle)})


def test_restart_mid_queue_loses_nothing(tmp_path, files, expected, db_url):
    data = tmp_path / "data"
    db = db_url
    data.mkdir(exist_ok=True)
    token = Store(db).add_submitter("alice")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    common = ["--data-dir", str(data), "--db", str(db), "--lease-s", "2", "--poll-s", "0.1"]
    web = ServeProcess(["--port", str(port), "--no-worker", *common], tmp_path / "web.log").start()
    worker = None
    try:
        web.wait_http(base)
        # queued while no worker runs
        good = _post(base, token, files["good"], "Good")
        truncated = _post(base, token, files["truncated"], "Truncated")
        assert good.status_code == 202 and truncated.status_code == 202, (good.text, truncated.text)
        # refused at once, with the evaluator's message, never queued
        missing = _post(base, token, files["missing"], "Missing")
        assert missing.status_code == 422
        assert any("tote-soap" in p["where"] and "missing video" in p["reason"] for p in missing.json()["problems"])
        assert all("missing.zip" in p["where"] for p in missing.json()["problems"])
        ids = [good.json()["id"], truncated.json()["id"]]

        # the server dies hard mid-queue and comes back
        web.stop(kill=True)
        web = ServeProcess(["--port", str(port), "--no-worker", *common], tmp_path / "web.log").start()
        web.wait_http(base)
        assert [httpx.get(f"{base}/api/submissions/{i}").json()["status"] for i in ids] == ["queued", "queued"]

        # a worker dies hard while scoring: its lease runs out and the next one takes over
        worker = ServeProcess(["--worker-only", *common], tmp_path / "worker1.log").start()
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/api/submissions/{ids[0]}").json()["status"] != "running":
            assert time.monotonic() < deadline, worker.logs()
            time.sleep(0.02)
        worker.stop(kill=True)
        assert httpx.get(f"{base}/api/submissions/{ids[0]}").json()["status"] == "running"
        worker = ServeProcess(["--worker-only", *common], tmp_path / "worker2.log").start()
        done = wait_status(base, ids[0], timeout=60)
        rejected = wait_status(base, ids[1], timeout=60)
    finally:
        for proc in (web, worker):
            if proc:
                proc.stop()

    assert done["status"] == "done" and done["attempts"] == 2, done
    assert rejected["status"] == "rejected" and rejected["entry_id"] is None
    assert rejected["problems"] == [{"where": "truncated.zip/cafe-red-jacket/2/00004.png",
                                     "reason": "corrupt PNG data (image file is truncated)"}]
    store = Store(db)
    entry = store.entry(done["entry_id"])
    assert entry["origin"] == "submitted" and entry["method"] == "Good"
    assert entry["jf_mean"] == pytest.approx(expected["metrics"]["J&F-Mean"], abs=1e-12)
    assert entry["submission_sha256"] == done["sha256"]
    assert len(store.entries("instrack-sample", origins=["submitted"])) == 1
    # the accepted upload is still on disk, under a name of ours
    assert len(list((data / "uploads").glob("*.zip"))) == 2


# PostgreSQL only: on SQLite the claim race is covered by test_leaderboard_store's racing claim loops
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_claiming_at_once_score_each_submission_once(tmp_path, files, expected, db_url):
    import sqlalchemy as sa

    from instrack_leaderboard.schema import submissions

    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    token = Store(db_url).add_submitter("erin")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    common = ["--data-dir", str(data), "--db", db_url, "--lease-s", "5", "--poll-s", "0.05"]
    web = ServeProcess(["--port", str(port), "--no-worker", *common], tmp_path / "web.log").start()
    workers = [ServeProcess(["--worker-only", *common], tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        web.wait_http(base)
        for w in workers:
            w.start()
        deadline = time.monotonic() + 60
        while not all("scoring with" in w.logs() for w in workers):  # both polling the queue
            assert time.monotonic() < deadline, [w.logs() for w in workers]
            time.sleep(0.1)
        ids = []
        for i in range(6):
            r = _post(base, token, files["good" if i % 2 else "rle"], f"Twice-{i}")
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        final = [wait_status(base, i, timeout=120) for i in ids]
    finally:
        for proc in (web, *workers):
            proc.stop()
    assert [s["status"] for s in final] == ["done"] * 6 and {s["attempts"] for s in final} == {1}
    store = Store(db_url)
    entries = store.entries("instrack-sample", origins=["submitted"])
    # one entry per submission, each naming its own submission, nothing twice
    assert sorted(e["id"] for e in entries) == sorted(s["entry_id"] for s in final)
    assert sorted(e["source"].split(" (")[0] for e in entries) == sorted(f"submission {i}" for i in ids)
    for e in entries:
        assert e["jf_mean"] == pytest.approx(expected["metrics"]["J&F-Mean"], abs=1e-9)
    with store.engine.connect() as c:
        scored_by = {r[0] for r in c.execute(sa.select(submissions.c.worker).where(submissions.c.id.in_(ids)))}
    assert len(scored_by) == 2, scored_by  # both workers took part
    for w in workers:
        assert "Traceback" not in w.logs()


def test_bad_input_right_status_and_still_serving(tmp_path, files):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "lb.sqlite"
    store = Store(db)
    token = store.add_submitter("bob")
    admin = store.add_submitter("root", is_admin=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = ServeProcess(["--port", str(port), "--no-worker", "--data-dir", str(data), "--db", str(db),
                        "--max-upload-bytes", "1000000", "--submissions-per-hour", "2"], tmp_path / "web.log").start()
    try:
        web.wait_http(base)

        def alive() -> None:
            assert httpx.get(f"{base}/healthz").status_code == 200
            assert "<table id=\"board\">" in httpx.get(f"{base}/").text

        cases = [
            ("big", token, 413, "upload too large"),
            ("bomb", token, 422, "declares 83886080 bytes uncompressed"),
            ("traversal", token, 422, "path contains '..'"),
            ("malformed", token, 422, "malformed.json"),
            ("text", token, 422, "not a zip archive or a JSON file"),
            ("good", "not-a-token", 401, "wrong or missing submitter token"),
            ("good", None, 401, "a submitter token is required"),
        ]
        for name, tok, status, message in cases:
            r = _post(base, tok, files[name])
            assert r.status_code == status, (name, r.text)
            body = r.json()
            text = json.dumps(body)
            assert message in text, (name, text)
            assert str(data) not in text  # our storage paths never leak
            alive()

        # the form says the same in HTML, with the status
        with open(files["traversal"], "rb") as handle:
            r = httpx.post(f"{base}/submit", data={"method": "X", "token": token},
                           files={"file": ("traversal.zip", handle)})
        assert r.status_code == 422 and "path contains &#39;..&#39;" in r.text and 'id="errors"' in r.text
        r = httpx.post(f"{base}/submit", data={"token": token}, files={"file": ("a.zip", io.BytesIO(b"PK"))})
        assert r.status_code == 400 and "method" in r.text
        r = httpx.post(f"{base}/api/submissions", content=b"{}", headers={"Content-Type": "application/json",
                                                                          "Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]

        # per-submitter quota, counted in the database; an RLE JSON is as good as a zip
        assert [_post(base, token, files[n]).status_code for n in ("rle", "good", "good")] == [202, 202, 429]
        assert _post(base, token, files["good"]).headers["Retry-After"]

        # admin hides an entry; a plain submitter may not
        first = httpx.get(f"{base}/api/entries?benchmark=instrack").json()[0]
        r = httpx.post(f"{base}/admin/entries/{first['id']}/hidden", data={"token": token, "hidden": "1"})
        assert r.status_code == 403
        r = httpx.post(f"{base}/admin/entries/{first['id']}/hidden", data={"token": "nope", "hidden": "1"})
        assert r.status_code == 401
        r = httpx.post(f"{base}/admin/entries/{first['id']}/hidden", data={"token": admin, "hidden": "1"})
        assert r.status_code == 303
        assert first["id"] not in [e["id"] for e in httpx.get(f"{base}/api/entries?benchmark=instrack").json()]
        assert httpx.get(f"{base}/entry/{first['id']}").status_code == 404
        assert httpx.get(f"{base}/entry/999999").status_code == 404
        assert httpx.get(f"{base}/api/submissions/999999").status_code == 404
        alive()
    finally:
        web.stop()
    assert "Traceback" not in web.logs()
