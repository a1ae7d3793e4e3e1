"""Real processes on loopback for the tests and the load benchmark: a free
port, `instrack serve` (web, worker, or both) as a child process, and the
sample submission as a zip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return out


class ServeProcess:
    """`instrack serve ARGS` in a child process; logs go to a file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.args = args
        self.log_path = log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ServeProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "instrack.cli.main", "serve", *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        return self

    def wait_http(self, base_url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"instrack serve exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{base_url} did not answer in {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


def wait_status(base_url: str, sub_id: int, final: tuple[str, ...] = ("done", "rejected", "failed"),
                timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        sub = httpx.get(f"{base_url}/api/submissions/{sub_id}", timeout=5).json()
        if sub["status"] in final:
            return sub
        if time.monotonic() > deadline:
            raise TimeoutError(f"submission {sub_id} still {sub['status']} after {timeout} s")
        time.sleep(0.2)


def crash_job(gt: str, split: str, protocol: str, path: str) -> dict:
    """A scoring job whose process dies at once, as an out-of-memory kill would."""
    os._exit(137)


def raising_job(gt: str, split: str, protocol: str, path: str) -> dict:
    """A scoring job that hits a bug deep down, as a reader breaking on hostile input would."""
    def decode(counts: str) -> None:
        raise ValueError(f"Invalid RLE mask representation\n(counts {counts!r})")

    decode(":PRW1:m\\mooooO")
    return {}


def sleeping_job(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"
