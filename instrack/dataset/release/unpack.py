"""Unpacking a release archive into a private folder, refusing hostile input.

Zips are judged by the same rules as submissions
(instrack.archives, shared with submissions: zip slip, symbolic links, encryption,
absurd sizes and compression ratios); tars by the equivalent rules (links,
devices, paths leaving the tree, sizes). Declared sizes can lie, so every
member is copied with a cap, and the bytes written in total are capped too.
Every refused member is named; nothing is written unless all pass.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from instrack.errors import DataError
from instrack.archives import (
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    archive_problems,
    path_problem,
)

CHUNK = 1 << 20


class ArchiveRefused(DataError):
    """An archive with one or more unsafe members; all are listed."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} unsafe member(s); nothing was unpacked")


def archive_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err})") from err
    raise DataError(f"{path}: not a folder, a zip or a tar archive")


def tar_problems(archive: tarfile.TarFile, where: Path) -> list[str]:
    members = archive.getmembers()
    if len(members) > MAX_MEMBERS:
        return [f"{where}: {len(members)} members (limit {MAX_MEMBERS})"]
    problems, total = [], 0
    for member in members:
        reason = path_problem(member.name, "the archive's tree")
        if reason is None:
            if member.issym() or member.islnk():
                reason = f"link to {member.linkname!r}"
            elif not (member.isfile() or member.isdir()):
                reason = "device, pipe or other special file"
            elif member.size > MAX_MEMBER_BYTES:
                reason = f"declares {member.size} bytes (limit {MAX_MEMBER_BYTES})"
        if reason:
            problems.append(f"{where}:{member.name}: {reason}")
        total += max(member.size, 0)
    if total > MAX_TOTAL_BYTES:
        problems.append(f"{where}: declares {total} bytes in all (limit {MAX_TOTAL_BYTES})")
    return problems


def folder_problems(root: Path) -> list[str]:
    """A folder given as the release: symbolic links could point anywhere."""
    problems = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            if path.is_symlink():
                problems.append(f"{path}: symbolic link (to {os.readlink(path)!r}); copy the real files in")
    return problems


def _copy_capped(source, target: Path, declared: int, budget: list[int], where: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            written += len(chunk)
            budget[0] -= len(chunk)
            if written > declared or written > MAX_MEMBER_BYTES:
                raise ArchiveRefused(Path(where), [f"{where}: larger than its declared {declared} bytes"])
            if budget[0] < 0:
                raise ArchiveRefused(Path(where), [f"{where}: the archive unpacks to more than {MAX_TOTAL_BYTES} bytes"])
            out.write(chunk)


def unpack(path: str | os.PathLike, into: Path) -> Path:
    """The release's tree: `path` itself for a folder, else `into` after a safe
    unpack. Raises ArchiveRefused listing every unsafe member."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: does not exist")
    kind = archive_kind(path)
    if kind == "folder":
        problems = folder_problems(path)
        if problems:
            raise ArchiveRefused(path, problems)
        return path
    budget = [MAX_TOTAL_BYTES]
    into.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                problems = [str(p) for p in archive_problems(archive, str(path))]
                if problems:
                    raise ArchiveRefused(path, problems)
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    with archive.open(info) as member:
                        _copy_capped(member, into / info.filename, info.file_size, budget, f"{path}:{info.filename}")
        else:
            with tarfile.open(path) as archive:
                problems = tar_problems(archive, path)
                if problems:
                    raise ArchiveRefused(path, problems)
                for member in archive.getmembers():
                    if not member.isfile():
                        continue
                    source = archive.extractfile(member)
                    with source:
                        _copy_capped(source, into / member.name, member.size, budget, f"{path}:{member.name}")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        shutil.rmtree(into, ignore_errors=True)
        raise DataError(f"{path}: damaged {kind} archive ({err})") from err
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise
    return into
