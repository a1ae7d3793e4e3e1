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


def test_fresh_database_matches_the_schema_exactly_and_holds_the_seed(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(store_url)
    with store.engine.connect() as c:
        assert migrations.current_revision(c) == migrations.head()
        # Alembic's own comparison: tables, columns, types, nullability, indexes, constraints
        assert compare_metadata(MigrationContext.configure(c), schema.metadata) == []
    assert len(store.entries(None, origins=["reported"])) == 42


def _all_rows(url: str) -> dict[str, list[dict]]:
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as c:
        for table in schema.metadata.sorted_tables:
            rows = c.execute(sa.select(table).order_by(table.c.id)).mappings()
            out[table.name] = [{k: (v.replace(tzinfo=None) if isinstance(v, datetime) else v)
                                for k, v in row.items()} for row in rows]
    engine.dispose()
    return out


def test_release_database_is_upgraded_with_every_row_kept(store_url):
    from leaderboard_release_0_1 import TRACEBACK, make_release_database

    url = store_url if "://" in store_url else f"sqlite:///{store_url}"
    make_release_database(url)
    before = _all_rows(url)
    assert {k: len(v) for k, v in before.items()} == {"entries": 43, "submitters": 2, "submissions": 5,
                                                       "unit_results": 6}
    store = Store(url)  # upgrades
    with store.engine.connect() as c:
        assert migrations.current_revision(c) == migrations.head()
        assert c.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() == 2  # left as it was
    after = _all_rows(url)
    # every row and value is kept, but a stored traceback, which becomes its last line
    failed = next(i for i, r in enumerate(before["submissions"]) if r["status"] == "failed")
    assert before["submissions"][failed]["message"] == TRACEBACK
    assert after["submissions"][failed]["message"] == "ValueError: Invalid RLE mask representation"
    after["submissions"][failed]["message"] = TRACEBACK
    assert after == before
    # and it works as a store: the seed is not added twice, new rows go in
    assert len(store.entries(None, origins=["reported"])) == 42
    assert store.submitter_for_token(store.add_submitter("carol")).name == "carol"
    assert len(Store(url).entries(None)) == 43  # opening again migrates nothing


def test_release_database_before_its_seed_is_seeded(tmp_path):
    from leaderboard_release_0_1 import make_release_database

    url = f"sqlite:///{tmp_path / 'v1.sqlite'}"
    make_release_database(url, seeded=False)  # as a version-1 install left it: no seed yet
    assert len(Store(url).entries(None)) == 42
    assert len(Store(url).entries(None)) == 42


def test_newer_database_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite"
    store = Store(path)
    with store.engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(Exception, match="newer than this instrack_leaderboard"):
        Store(path)
    with store.engine.connect() as c:
        assert migrations.current_revision(c) == "9999_from_the_future"
    legacy = tmp_path / "legacy.sqlite"
    from leaderboard_release_0_1 import make_release_database, version_table

    make_release_database(f"sqlite:///{legacy}")
    engine = sa.create_engine(f"sqlite:///{legacy}")
    with engine.begin() as c:
        c.execute(sa.insert(version_table), {"version": 3, "applied_at": datetime.now(timezone.utc),
                                             "description": "a step of a release we do not know"})
    engine.dispose()
    with pytest.raises(Exception, match="schema version 3, newer than"):
        Store(legacy)


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


def test_concurrent_claims_take_each_row_once(store_url):
    # eight workers' claim loops at once on one queue: every row is claimed exactly once
    import threading

    store = Store(store_url)
    queue = Queue(store)
    who = store.submitter_for_token(store.add_submitter("racer"))
    ids = {queue.enqueue(submitter_id=who.id, method="m", variant="", paper="", link="", benchmark="instrack",
                         split="test", protocol="instrack", filename="x.zip", stored_path="/nonexistent",
                         size_bytes=1, sha256="0" * 64) for _ in range(40)}
    claimed: list[int] = []
    start = threading.Barrier(8)

    def worker(name: str) -> None:
        start.wait()
        while (sub := queue.claim(name, lease_s=60)) is not None:
            claimed.append(sub["id"])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(ids)
    assert {queue.get(i)["attempts"] for i in ids} == {1}


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
        (["leaderboard", "add", str(result_file), "--method", "X", "--link", "javascript:alert(1)", "--db", str(db)],
         "expected an http:// or https:// URL"),
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


@pytest.mark.parametrize("protocol", ["mevis", "revos", "revos-fixed"])
def test_results_of_protocols_the_board_does_not_rank_are_refused_in_one_line(protocol):
    result = {"protocol": protocol, "metrics": {"J&F-Mean": 0.5, "J-Mean": 0.5, "F-Mean": 0.5}, "units": [],
              "evaluator_version": "0.1.0", "dataset": {}, "submission_sha256": "0" * 64}
    with pytest.raises(ResultError, match=f"protocol '{protocol}' results are not stored on the leaderboard"):
        parse_result(result, "out.json")
