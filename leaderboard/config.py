"""Settings of the web server and the worker: one frozen dataclass, filled by
the CLI (flags > defaults) and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class ServerSettings:
    db: str  #: SQLAlchemy URL or SQLite path
    data_dir: Path  #: uploads live under data_dir/uploads
    gt_root: Path  #: ground truth the submissions are scored against
    split: str = "test"
    protocol: str = "instrack"
    benchmark: str = "instrack"
    #: largest accepted upload; bigger requests are refused before they are read
    max_upload_bytes: int = 256 << 20
    #: accepted uploads per submitter per hour, counted in the database
    submissions_per_hour: int = 30
    #: queued + running submissions beyond which uploads wait (HTTP 503)
    max_pending: int = 500
    #: POST requests per client address per minute (bounds token guessing)
    posts_per_minute: int = 60
    #: addresses of reverse proxies whose X-Forwarded-For / -Proto are believed
    #: (comma-separated, "*" for any); None: the headers are ignored and the
    #: client is the TCP peer, so no one can pick their own address
    trusted_proxies: str | None = None
    #: a connection must send a complete request head within this many seconds
    header_timeout_s: float = 10.0
    #: a worker renews its lease this often x3; a silent worker loses its job after it
    lease_s: float = 30.0
    #: crashes of one submission before it is marked failed
    max_attempts: int = 3
    eval_timeout_s: float = 3600.0
    #: evaluations at once in one worker process
    jobs: int = 1
    #: Dask scheduler address; None: local processes
    scheduler: str | None = None
    poll_s: float = 1.0

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    def to_args(self) -> list[str]:
        """The same settings as `instrack serve --worker-only` flags, but the
        database: a URL may hold a password, and a command line is public (ps);
        the worker gets it in its environment (worker_env)."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name == "db":
                continue
            flag = "gt" if f.name == "gt_root" else f.name.replace("_", "-")
            out += [f"--{flag}", str(value)]
        return out
