"""The results store: migrations, entries from the evaluator's real JSON,
sorting, hiding, tokens, and `instrack leaderboard add/show` with bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from helpers import need_extra  # noqa: E402

need_extra("leaderboard", "sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2")

import sqlalchemy as sa

from instrack.cli.main import main
from instrack.evaluation import evaluate
from instrack.dataset.sample import example_submission, sample_root
from instrack_leaderboard import migrations, schema
from instrack_leaderboard.queue import Queue
from instrack_leaderboard.results import ResultError, load_result, parse_result
from instrack_leaderboard.store import Store


@pytest.fixture(scope="module")
def postgres():
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The same store tests on the embedded SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "lb.sqlite")
    return request.getfixturevalue("postgres").fresh_database()


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory) -> dict:
    """A result on an InsTrack-layout root that is not the bundled sample (whose results
    go to their own board: test_sample_provenance)."""
    from helpers import not_the_sample

    return evaluate(not_the_sample(tmp_path_factory.mktemp("gt")), example_submission(), workers=1)


@pytest.fixture
def result_file(tmp_path, sample_result):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(sample_result))
    return path


def test_schema_fingerprint_matches_the_migrations():
    assert migrations.fingerprint() == migrations.SCHEMA_FINGERPRINT, (
        "schema.py changed: add a migration step that brings existing databases there, "
        "then update migrations.SCHEMA_FINGERPRINT")


def test_fresh_database_has_exactly_the_schema_and_the_seed(store_url):
    store = Store(store_url)
    inspector = sa.inspect(store.engine)
    for table in schema.metadata.tables.values():
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys())
    with store.engine.connect() as c:
        assert migrations.current_version(c) == migrations.LATEST
    assert len(store.entries(None, origins=["reported"])) == 42


def test_old_database_is_upgraded_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    migrations.migrate(engine, target=1)  # as a version-1 install left it: no seed yet
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.entries)).scalar() == 0
    engine.dispose()
    assert len(Store(url).entries(None)) == 42
    assert len(Store(url).entries(None)) == 42  # opening again migrates nothing


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    store = Store(path)
    with store.engine.begin() as c:
        c.execute(sa.insert(migrations.version_table), {"version": 99, "applied_at": datetime.now(timezone.utc),
                                                        "description": "from the future"})
    with pytest.raises(Exception, match="newer than this"):
        Store(path)


def test_add_a_real_result_with_its_units(store_url, sample_result):
    store = Store(store_url)
    result = parse_result(sample_result)
    entry_id = store.add_result(result, method="Example", variant="v1", origin="reproduced",
                                paper="Someone et al.", link="https://example.org")
    e = store.entry(entry_id)
    assert e["benchmark"] == "instrack" and e["display_name"] == "Example (v1)"
    assert e["jf_mean"] == pytest.approx(sample_result["metrics"]["J&F-Mean"])
    assert e["j_decay"] == pytest.approx(sample_result["metrics"]["J-Decay"])
    assert e["submission_sha256"] == sample_result["submission_sha256"]
    assert e["evaluator_version"] == sample_result["evaluator_version"]
    assert e["dataset_revision"] == sample_result["dataset"]["meta_sha256"]
    assert e["breakdowns"]["per_video"].keys() == sample_result["breakdowns"]["per_video"].keys()
    units = store.units(entry_id)
    assert len(units) == len(sample_result["units"]) == 30
    first = next(u for u in units if u["video"] == sample_result["units"][0]["video"]
                 and u["exp_id"] == sample_result["units"][0]["exp_id"])
    assert first["j_mean"] == pytest.approx(sample_result["units"][0]["J-Mean"])
    assert first["kind"] == sample_result["units"][0]["kind"]
    # the sample scores above every reported InsTrack entry; it sorts first
    board = store.entries("instrack")
    assert board[0]["id"] == entry_id and len(board) == 11
    assert [e["origin"] for e in store.entries("instrack", origins=["reproduced"])] == ["reproduced"]
    # lower-is-better columns sort ascending by default, NULLs last either way
    decay = store.entries("instrack", sort="j_decay")
    assert decay[0]["id"] == entry_id and decay[-1]["j_decay"] is None


def test_hide_and_tokens(store_url):
    store = Store(store_url)
    first = store.entries("instrack")[0]
    store.set_hidden(first["id"])
    assert first["id"] not in [e["id"] for e in store.entries("instrack")]
    assert first["id"] in [e["id"] for e in store.entries("instrack", include_hidden=True)]
    store.set_hidden(first["id"], False)
    assert store.entries("instrack")[0]["id"] == first["id"]
    token = store.add_submitter("alice")
    assert store.submitter_for_token(token).name == "alice"
    assert store.submitter_for_token(token + "x") is None and store.submitter_for_token("") is None
    with store.engine.connect() as c:  # only the hash is kept
        assert token not in json.dumps([list(r) for r in c.execute(sa.select(schema.submitters))], default=str)
    with pytest.raises(Exception, match="already exists"):
        store.add_submitter("alice")


def test_queue_claim_is_exclusive_and_reaper_requeues(store_url):
    store = Store(store_url)
    queue = Queue(store)
    sid = store.add_submitter("bob")
    bob = store.submitter_for_token(sid)
    ids = [queue.enqueue(submitter_id=bob.id, method="m", variant="", paper="", link="", benchmark="instrack",
                         split="test", protocol="instrack", filename="x.zip", stored_path="/nonexistent",
                         size_bytes=1, sha256="0" * 64) for _ in range(2)]
    a = queue.claim("w1", lease_s=60)
    b = queue.claim("w2", lease_s=-1)  # a lease already over: its worker "died"
    assert {a["id"], b["id"]} == set(ids) and queue.claim("w3", 60) is None
    assert queue.reap(max_attempts=3) == [b["id"]]
    assert queue.get(b["id"])["status"] == "queued" and "retrying" in queue.get(b["id"])["message"]
    again = queue.claim("w4", lease_s=-1)
    assert again["id"] == b["id"] and again["attempts"] == 2
    assert queue.reap(max_attempts=2) == [b["id"]]
    failed = queue.get(b["id"])
    assert failed["status"] == "failed" and "crashed 2 time(s)" in failed["message"]
    assert queue.count_since(bob.id, failed["created_at"] - timedelta(seconds=5)) == 2


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("metrics"), "missing field 'metrics'"),
    (lambda d: d["metrics"].pop("J-Recall"), "metrics.J-Recall is missing"),
    (lambda d: d["metrics"].__setitem__("J-Mean", "high"), "metrics.J-Mean: expected a finite number"),
    (lambda d: d["units"][3].pop("F-Mean"), "units[3].F-Mean is missing"),
    (lambda d: d.__setitem__("units", {}), "'units' must be a list"),
])
def test_bad_result_json_names_the_field(tmp_path, sample_result, mutate, message):
    data = json.loads(json.dumps(sample_result))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        load_result(path)
    assert str(path) in str(err.value)


def test_cli_add_show_and_errors(tmp_path, result_file, capsys):
    db = tmp_path / "cli.sqlite"
    assert main(["leaderboard", "add", str(result_file), "--method", "Example", "--db", str(db)]) == 0
    assert "added entry 43: Example (reproduced)" in capsys.readouterr().out
    assert main(["leaderboard", "show", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "TrackGPT-13B (IT)" in out and "83.6" in out
    # with no database configured, show reads the embedded store
    assert main(["leaderboard", "show", "--benchmark", "refer-davis17"]) == 0
    assert "66.5" in capsys.readouterr().out

    cases = [
        (["leaderboard", "add", str(result_file), "--method", "X"], "changes the store: pass --db"),
        (["leaderboard", "add", str(tmp_path / "missing.json"), "--method", "X", "--db", str(db)], "no such file"),
        (["leaderboard", "hide", "999", "--db", str(db)], "entry 999: no such entry"),
        (["leaderboard", "render", "--table", "nope"], "unknown table or benchmark"),
        (["leaderboard", "add", str(result_file), "--method", "X", "--db", str(tmp_path / "no" / "x.sqlite")],
         "does not exist"),
    ]
    (tmp_path / "broken.json").write_text("{not json")
    cases.append((["leaderboard", "add", str(tmp_path / "broken.json"), "--method", "X", "--db", str(db)],
                  "not valid JSON (line 1"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1, err
