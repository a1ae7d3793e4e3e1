"""A zip of the submission tree, read in place and defensively.

What is refused before anything is decoded (zip slip, links, encrypted or
duplicate members, unknown methods, zip bombs) is in `instrack.archives`, shared
with dataset releases. Declared sizes can lie, so reads are also capped at the
declared size. Damaged data (a bad CRC, corrupt deflate or
LZMA streams, a truncated archive) is a problem of that member, never a crash."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field

import numpy as np

from instrack.masks import MaskError, probe_mask, read_mask
from instrack.evaluation.submission.base import FrameReader, Submission
from instrack.archives import (  # noqa: F401  (re-exported: the submission readers' names)
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    SUPPORTED_METHODS,
    ZIP_ERRORS,
    archive_problems,
    describe,
    unsafe_reason,
)

_open_archives: dict[str, zipfile.ZipFile] = {}


def _archive(path: str) -> zipfile.ZipFile:
    # One handle per process: a worker reading many members reuses it.
    if path not in _open_archives:
        _open_archives[path] = zipfile.ZipFile(path)
    return _open_archives[path]


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
