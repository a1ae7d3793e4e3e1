"""`instrack serve`: the web server, with the worker as a supervised child
process (restarted if it dies), or either one alone."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from instrack_leaderboard.config import ServerSettings
from instrack_leaderboard.db import ENV_DB
from instrack_leaderboard.store import Store
from instrack_leaderboard.worker import PARENT_ENV

log = logging.getLogger("instrack.leaderboard.server")


def worker_command(settings: ServerSettings) -> list[str]:
    return [sys.executable, "-m", "instrack.cli.main", "serve", "--worker-only", *settings.to_args()]


class WorkerSupervisor:
    """Keeps one worker process running beside the web server."""

    def __init__(self, settings: ServerSettings):
        self.command = worker_command(settings)
        self.db = settings.db
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            started = time.monotonic()
            # the worker stops by itself if this process dies without stopping it
            env = {**os.environ, PARENT_ENV: str(os.getpid()), ENV_DB: self.db}
            self.proc = subprocess.Popen(self.command, env=env)
            code = self.proc.wait()
            if self._stop.is_set():
                return
            # a worker that keeps dying at once should not spin the CPU
            backoff = 1.0 if time.monotonic() - started > 30 else min(backoff * 2, 30.0)
            print(f"instrack serve: worker exited with {code}; restarting in {backoff:.0f} s", file=sys.stderr)
            self._stop.wait(backoff)

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def ensure_admin(store: Store, admin_token: str | None) -> str | None:
    """The first start creates the admin submitter; returns its new token (shown
    once: the database keeps only its hash), or None if one already exists."""
    if store.submitter("admin") is not None:
        return None
    return store.add_submitter("admin", is_admin=True, token=admin_token)


def serve(settings: ServerSettings, host: str, port: int, with_worker: bool = True,
          admin_token: str | None = None) -> int:
    import uvicorn

    from instrack_leaderboard.web.app import create_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db)  # migrates once, before the worker opens the database
    token = ensure_admin(store, admin_token)
    if token:
        print(f"admin token (shown once; it also submits): {token}", file=sys.stderr)
    app = create_app(settings, store)
    supervisor = WorkerSupervisor(settings) if with_worker else None
    if supervisor:
        supervisor.start()
    print(f"InsTrack leaderboard on http://{host}:{port}/  database {store.display_url}  "
          f"ground truth {settings.gt_root} ({settings.split})", file=sys.stderr)
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default
    # handler that would end the process before the worker is stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from instrack_leaderboard.web.protocol import protocol_with_header_timeout

    try:
        # X-Forwarded-For is believed only from the proxies named in the
        # settings (uvicorn's own default trusts any loopback peer, so anyone
        # on the machine could pick the address the per-client limit counts)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=5,
                    proxy_headers=bool(settings.trusted_proxies),
                    forwarded_allow_ips=settings.trusted_proxies or "",
                    http=protocol_with_header_timeout(settings.header_timeout_s))
    finally:
        if supervisor:
            supervisor.stop()
    return 0
