"""The web board against what a careless or hostile user sends, on real
`instrack serve` processes over SQLite and a real PostgreSQL server:

* quotas: 50 concurrent uploads against a quota of 30 are accepted 30 times,
  20 against a queue with 5 places left 5 times, across two web servers on
  one database (so only the database's lock can keep the count);
* hostile requests: each answered 4xx with a one-line reason, no traceback,
  nothing left on disk, and the board still serving;
* what the board shows: no live javascript: link, plots of names that look
  like mathtext, one-line failure reasons, CSP and X-Frame-Options headers;
* the connection itself: X-Forwarded-For believed only from configured
  proxies, half-open connections closed after the header timeout.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2", "alembic")

import httpx  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from instrack.cli.main import main
from instrack.dataset.sample import example_submission, sample_root
from instrack.evaluation import evaluate
from instrack_leaderboard import schema
from instrack_leaderboard.results import parse_result
from instrack_leaderboard.store import Store
from instrack_leaderboard.testing import ServeProcess, free_port, zip_folder
from postgres_server import postgres_fixture

pytestmark = pytest.mark.server

postgres = pytest.fixture(scope="module")(postgres_fixture)

#: the counts of the issue: accepted by the counts check, decoded differently
#: by pycocotools (its C decoder wraps past 32 bits) on a 241x321 frame
WRAPPING_COUNTS = ":PRW1:m\\mooooO"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "data" / "lb.sqlite")
    return request.getfixturevalue("postgres").fresh_database()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    import numpy as np
    from PIL import Image
    from pycocotools import mask as mask_utils

    d = tmp_path_factory.mktemp("hostile")
    good = zip_folder(example_submission(), d / "good.zip")
    out = {"good": good}
    rle = []
    for png in sorted(example_submission().rglob("*.png")):
        encoded = mask_utils.encode(np.asfortranarray((np.asarray(Image.open(png)) > 0).astype(np.uint8)))
        rle.append({"video": png.parent.parent.name, "exp_id": png.parent.name, "frame": png.stem,
                    "segmentation": {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}})
    (d / "rle.json").write_text(json.dumps(rle))
    out["rle"] = d / "rle.json"
    crash = json.loads(json.dumps(rle))
    first = next(r for r in crash if r["segmentation"]["size"] == [241, 321])
    first["segmentation"]["counts"] = WRAPPING_COUNTS
    (d / "wrapping-rle.json").write_text(json.dumps(crash))
    out["wrapping-rle"] = d / "wrapping-rle.json"
    # JSON the parser gives up on: 100,000 levels deep, a 5000-digit integer
    (d / "nested.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    out["nested"] = d / "nested.json"
    big_int = json.dumps(rle[:1]).replace(json.dumps(rle[0]["segmentation"]["size"]), f"[{'9' * 5000}, 1]")
    (d / "bigint.json").write_text(big_int)
    out["bigint"] = d / "bigint.json"
    # zips whose members cannot be inflated: corrupt deflate data, an unsupported method (6, "implode")
    with zipfile.ZipFile(good) as src:
        members = [(info.filename, src.read(info)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    raw = bytearray(buf.getvalue())
    name_len, extra_len = struct.unpack("<HH", raw[26:30])
    for k in range(30 + name_len + extra_len, 30 + name_len + extra_len + 40):
        raw[k] ^= 0xFF
    (d / "corrupt-deflate.zip").write_bytes(bytes(raw))
    out["corrupt-deflate"] = d / "corrupt-deflate.zip"
    raw = bytearray(buf.getvalue())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(signature)
        while at >= 0:
            raw[at + offset:at + offset + 2] = struct.pack("<H", 6)
            at = raw.find(signature, at + 4)
    (d / "method6.zip").write_bytes(bytes(raw))
    out["method6"] = d / "method6.zip"
    return out


def _post(base: str, token: str | None, path: Path, method: str = "Mine", timeout: float = 120,
          **extra) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with open(path, "rb") as handle:
        return httpx.post(f"{base}/api/submissions", headers=headers, timeout=timeout,
                          data={"method": method, **extra}, files={"file": (path.name, handle)})


def _web(tmp_path: Path, db: str, *extra: str, name: str = "web") -> tuple[ServeProcess, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = ServeProcess(["--port", str(port), "--no-worker", "--data-dir", str(tmp_path / "data"), "--db", db,
                         *extra], tmp_path / f"{name}.log").start()
    return proc, base


def _stored_uploads(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "data" / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def _count(store: Store, *where) -> int:
    S = schema.submissions
    with store.engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(S).where(*where)).scalar_one()


# -- quotas under concurrency ------------------------------------------------------------

def test_concurrent_uploads_hold_the_quota_and_the_queue_limit(tmp_path, db_url, files):
    (tmp_path / "data").mkdir(exist_ok=True)
    store = Store(db_url)
    alice, bob = store.add_submitter("alice"), store.add_submitter("bob")
    limits = ["--submissions-per-hour", "30", "--max-pending", "35", "--posts-per-minute", "1000"]
    # two web servers on one database: no lock inside one process can keep the count
    servers = [_web(tmp_path, db_url, *limits, name=f"web{i}") for i in range(2)]
    try:
        for proc, base in servers:
            proc.wait_http(base)

        def burst(token: str, n: int) -> Counter:
            with ThreadPoolExecutor(n) as pool:
                answers = list(pool.map(lambda i: _post(servers[i % 2][1], token, files["rle"], f"M{i}"), range(n)))
            for r in answers:
                assert r.status_code in (202, 429, 503), r.text
                assert "Traceback" not in r.text
            return Counter(r.status_code for r in answers)

        assert burst(alice, 50) == {202: 30, 429: 20}
        # 30 queued (no worker runs), 5 places left: bob's 20 at once get 5
        assert burst(bob, 20) == {202: 5, 503: 15}
    finally:
        for proc, _ in servers:
            proc.stop()
    S = schema.submissions
    assert _count(store, S.c.status == "queued") == 35
    # every refused upload was removed from disk; each accepted one is there once
    assert len(_stored_uploads(tmp_path)) == 35
    for proc, _ in servers:
        assert "Traceback" not in proc.logs()


# -- hostile requests ------------------------------------------------------------------------

def _one_line_4xx(r: httpx.Response, status: int, needle: str, data_dir: Path) -> None:
    assert r.status_code == status, (status, r.status_code, r.text[:500])
    text = r.text
    assert needle in text, (needle, text[:500])
    assert "Traceback" not in text and str(data_dir) not in text
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        for line in [body.get("error", "")] + [f"{p['where']}: {p['reason']}" for p in body.get("problems", [])]:
            assert "\n" not in line, line


def test_hostile_requests_get_one_line_4xx_and_leave_nothing(tmp_path, db_url, files):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    store = Store(db_url)
    token = store.add_submitter("mallory")
    admin = store.add_submitter("root", is_admin=True)
    web, base = _web(tmp_path, db_url, "--max-upload-bytes", "1000000", "--posts-per-minute", "1000")
    cases = 0
    try:
        web.wait_http(base)

        def alive() -> None:
            assert httpx.get(f"{base}/healthz").status_code == 200
            assert '<table id="board">' in httpx.get(f"{base}/").text

        # uploads a reader cannot parse: 4xx with the file named, never a bare 500
        for name, needle in [("nested", "nested.json"), ("bigint", "bigint.json"),
                             ("corrupt-deflate", "corrupt-deflate.zip"), ("method6", "method6.zip")]:
            r = _post(base, token, files[name])
            _one_line_4xx(r, 422, needle, data)
            cases += 1
            alive()
        # text fields: NUL (PostgreSQL refuses it in text), a line break, links that run script
        for fields, needle in [({"method": "a\x00b"}, "control characters"),
                               ({"method": "ok", "variant": "two\nlines"}, "control characters"),
                               ({"link": "javascript:alert(document.domain)"}, "http:// or https://"),
                               ({"link": "JaVaScRiPt:alert(1)"}, "http:// or https://"),
                               ({"link": "data:text/html,<script>alert(1)</script>"}, "http:// or https://"),
                               ({"link": "java\tscript:alert(1)"}, "control characters")]:
            r = _post(base, token, files["rle"], **{"method": "X", **fields})
            _one_line_4xx(r, 400, needle, data)
            cases += 1
        # over the size limit, declared (Content-Length) or not (chunked): 413 both ways
        r = httpx.post(f"{base}/api/submissions", headers={"Authorization": f"Bearer {token}",
                       "Content-Type": "multipart/form-data; boundary=x"}, content=b"x" * 1_200_000)
        _one_line_4xx(r, 413, "upload too large", data)

        def chunks():
            yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\n\r\nPK\x03\x04"
            for _ in range(20):
                yield bytes(100_000)

        r = httpx.post(f"{base}/api/submissions", content=chunks(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=x"})
        assert "chunked" in r.request.headers.get("transfer-encoding", "")
        _one_line_4xx(r, 413, "upload too large", data)
        cases += 2
        alive()
        # ids past what a 64-bit column holds (and below 1): 404, not 500
        paths = ["/entry/{}", "/entry/{}/plot/per-video.png", "/submission/{}", "/api/submissions/{}"]
        for big in (2**63, 2**64, 10**30, 0, -1):
            for path in paths:
                r = httpx.get(base + path.format(big))
                _one_line_4xx(r, 404, "no such", data)
                cases += 1
            r = httpx.post(f"{base}/admin/entries/{big}/hidden", data={"token": admin, "hidden": "1"})
            _one_line_4xx(r, 404, "no such entry", data)
            cases += 1
        for path in ["/?benchmark=a%00b", "/api/entries?benchmark=a%00b", "/api/entries?origin=%00"]:
            _one_line_4xx(httpx.get(base + path), 400, "control characters", data)
            cases += 1
        _one_line_4xx(httpx.get(f"{base}/plot/methods.png?benchmark=nope"), 404, "no such board", data)
        cases += 1
        alive()
        # nothing refused stayed on disk
        assert _stored_uploads(tmp_path) == []
    finally:
        web.stop()
    assert cases == 41  # the count the README quotes
    # the server's log holds the tracebacks of readers that broke (for the admin); uvicorn logged no 500
    assert "Exception in ASGI application" not in web.logs()


@pytest.fixture(scope="module")
def sample_result() -> dict:
    return evaluate(sample_root(), example_submission(), workers=1)


def test_what_the_board_shows_is_safe(tmp_path, files, sample_result):
    data = tmp_path / "data"
    data.mkdir()
    db = str(data / "lb.sqlite")
    store = Store(db)
    token = store.add_submitter("mallory")
    result = parse_result(sample_result)
    # a method name that is broken mathtext: drawn as typed, for everyone
    tex = store.add_result(result, method=r"$\frac{$", origin="submitted", benchmark="instrack-sample")
    good = store.add_result(result, method="Linked", link="https://example.org/x?a=<b>&c='d'",
                            origin="submitted", benchmark="instrack-sample")
    with pytest.raises(Exception, match="expected an http:// or https:// URL"):
        store.add_result(result, method="X", link="javascript:alert(document.domain)")
    # rows an older release let in: a javascript: link, a traceback as the failure reason
    E, S = schema.entries, schema.submissions
    with store.engine.begin() as c:
        c.execute(sa.update(E).where(E.c.id == tex).values(link="javascript:alert(document.domain)"))
    from instrack_leaderboard.queue import Queue

    who = store.submitter("mallory")
    old = Queue(store).enqueue(submitter_id=who.id, method="Old", variant="", paper="", link="javascript:x()",
                               benchmark="instrack-sample", split="test", protocol="instrack", filename="old.json",
                               stored_path=str(data / "uploads" / "abc.json"), size_bytes=1, sha256="0" * 64)
    traceback_text = ('ValueError: Invalid RLE mask representation\nTraceback (most recent call last):\n'
                      f'  File "{data}/x.py", line 3, in decode\n    raise ValueError\n'
                      'ValueError: Invalid RLE mask representation')
    with store.engine.begin() as c:
        c.execute(sa.update(S).where(S.c.id == old).values(status="failed", message=traceback_text))

    web, base = _web(tmp_path, db, "--max-upload-bytes", "5000000")
    try:
        web.wait_http(base)
        page = httpx.get(f"{base}/entry/{tex}")
        assert page.status_code == 200
        assert 'href="javascript' not in page.text.lower() and "javascript:alert(document.domain)" in page.text
        assert "javascript" not in json.dumps(httpx.get(f"{base}/api/entries?benchmark=instrack-sample").json())
        linked = httpx.get(f"{base}/entry/{good}").text
        assert 'href="https://example.org/x?a=&lt;b&gt;&amp;c=&#39;d&#39;"' in linked
        # the plots of a mathtext-looking name draw
        for path in ["/plot/methods.png?benchmark=instrack-sample", f"/entry/{tex}/plot/per-video.png",
                     f"/entry/{tex}/plot/robustness.png"]:
            r = httpx.get(base + path)
            assert r.status_code == 200 and r.content.startswith(b"\x89PNG"), (path, r.text[:300])
        # an old traceback is shown as its last line, on the page and in the API
        for path in [f"/submission/{old}", f"/api/submissions/{old}"]:
            r = httpx.get(base + path)
            assert "Traceback" not in r.text and "x.py" not in r.text and str(data) not in r.text
            assert "ValueError: Invalid RLE mask representation" in r.text
        assert httpx.get(f"{base}/api/submissions/{old}").json()["link"] == ""
        # every page and answer carries the headers that stop framing and foreign scripts
        for r in [httpx.get(base + "/"), httpx.get(f"{base}/entry/{tex}"), httpx.get(f"{base}/api/entries"),
                  httpx.get(f"{base}/entry/999"), httpx.post(f"{base}/api/submissions", content=b"x" * 6_000_000,
                                                             headers={"Content-Type": "multipart/form-data"})]:
            assert r.headers["x-frame-options"] == "DENY", r.url
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"

        # plots are drawn once per change of what they show, however many ask at once
        # (the entry added here is the change: the sample board was drawn above)
        store.add_result(result, method="Earlier", origin="submitted", benchmark="instrack-sample")
        drawn = httpx.get(f"{base}/healthz").json()["plots_drawn"]
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"{base}/plot/methods.png?benchmark=instrack-sample"),
                                    range(20)))
        assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
        assert httpx.get(f"{base}/healthz").json()["plots_drawn"] == drawn + 1
        etag = answers[0].headers["etag"]
        assert httpx.get(f"{base}/plot/methods.png?benchmark=instrack-sample",
                         headers={"If-None-Match": etag}).status_code == 304
        store.add_result(result, method="Newcomer", origin="submitted", benchmark="instrack-sample")
        fresh = httpx.get(f"{base}/plot/methods.png?benchmark=instrack-sample", headers={"If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag

        # the RLE the counts check accepts and pycocotools decodes differently, uploaded:
        # refused at once, or (while the check accepts it) failed by the worker: one line either way
        r = _post(base, token, files["wrapping-rle"])
        assert r.status_code in (202, 422), r.text
        if r.status_code == 202:
            from instrack_leaderboard.config import ServerSettings
            from instrack_leaderboard.executor import LocalExecutor
            from instrack_leaderboard.worker import Worker

            settings = ServerSettings(db=db, data_dir=data, gt_root=sample_root(), benchmark="instrack-sample")
            assert Worker(settings, store, LocalExecutor()).run_once()
            sub = httpx.get(f"{base}/api/submissions/{r.json()['id']}").json()
            assert sub["status"] in ("failed", "rejected"), sub
            shown = [sub["message"]] + [f"{p['where']}: {p['reason']}" for p in sub["problems"] or []]
            assert all("\n" not in s and "Traceback" not in s and str(data) not in s for s in shown), shown
            assert "wrapping-rle.json" in " ".join(shown)
            assert "Traceback" not in httpx.get(f"{base}/submission/{sub['id']}").text
        else:
            _one_line_4xx(r, 422, "wrapping-rle.json", data)
    finally:
        web.stop()


# -- the connection ------------------------------------------------------------------------------

def _posts_from(base: str, n: int) -> list[int]:
    # each claims another client address; only a trusted proxy may say so
    return [httpx.post(f"{base}/api/submissions", content=b"{}", headers={
        "X-Forwarded-For": f"203.0.113.{i}", "Content-Type": "application/json"}).status_code for i in range(n)]


def test_forwarded_for_only_from_trusted_proxies_and_half_open_connections_closed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = str(data / "lb.sqlite")
    Store(db)
    direct, base = _web(tmp_path, db, "--posts-per-minute", "3", "--header-timeout-s", "1", name="direct")
    proxied, proxied_base = _web(tmp_path, db, "--posts-per-minute", "3", "--trusted-proxies", "127.0.0.1",
                                 name="proxied")
    try:
        direct.wait_http(base)
        proxied.wait_http(proxied_base)
        # X-Forwarded-For from an untrusted peer is ignored: all five count against 127.0.0.1
        assert _posts_from(base, 5) == [400, 400, 400, 429, 429]
        # behind a configured proxy, each forwarded client has its own budget
        assert _posts_from(proxied_base, 5) == [400] * 5

        # half-open connections: part of a request head, then silence (or a byte now and then)
        host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
        held = []
        for i in range(60):
            s = socket.create_connection((host, port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"GE")
            held.append(s)
        started = time.monotonic()
        for i in range(4):
            time.sleep(0.4)
            for s in held[::2]:
                try:
                    s.sendall(b"T")  # a slow client still has to finish its head in time
                except OSError:
                    pass
        closed = 0
        for s in held:
            s.settimeout(max(5 - (time.monotonic() - started), 0.1))
            try:
                closed += s.recv(1) == b""
            except (TimeoutError, socket.timeout):
                pass
            except ConnectionResetError:
                closed += 1
            s.close()
        assert closed == 60
        assert httpx.get(f"{base}/healthz").status_code == 200
        # a slow but complete request is still served
        with socket.create_connection((host, port)) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.5)
            s.sendall(b"\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        direct.stop()
        proxied.stop()


def test_admin_token_never_on_the_command_line(tmp_path, capsys):
    assert main(["serve", "--admin-token", "s3cret", "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "visible to every user" in err and "--admin-token-file" in err and err.count("\n") == 1
    assert "Traceback" not in err
    token_file = tmp_path / "admin-token"
    token_file.write_text("from-a-file-token\n")
    db = str(tmp_path / "lb.sqlite")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = ServeProcess(["--port", str(port), "--no-worker", "--data-dir", str(tmp_path / "data"), "--db", db,
                        "--admin-token-file", str(token_file)], tmp_path / "web.log").start()
    try:
        web.wait_http(base)
        first = httpx.get(f"{base}/api/entries?benchmark=instrack").json()[0]["id"]
        r = httpx.post(f"{base}/admin/entries/{first}/hidden", data={"token": "from-a-file-token", "hidden": "1"})
        assert r.status_code == 303
        cmdline = Path(f"/proc/{web.proc.pid}/cmdline").read_bytes()
        assert b"from-a-file-token" not in cmdline
    finally:
        web.stop()
    (tmp_path / "two").write_text("a b\n")
    assert main(["serve", "--admin-token-file", str(tmp_path / "two"), "--data-dir", str(tmp_path / "d")]) == 2
    assert "expected one token on one line" in capsys.readouterr().err


def test_killed_evaluation_child_prints_no_traceback():
    # the worker stops listening (it was killed, or cancelled the job) while the
    # evaluation is still running: the child finishes, finds the pipe closed, and ends quietly
    script = (
        "import time\n"
        "from instrack_leaderboard.executor import LocalExecutor\n"
        "from instrack_leaderboard.testing import sleeping_job\n"
        "handle = LocalExecutor(preload=()).start(sleeping_job, 1.0)\n"
        "handle._recv.close()\n"
        "handle._proc.join(20)\n"
        "print('exit', handle._proc.exitcode)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "exit 0" in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr


def test_evaluation_children_die_with_their_worker(tmp_path):
    # a worker killed with -9 mid-evaluation: its evaluation must not run on for
    # up to --eval-timeout-s, orphaned, and then write to a pipe nobody reads
    script = (
        "import os, sys\n"
        "from instrack_leaderboard.executor import LocalExecutor\n"
        "from instrack_leaderboard.testing import sleeping_job\n"
        "handle = LocalExecutor(preload=()).start(sleeping_job, 60.0)\n"
        "print(handle._proc.pid, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    # output to files, not pipes: the orphan would hold a pipe open, and the test is whether it lives
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as o, open(err, "w") as e:
        subprocess.run([sys.executable, "-c", script], stdout=o, stderr=e, timeout=60)
    child = int(out.read_text().split()[0])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and "Z" not in _state(child):
        assert time.monotonic() < deadline, f"evaluation child {child} outlived its worker"
        time.sleep(0.1)
    assert "Traceback" not in err.read_text()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"
