"""A Label Studio server of our own: loopback, its own data folder, user and
API token, started without any interactive step.

The server runs from its own virtual environment (it pins openai<2, which the
project's rephrasing client cannot share); we only start the executable and
talk HTTP to it. Credentials are generated on the first start and kept in
DATA_DIR/instrack-server.json (mode 0600) so later commands and restarts reuse
them: Label Studio creates the user and token from the environment only once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from instrack.errors import InsTrackError, UsageError
from instrack.fileio import atomic_write_json

CREDENTIALS = "instrack-server.json"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServerError(InsTrackError):
    """The Label Studio server could not be started or reached."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    token: str  # 40 hex characters: Label Studio's legacy API token format

    @classmethod
    def generate(cls, username: str = "admin@instrack.local") -> "Credentials":
        return cls(username=username, password=secrets.token_urlsafe(18), token=secrets.token_hex(20))


def load_credentials(data_dir: Path) -> Credentials | None:
    path = data_dir / CREDENTIALS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Credentials(username=data["username"], password=data["password"], token=data["token"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise UsageError(f"{path}: unreadable server credentials ({err}); delete the data folder to start afresh") from err


def read_connection(data_dir: str | Path) -> tuple[str, str, Path]:
    """(url, token, files root) of a server started by `instrack annotate serve --data-dir DIR`."""
    path = Path(data_dir) / CREDENTIALS
    try:
        data = json.loads(path.read_text())
        return data["url"], data["token"], Path(data["files_root"])
    except FileNotFoundError as err:
        raise UsageError(f"{path}: missing; start the server with `instrack annotate serve --data-dir {data_dir}`") from err
    except (json.JSONDecodeError, KeyError) as err:
        raise UsageError(f"{path}: unreadable ({err})") from err


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_executable(repo: Path | None = None) -> Path:
    """$INSTRACK_LABEL_STUDIO_BIN, else .ls-venv/bin/label-studio of the checkout."""
    env = os.environ.get("INSTRACK_LABEL_STUDIO_BIN")
    if env:
        return Path(env)
    repo = repo or Path(__file__).resolve().parents[1]
    return repo / ".ls-venv" / "bin" / "label-studio"


class LabelStudioServer:
    """Start, health-check and stop one `label-studio` process.

    files_root is the one folder whose files the server may serve to annotators
    (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT): the dataset root, where task media
    are rendered."""

    def __init__(self, executable: str | Path, data_dir: str | Path, files_root: str | Path,
                 host: str = "127.0.0.1", port: int = 0):
        self.executable = Path(executable)
        self.data_dir = Path(data_dir).resolve()
        self.files_root = Path(files_root).resolve()
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None
        self.credentials: Credentials | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout_s: float = 240.0) -> "LabelStudioServer":
        if not self.executable.is_file():
            raise ServerError(
                f"{self.executable}: no label-studio executable; install it with scripts/ci_label_studio.sh "
                "or point INSTRACK_LABEL_STUDIO_BIN at one"
            )
        if not self.files_root.is_dir():
            raise UsageError(f"{self.files_root}: the folder to serve media from does not exist")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = load_credentials(self.data_dir) or Credentials.generate()
        env = dict(
            os.environ,
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir),
            LABEL_STUDIO_USERNAME=self.credentials.username,
            LABEL_STUDIO_PASSWORD=self.credentials.password,
            LABEL_STUDIO_USER_TOKEN=self.credentials.token,
            # 1.23 refuses legacy tokens by default; ours is one (see ENVIRONMENT.md).
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
            LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(self.files_root),
            LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        )
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(self.executable), "start", "--host", self.host, "--port", str(self.port), "--no-browser"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # our own process group: stop() ends its children too
        )
        log.close()
        atomic_write_json(self.data_dir / CREDENTIALS,
                          {"url": self.url, "files_root": str(self.files_root), **asdict(self.credentials)})
        os.chmod(self.data_dir / CREDENTIALS, 0o600)
        self._wait_healthy(timeout_s)
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"label-studio exited with status {self.process.returncode}; see {self.log_path}: {self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"label-studio did not answer on {self.url}/health within {timeout_s:.0f} s; see {self.log_path}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)

    def __enter__(self) -> "LabelStudioServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
