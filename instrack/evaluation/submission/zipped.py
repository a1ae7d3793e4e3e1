"""A zip of the submission tree, read in place and defensively.

Refused before anything is decoded: members whose path leaves the tree (zip
slip: absolute paths, "..", drive letters), symbolic links, encrypted members,
names that appear twice (which copy counts would depend on the reader: Python's
zipfile takes the last, others the first), compression methods other than
store, deflate, bzip2 and LZMA, and archives whose file count or declared
uncompressed size is absurd (zip bombs). Declared sizes can lie, so reads are
also capped at the declared size. Damaged data (a bad CRC, corrupt deflate or
LZMA streams, a truncated archive) is a problem of that member, never a crash."""

from __future__ import annotations

import hashlib
import lzma
import stat
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from instrack.errors import Problem
from instrack.masks import MaskError, probe_mask, read_mask
from instrack.evaluation.submission.base import FrameReader, Submission
from instrack.evaluation.submission.files import MAX_MASK_BYTES

MAX_MEMBER_BYTES = MAX_MASK_BYTES
MAX_TOTAL_BYTES = 16 << 30
MAX_MEMBERS = 2_000_000
# PNG masks compress well (x50-x200 is normal); x1000 on a large member is a bomb.
MAX_RATIO = 1000
RATIO_APPLIES_ABOVE = 1 << 20

SUPPORTED_METHODS = {
    zipfile.ZIP_STORED: "store", zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA",
}

# What Python's zipfile raises on damaged archives and members (CRC: BadZipFile;
# corrupt deflate: zlib.error; bzip2: OSError; header fields: struct.error,
# ValueError, NotImplementedError, EOFError...).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, lzma.LZMAError,
              struct.error, ValueError, NotImplementedError, RuntimeError, OverflowError)


def describe(err: BaseException) -> str:
    """One line for a zipfile error (some carry newlines or are empty)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:200] + "..."


_open_archives: dict[str, zipfile.ZipFile] = {}


def _archive(path: str) -> zipfile.ZipFile:
    # One handle per process: a worker reading many members reuses it.
    if path not in _open_archives:
        _open_archives[path] = zipfile.ZipFile(path)
    return _open_archives[path]


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\\" in name:
        return "path uses backslashes"
    pure = PurePosixPath(name)
    if pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path (outside the submission tree)"
    if ".." in pure.parts:
        return "path contains '..' (outside the submission tree)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted member"
    if info.compress_type not in SUPPORTED_METHODS and not info.is_dir():
        return (f"compression method {info.compress_type} is not supported "
                f"(use {', '.join(sorted(set(SUPPORTED_METHODS.values())))})")
    if info.file_size > MAX_MEMBER_BYTES:
        return f"declares {info.file_size} bytes uncompressed (limit {MAX_MEMBER_BYTES})"
    if info.file_size > RATIO_APPLIES_ABOVE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?)"
    return None


def archive_problems(archive: zipfile.ZipFile, where: str) -> list[Problem]:
    infos = archive.infolist()
    problems = []
    if len(infos) > MAX_MEMBERS:
        problems.append(Problem(where, f"{len(infos)} members (limit {MAX_MEMBERS})"))
        return problems
    total = 0
    for name, count in sorted(Counter(i.filename for i in infos).items()):
        if count > 1:
            problems.append(Problem(f"{where}:{name}", f"appears {count} times in the archive (refused: "
                                    "which copy counts would depend on the unzipper)"))
    for info in infos:
        total += info.file_size
        reason = unsafe_reason(info)
        if reason:
            problems.append(Problem(f"{where}:{info.filename}", reason))
    if total > MAX_TOTAL_BYTES:
        problems.append(Problem(where, f"declares {total} bytes uncompressed (limit {MAX_TOTAL_BYTES})"))
    return problems


@dataclass(frozen=True)
class ZipReader(FrameReader):
    path: str
    names: dict[str, str] = field(default_factory=dict)  # relpath -> member name

    def read_bytes(self, relpath: str) -> bytes:
        """The member's bytes; MaskError if it is damaged."""
        try:
            info = _archive(self.path).getinfo(self.names[relpath])
            with _archive(self.path).open(info) as handle:
                data = handle.read(info.file_size + 1)
        except ZIP_ERRORS as err:
            raise MaskError(f"damaged zip member ({describe(err)})") from None
        if len(data) > info.file_size:
            raise MaskError("member is larger than its declared size")
        return data

    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        data = self.read_bytes(relpath)
        return read_mask(data), hashlib.sha256(data).hexdigest()


class ZipSubmission(Submission):
    def __init__(self, path: str, names: dict[str, str], source: str, unwrapped: str = ""):
        self.path = path
        self.names = names
        self.source = source
        self.unwrapped = unwrapped

    def members(self) -> set[str]:
        return set(self.names)

    def reader_for(self, video: str) -> ZipReader:
        prefix = video + "/"
        return ZipReader(self.path, {k: v for k, v in self.names.items() if k.startswith(prefix)})

    def probe(self, relpath: str) -> tuple[int, int]:
        reader = ZipReader(self.path, {relpath: self.names[relpath]})
        return probe_mask(reader.read_bytes(relpath))

    def close(self) -> None:
        archive = _open_archives.pop(self.path, None)
        if archive is not None:
            archive.close()
