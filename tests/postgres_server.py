"""A throwaway PostgreSQL server on loopback for the store tests.

Uses the machine's own PostgreSQL binaries (Debian's `postgresql` package):
initdb into a temporary folder, pg_ctl start on a free port, one fresh database
per test. initdb refuses to run as root, so as root the server runs as the
`postgres` user that the Debian package creates."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from helpers import need
from instrack_leaderboard.testing import free_port


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    def __init__(self):
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        need(bool(self.initdb and self.pg_ctl), "no PostgreSQL server binaries (Debian package 'postgresql')")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            need(False, "the Python driver 'psycopg' is not installed")
        # not under pytest's tmp_path: that is root-only (0700) and the server may run as `postgres`
        self.base = Path(tempfile.mkdtemp(prefix="instrack-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True)

    def start(self) -> "PostgresServer":
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "server.log"), "-w", "-o", options, "start")
        return self

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def fresh_database(self) -> str:
        import sqlalchemy as sa

        name = "t" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"{self.url}/{name}"


def postgres_fixture():
    """A module-scoped pytest fixture body: `postgres = pytest.fixture(scope="module")(postgres_fixture)`."""
    server = PostgresServer().start()
    yield server
    server.stop()
