"""The zip rules every untrusted archive is read by: submissions
(`instrack.evaluation.submission.zipped`) and dataset releases
(`instrack.dataset.release.unpack`).

Refused before anything is decoded: members whose path leaves the tree (zip
slip: absolute paths, "..", drive letters), symbolic links, encrypted members,
names that appear twice (which copy counts would depend on the reader: Python's
zipfile takes the last, others the first), compression methods other than
store, deflate, bzip2 and LZMA, and archives whose file count or declared
uncompressed size is absurd (zip bombs)."""

from __future__ import annotations

import lzma
import stat
import struct
import zipfile
import zlib
from collections import Counter
from pathlib import PurePosixPath

from instrack.errors import Problem
from instrack.masks import MAX_MASK_BYTES

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


def path_problem(name: str, tree: str = "the submission tree") -> str | None:
    """Why a member name of a zip or tar would land outside `tree` when
    unpacked or read (backslashes, absolute paths, '..'), or None."""
    if "\\" in name:
        return "path uses backslashes"
    pure = PurePosixPath(name)
    if pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return f"absolute path (outside {tree})"
    if ".." in pure.parts:
        return f"path contains '..' (outside {tree})"
    return None


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    reason = path_problem(info.filename)
    if reason:
        return reason
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
