"""Small file helpers: atomic writes and hashing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename, so a reader
    (or a crash) never sees a half-written file."""
    path = Path(path)
    if path.exists() and not path.is_file():
        # a device or pipe (/dev/stdout, a FIFO): renaming over it would replace it
        with open(path, "wb") as handle:
            handle.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file owner-only; give it the mode a plain open() would
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file that a user or an archive supplied: any way it fails to parse
    (bad bytes, bad syntax, nesting deep enough to exhaust the parser's recursion,
    an integer of thousands of digits) is a DataError naming the file."""
    from instrack.errors import DataError

    try:
        with open(path, "rb") as handle:
            return json.load(handle)
    except (UnicodeDecodeError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        raise DataError(f"{path}: not valid JSON ({' '.join(str(err).split())[:200]})") from None
    except RecursionError:
        raise DataError(f"{path}: not valid JSON (nested too deeply)") from None
