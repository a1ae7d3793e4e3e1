"""`instrack rephrase` against a local OpenAI-compatible HTTP server.

The server is real (a socket on loopback, HTTP/1.1, JSON bodies) and the client
is the real openai package; the server's answers are scripted per test: a
normal answer, 429 then success, 500, malformed JSON, an answer naming the
category, the Batch API, and a request that never returns (for the kill test).
"""

from __future__ import annotations

import email.parser
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import need_extra  # noqa: E402

need_extra("annotation", "openai", "pydantic")

from instrack.cli.main import main as cli_main  # noqa: E402
from instrack.dataset.layout import read_split, write_meta  # noqa: E402
from instrack_annotation.categories import category_terms, names_category, plurals  # noqa: E402
from instrack_annotation.rephrase.checks import CheckConfig, check_candidates, similarity  # noqa: E402
from instrack_annotation.rephrase.llm import CallCache, ChatModel, LLMConfig  # noqa: E402
from instrack_annotation.rephrase.pipeline import RephraseOptions, rephrase_split  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Five texts that pass every check for the seeds below; a second set for regenerations.
GOOD = [
    "Keep your eyes on whichever contender finishes first.",
    "Which participant seems ahead of everyone else here?",
    "Track the one that all the others are chasing right now.",
    "Find who is currently leading and stay with it.",
    "Follow the competitor most likely to take the prize.",
]
MORE = [
    "Point at the front-runner of this contest.",
    "Stay with the racer nobody manages to overtake.",
    "Who is about to cross the line before the rest?",
    "Mark the entrant with the best chance of victory.",
    "Locate the one holding the lead at this moment.",
]


# -- the local server ---------------------------------------------------------------


def completion(content: str, model: str = "local-model") -> dict:
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 60, "total_tokens": 110},
    }


def default_answer(body: dict) -> tuple[int, object]:
    """A well-behaved model: five fresh texts per request (a second set when the
    request carries rejected examples), all-good judgements."""
    schema = body["response_format"]["json_schema"]["name"]
    if schema == "Judgements":
        n = len(re.findall(r"^\d+\. ", body["messages"][-1]["content"], flags=re.M))
        judgements = [{"index": i, "same_target": True, "implicit": True, "reason": "fine"} for i in range(n)]
        return 200, completion(json.dumps({"judgements": judgements}))
    texts = MORE if len(body["messages"]) > 2 else GOOD
    return 200, completion(json.dumps({"rephrasings": texts}), model=body["model"])


class LocalOpenAI:
    """An OpenAI-compatible server on 127.0.0.1 with a script of answers.

    `script` is a list of callables (body -> (status, payload[, headers])) used
    for the next chat requests, in order; after it runs out, `default_answer`.
    `block_at=k` makes the k-th chat request (1-based) wait until released."""

    def __init__(self):
        self.script: list = []
        self.chat_bodies: list[dict] = []
        self.paths: list[str] = []
        self.block_at: int | None = None
        self.delay = 0.0  # seconds per chat answer: a model's latency, for the benchmark
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, payload, headers=None):
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.paths.append(self.path)
                if self.path.endswith("/chat/completions"):
                    self._reply(*owner.chat(json.loads(raw)))
                elif self.path.endswith("/files"):
                    self._reply(200, owner.upload(self.headers["Content-Type"], raw))
                elif self.path.endswith("/batches"):
                    self._reply(200, owner.create_batch(json.loads(raw)))
                else:
                    self._reply(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self):
                owner.paths.append(self.path)
                if m := re.search(r"/batches/([\w-]+)$", self.path):
                    self._reply(200, owner.poll_batch(m.group(1)))
                elif m := re.search(r"/files/([\w-]+)/content$", self.path):
                    self._reply(200, owner.files[m.group(1)])
                else:
                    self._reply(404, {"error": {"message": f"no route {self.path}"}})

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client killed mid-request (the kill test) is expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def chat(self, body: dict):
        with self._lock:
            self.chat_bodies.append(body)
            n = len(self.chat_bodies)
            step = self.script.pop(0) if self.script else default_answer
        if self.block_at == n:
            self.blocked.set()
            self.release.wait(60)
        if self.delay:
            time.sleep(self.delay)
        out = step(body)
        return out if len(out) == 3 else (*out, None)

    def upload(self, content_type: str, raw: bytes) -> dict:
        message = email.parser.BytesParser().parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        data = next(part.get_payload(decode=True) for part in message.get_payload()
                    if part.get_param("name", header="content-disposition") == "file")
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": 0,
                "filename": "input.jsonl", "purpose": "batch", "status": "processed"}

    def create_batch(self, request: dict) -> dict:
        lines = []
        for line in self.files[request["input_file_id"]].decode().splitlines():
            item = json.loads(line)
            status, payload, _ = self.chat(item["body"])
            lines.append(json.dumps({"id": f"r-{next(self._ids)}", "custom_id": item["custom_id"],
                                     "response": {"status_code": status, "body": payload}}))
        output_id = f"file-{next(self._ids)}"
        self.files[output_id] = ("\n".join(lines) + "\n").encode()
        batch_id = f"batch-{next(self._ids)}"
        # The first poll says in_progress, so the client's polling loop runs.
        self.batches[batch_id] = {"id": batch_id, "object": "batch", "endpoint": request["endpoint"],
                                  "input_file_id": request["input_file_id"], "completion_window": "24h",
                                  "created_at": 0, "status": "in_progress", "output_file_id": None}
        self.batches[batch_id]["_output"] = output_id
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}

    def poll_batch(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        batch["status"], batch["output_file_id"] = "completed", batch["_output"]
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def status(code: int, headers: dict | None = None):
    return lambda body: (code, {"error": {"message": f"scripted {code}", "type": "server_error"}}, headers)


def content(text: str):
    return lambda body: (200, completion(text, model=body["model"]))


# -- a tiny dataset root -------------------------------------------------------------


SEEDS = {
    "v0": ("Who will win the race?", "dog"),
    "v1": ("Which one is about to cross the finish line?", "horse"),
    "v2": ("Who is in front of the pack?", "person"),
    "v3": ("Which one seems fastest of them all?", "car"),
}


def make_root(tmp_path: Path, videos: dict = SEEDS) -> Path:
    """A split with one seed per video; rephrasing needs no frames, only the meta file."""
    root = tmp_path / "root"
    meta = {"videos": {}}
    for name, (seed, category) in videos.items():
        meta["videos"][name] = {
            "frames": ["00000", "00001"],
            "category": category,
            "expressions": {"0": {"exp": seed, "obj_id": [1], "kind": "seed", "annotator": "a@b"}},
        }
    write_meta(meta, root / "test" / "meta_expressions.json")
    return root


def chat_model(server: LocalOpenAI, root: Path, **config) -> ChatModel:
    settings = dict(model="local-model", base_url=server.url, api_key="test-key", backoff_s=0.01)
    settings.update(config)
    return ChatModel(LLMConfig(**settings), CallCache(root / ".annotation" / "llm-cache"))


def run(server, root, options=RephraseOptions(flush_s=0.0), **config):
    return rephrase_split(root, "test", chat_model(server, root, **config), options, progress=False)


def rephrasings(root: Path, video: str) -> dict:
    meta = json.loads((root / "test" / "meta_expressions.json").read_text())
    exps = meta["videos"][video]["expressions"]
    return {k: v for k, v in exps.items() if v["kind"] == "rephrase"}


def cli(argv: list[str], capsys, env: dict | None = None) -> tuple[int, str, str]:
    old = dict(os.environ)
    os.environ.update(env or {"OPENAI_API_KEY": "test-key"})
    try:
        code = cli_main(argv)
    finally:
        os.environ.clear()
        os.environ.update(old)
    out = capsys.readouterr()
    return code, out.out, out.err


# -- checks (pure) --------------------------------------------------------------------


def test_category_terms_cover_synonyms_and_plurals():
    terms = category_terms("dog")
    for word in ("dog", "dogs", "puppy", "puppies", "hound"):
        assert word in terms
    assert plurals("person") == {"people"} and "boxes" in plurals("box") and "knives" in plurals("knife")
    assert names_category("The puppies' favourite toy", terms) == "puppies"
    assert names_category("A dog-like shape", terms) == "dog"
    assert names_category("Dogma aside, who wins?", terms) is None
    assert names_category("Stop at the red traffic lights", category_terms("traffic_light")) == "traffic lights"


def test_checks_reject_category_duplicates_and_length():
    seed = "Who will win the race?"
    verdicts = check_candidates(
        seed,
        ["Who will win this race?", "The dog that wins", "Too short", GOOD[0], GOOD[0] + " "],
        kept=[],
        terms=category_terms("dog"),
        config=CheckConfig(min_words=3, max_words=12),
    )
    assert [v.ok for v in verdicts] == [False, False, False, True, False]
    assert "near-duplicate of the seed" in verdicts[0].reasons
    assert verdicts[1].passed["category"] is False
    assert verdicts[2].passed["length"] is False
    assert verdicts[4].reasons[0].startswith("near-duplicate of")
    assert similarity("a b c d", "d c b a") == 1.0


# -- against the local server ---------------------------------------------------------


def test_rephrase_writes_five_with_provenance(tmp_path):
    root = make_root(tmp_path)
    with LocalOpenAI() as server:
        report = run(server, root)
    assert len(server.chat_bodies) == 4 and report.failed == []
    split = read_split(root, "test")  # the file still reads with the project's own reader
    for video in split.videos.values():
        assert len(video.instructions) == 6
    got = rephrasings(root, "v0")
    assert sorted(got) == ["1", "2", "3", "4", "5"]
    assert [e["exp"] for e in got.values()] == GOOD
    prov = got["1"]["provenance"]
    assert prov["model"] == "local-model" and prov["base_url"] == server.url
    assert prov["prompt_version"] == "rephrase-v1" and len(prov["prompt_sha256"]) == 64
    assert prov["temperature"] == 0.7 and prov["checks"] == {"category": True, "distinct": True, "length": True}
    assert got["1"]["status"] == "accepted" and got["1"]["seed"] == "0"
    # What was sent: a structured response schema and the forbidden words.
    body = server.chat_bodies[0]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["rephrasings"]["minItems"] == 5
    assert "api_key" not in json.dumps(got)


def test_429_then_success_backs_off_and_retries(tmp_path):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})
    with LocalOpenAI() as server:
        server.script = [status(429, {"Retry-After": "0.05"})]
        report = run(server, root)
    assert report.calls["retries"] == 1 and report.calls["requests"] == 2
    assert len(rephrasings(root, "v0")) == 5


def test_500_is_retried_and_a_persistent_500_fails_the_seed_cleanly(tmp_path, capsys):
    root = make_root(tmp_path, {"v0": SEEDS["v0"], "v1": SEEDS["v1"]})
    with LocalOpenAI() as server:
        server.script = [status(500)]
        report = run(server, root)
        assert report.failed == [] and report.calls["retries"] == 1
        assert len(rephrasings(root, "v1")) == 5

    root = make_root(tmp_path / "again", {"v0": SEEDS["v0"]})
    with LocalOpenAI() as server:
        server.script = [status(500)] * 3
        code, out, err = cli(["rephrase", str(root), "--model", "m", "--base-url", server.url,
                              "--max-retries", "2", "--backoff", "0.01", "--no-progress"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "1 seeds failed" in err and "HTTP 500" in err
    assert rephrasings(root, "v0") == {}


def test_malformed_json_is_retried_not_cached(tmp_path):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})
    with LocalOpenAI() as server:
        server.script = [content('{"rephrasings": ["only one", '), content('{"rephrasings": ["too", "few"]}')]
        report = run(server, root)
    assert report.calls["malformed"] == 2 and len(server.chat_bodies) == 3
    assert [e["exp"] for e in rephrasings(root, "v0").values()] == GOOD


def test_answer_naming_the_category_is_rejected_and_regenerated(tmp_path):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})
    bad = ["The dog that crosses first."] + GOOD[1:]
    with LocalOpenAI() as server:
        server.script = [content(json.dumps({"rephrasings": bad}))]
        run(server, root)
    assert len(server.chat_bodies) == 2
    retry = server.chat_bodies[1]["messages"][-1]["content"]
    assert "The dog that crosses first." in retry and "category" in retry
    got = [e["exp"] for e in rephrasings(root, "v0").values()]
    assert got == GOOD[1:] + [MORE[0]]
    assert all(names_category(t, category_terms("dog")) is None for t in got)
    assert rephrasings(root, "v0")["5"]["provenance"]["attempt"] == 1


def test_failures_left_for_review_after_bounded_attempts(tmp_path):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})
    dogs = json.dumps({"rephrasings": [f"The dog number {i} wins it all." for i in range(5)]})
    with LocalOpenAI() as server:
        server.script = [content(dogs)] * 2
        report = run(server, root, RephraseOptions(max_attempts=2, flush_s=0.0))
    got = rephrasings(root, "v0")
    assert len(server.chat_bodies) == 2 and report.needs_review == 5
    assert all(e["status"] == "needs_review" and e["problems"] for e in got.values())


def test_judge_rejects_and_rerun_is_free(tmp_path):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})

    def judge_rejects_first(body):
        judgements = [{"index": i, "same_target": i != 0, "implicit": True, "reason": "r"} for i in range(5)]
        return 200, completion(json.dumps({"judgements": judgements}))

    with LocalOpenAI() as server:
        server.script = [default_answer, judge_rejects_first]
        run(server, root, RephraseOptions(judge=True, flush_s=0.0))
        # generate, judge (rejects GOOD[0]), generate again, judge again
        assert len(server.chat_bodies) == 4
        assert server.chat_bodies[1]["temperature"] == 0.0
        got = rephrasings(root, "v0")
        assert [e["exp"] for e in got.values()] == GOOD[1:] + [MORE[0]]
        assert got["1"]["provenance"]["checks"]["judge"] is True and "judge" in got["1"]["provenance"]


def test_rerun_hits_the_cache_with_zero_requests(tmp_path):
    root = make_root(tmp_path)
    with LocalOpenAI() as server:
        run(server, root)
        first = (root / "test" / "meta_expressions.json").read_text()
        sent = len(server.chat_bodies)
        report = run(server, root)  # nothing left to do
        assert len(server.chat_bodies) == sent and report.already_done == 4
        # Even with the rephrasings removed, the cache answers everything: same data, no request.
        meta = json.loads(first)
        for video in meta["videos"].values():
            video["expressions"] = {"0": video["expressions"]["0"]}
        write_meta(meta, root / "test" / "meta_expressions.json")
        report = run(server, root)
        assert len(server.chat_bodies) == sent
        assert report.calls["requests"] == 0 and report.calls["cache_hits"] == 4
        assert (root / "test" / "meta_expressions.json").read_text() == first


def test_batch_api_fills_the_cache(tmp_path):
    root = make_root(tmp_path)
    with LocalOpenAI() as server:
        server.script = [content(json.dumps({"rephrasings": ["The dog wins the race."] + GOOD[1:]}))]
        report = run(server, root, RephraseOptions(batch=True, flush_s=0.0), batch_poll_s=0.01)
        assert report.calls["batches"] == 2  # one round, then the regeneration for v0
        assert not any(p.endswith("/chat/completions") for p in server.paths)
        assert any(re.search(r"/batches/batch-\d+$", p) for p in server.paths)  # it polled
        for name in SEEDS:
            assert len(rephrasings(root, name)) == 5
        # The direct mode reuses what the batches cached (same server, same key).
        sent = len(server.chat_bodies)
        meta = json.loads((root / "test" / "meta_expressions.json").read_text())
        for video in meta["videos"].values():
            video["expressions"] = {"0": video["expressions"]["0"]}
        write_meta(meta, root / "test" / "meta_expressions.json")
        run(server, root)
        assert len(server.chat_bodies) == sent


def test_refused_request_stops_with_one_line(tmp_path, capsys):
    root = make_root(tmp_path, {"v0": SEEDS["v0"]})
    with LocalOpenAI() as server:
        server.script = [status(401)]
        code, out, err = cli(["rephrase", str(root), "--model", "m", "--base-url", server.url,
                              "--no-progress"], capsys)
    assert code == 2 and "refused" in err and "HTTP 401" in err and "Traceback" not in err
    code, out, err = cli(["rephrase", str(root), "--model", "m"], capsys, env={"OPENAI_API_KEY": ""})
    assert code == 2 and "OPENAI_API_KEY" in err


def test_killed_run_resumes_without_repeating_finished_calls(tmp_path):
    root = make_root(tmp_path)
    env = dict(os.environ, OPENAI_API_KEY="test-key")
    argv = [sys.executable, "-m", "instrack.cli.main", "rephrase", str(root), "--model", "local-model",
            "--concurrency", "1", "--no-progress"]
    with LocalOpenAI() as server:
        server.block_at = 3  # the third call hangs; the first two are answered and cached
        proc = subprocess.Popen(argv + ["--base-url", server.url], env=env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert server.blocked.wait(60), "the run never reached its third call"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        first_run = [json.dumps(b, sort_keys=True) for b in server.chat_bodies]
        server.block_at = None
        server.release.set()
        assert len(first_run) == 3

        # The same server (the cache key includes its URL), a fresh process.
        proc = subprocess.run(argv + ["--base-url", server.url], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        second_run = [json.dumps(b, sort_keys=True) for b in server.chat_bodies[3:]]
    # Calls 1 and 2 finished before the kill: not sent again. Call 3 never finished: sent again.
    assert set(second_run).isdisjoint(first_run[:2])
    assert second_run[0] == first_run[2] and len(second_run) == 2
    assert all(len(rephrasings(root, v)) == 5 for v in SEEDS)
    assert "4 seeds to rephrase" in proc.stdout


def test_instructions_report_counts_and_picture(tmp_path, capsys):
    videos = dict(SEEDS, v4=("The brown dog near the gate", "dog"))  # a seed naming its category
    root = make_root(tmp_path, videos)
    with LocalOpenAI() as server:
        run(server, root)
    code, out, err = cli(["instructions", "report", str(root), "--out", str(tmp_path / "rep")], capsys)
    assert code == 0, err
    assert "seeds 5, rephrasings 25" in out and "5 with 5 rephrasings" in out
    assert "seeds 1/5 (20.0%)" in out and "rephrasings 0/25 (0.0%)" in out
    data = json.loads((tmp_path / "rep" / "instructions_report.json").read_text())
    assert data["rephrase_words"]["n"] == 25 and data["flagged"][0]["video"] == "v4"
    assert (tmp_path / "rep" / "instructions_lengths.png").read_bytes()[:4] == b"\x89PNG"


def test_concurrent_writer_is_refused_not_overwritten(tmp_path):
    """Two commands editing one split: the later save is refused instead of
    silently dropping the other's work (export and rephrase at once)."""
    import json as _json

    from instrack.errors import DataError
    from instrack.tracking.synthetic import write_synthetic_split
    from instrack_annotation.meta import MetaFile

    root = tmp_path / "root"
    write_synthetic_split(root, "test", videos=1, frames=2)
    first, second = MetaFile(root, "test"), MetaFile(root, "test")
    video = next(iter(first.videos))
    first.videos[video]["note"] = "from the first command"
    first.save()
    second.videos[video]["note"] = "from the second command"
    with pytest.raises(DataError, match="changed by another command"):
        second.save()
    on_disk = _json.loads((root / "test" / "meta_expressions.json").read_text())
    assert on_disk["videos"][video]["note"] == "from the first command"
    first.videos[video]["note"] = "the first command again"
    first.save()  # its own earlier write does not count as someone else's


# -- issue 15: what a first run on real data meets -------------------------------------


def test_cut_off_body_fails_that_seed_only_and_finished_seeds_are_saved(tmp_path, capsys):
    """A server that cuts one answer's HTTP body short: that seed is reported as
    failed, one line, no traceback; every other seed is written."""
    root = make_root(tmp_path)
    with LocalOpenAI() as server:
        cut = lambda body: (200, json.dumps(completion(json.dumps({"rephrasings": GOOD})))[:70])  # noqa: E731
        server.script = [cut] * 3  # the first seed's request, and both retries of it
        code, out, err = cli(["rephrase", str(root), "--model", "m", "--base-url", server.url, "--max-retries", "0",
                              "--concurrency", "1", "--backoff", "0.01", "--no-progress"], capsys)
    assert code == 2, err
    assert "Traceback" not in err and "JSONDecodeError" not in err and err.count("\n") == 1
    assert "1 seeds failed (first: v0:" in err and "not valid JSON" in err
    assert rephrasings(root, "v0") == {}
    assert all(len(rephrasings(root, v)) == 5 for v in ("v1", "v2", "v3"))


def test_existing_rephrasings_without_a_seed_link_are_not_doubled(tmp_path, capsys):
    """The bundled sample's layout: rephrasings with kind 'rephrase' and no 'seed'."""
    import shutil

    from instrack.dataset.sample import sample_root

    root = shutil.copytree(sample_root(), tmp_path / "sample")
    before = json.loads((root / "test" / "meta_expressions.json").read_text())
    with LocalOpenAI() as server:
        code, out, err = cli(["rephrase", str(root), "--model", "m", "--base-url", server.url, "--no-progress"],
                             capsys)
        assert code == 0, err
        assert server.chat_bodies == []  # nothing asked, nothing added
        assert "5 videos already have their rephrasings" in out and "--replace" in out
        assert json.loads((root / "test" / "meta_expressions.json").read_text()) == before
        assert cli_main(["check-data", str(root)]) == 0

        # told to replace them: the five are regenerated, linked to their seed, never six or ten
        code, out, err = cli(["rephrase", str(root), "--model", "m", "--base-url", server.url, "--no-progress",
                              "--replace"], capsys)
        assert code == 0, err
    video = next(iter(before["videos"]))
    got = rephrasings(root, video)
    assert len(got) == 5 and {e["seed"] for e in got.values()} == {"0"}
    assert [e["exp"] for e in got.values()] == GOOD
    code, out, err = cli(["instructions", "report", str(root), "--out", str(tmp_path / "rep")], capsys)
    assert code == 0, err
    assert "seeds 5, rephrasings 25" in out and "5 with 5 rephrasings" in out


def test_instructions_report_counts_unlinked_rephrasings(tmp_path, capsys):
    import shutil

    from instrack.dataset.sample import sample_root

    root = shutil.copytree(sample_root(), tmp_path / "sample")
    code, out, err = cli(["instructions", "report", str(root), "--out", str(tmp_path / "rep")], capsys)
    assert code == 0, err
    assert "seeds 5, rephrasings 25" in out and "5 with 5 rephrasings" in out
    # a doubled split (what an older rephrase did to the sample) is counted as such
    meta_path = root / "test" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    video = next(iter(meta["videos"].values()))
    extra = {str(100 + k): dict(e) for k, e in enumerate(v for v in video["expressions"].values()
                                                         if v["kind"] == "rephrase")}
    video["expressions"].update(extra)
    meta_path.write_text(json.dumps(meta))
    code, out, err = cli(["instructions", "report", str(root), "--out", str(tmp_path / "rep2")], capsys)
    assert "rephrasings 30" in out and "4 with 5 rephrasings, 1 with more than 5" in out
    assert "10 rephrasings (more than 5)" in out


def test_each_content_word_of_a_multi_word_category_is_refused():
    terms = category_terms("fiskars scissors")
    assert names_category("Hand me the scissors on the desk", terms) == "scissors"
    assert names_category("Which Fiskars is the sharpest?", terms) == "fiskars"
    assert names_category("Which tool cuts paper best?", terms) is None
    # synonyms of each word count too, and words like 'of' are not content words
    terms = category_terms("bottle of water")
    assert "of" not in terms and names_category("Which of them would you drink?", terms) is None
    assert names_category("What is the most refreshing thing here?", terms) is None
    assert names_category("Pick the bottle up", terms) == "bottle"
    verdicts = check_candidates("Which tool would a tailor reach for?", ["Follow the scissors as they move"],
                                kept=[], terms=category_terms("fiskars scissors"), config=CheckConfig())
    assert verdicts[0].passed["category"] is False
