"""The checksum file of a dataset root: one SHA-256 per file.

`ROOT/SHA256SUMS` is in the format of coreutils' `sha256sum` ("HEX  PATH", paths
relative to ROOT, sorted), so `cd ROOT && sha256sum -c SHA256SUMS` verifies a
copy without installing anything. curate and import-hf write it; check-data
reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from instrack.errors import DataError
from instrack.fileio import atomic_write_text, sha256_file

CHECKSUMS = "SHA256SUMS"


def dataset_files(root: Path) -> list[str]:
    """Every file under root that the checksums cover, as sorted posix paths.

    Hidden files (temporary files of an interrupted atomic write, .DS_Store)
    are not part of the dataset."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or (folder == str(root) and name == CHECKSUMS):
                continue
            out.append(Path(folder, name).relative_to(root).as_posix())
    return sorted(out)


def compute(root: str | os.PathLike, files: Iterable[str] | None = None, progress: bool = False) -> dict[str, str]:
    root = Path(root)
    names = list(files) if files is not None else dataset_files(root)
    if progress:
        from tqdm import tqdm

        names = tqdm(names, desc="checksums", unit="file", leave=False)
    return {name: sha256_file(root / name) for name in names}


def format_checksums(sums: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))


def write_checksums(root: str | os.PathLike, sums: dict[str, str] | None = None, progress: bool = False) -> Path:
    """Write ROOT/SHA256SUMS for every file under ROOT (or for `sums` as given)."""
    root = Path(root)
    if sums is None:
        sums = compute(root, progress=progress)
    path = root / CHECKSUMS
    atomic_write_text(path, format_checksums(sums))
    return path


def read_checksums(root: str | os.PathLike) -> dict[str, str]:
    """Parse ROOT/SHA256SUMS; a malformed line is a DataError naming it."""
    path = Path(root) / CHECKSUMS
    if not path.is_file():
        raise DataError(f"{path}: missing (curate writes it; `instrack check-data --write-checksums` makes one)")
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        name = name.lstrip("*")  # sha256sum's binary-mode marker
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise DataError(f"{path}:{number}: expected 'SHA256  PATH', got {line[:80]!r}")
        if name.startswith("/") or ".." in Path(name).parts:
            raise DataError(f"{path}:{number}: path {name!r} leaves the dataset folder")
        sums[name] = digest
    return sums
