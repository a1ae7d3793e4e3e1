"""What every submission form provides."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

import numpy as np

# Files that archivers add and nobody means to submit.
JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
JUNK_PREFIXES = ("__MACOSX/",)


def is_junk(relpath: str) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    return name in JUNK_NAMES or name.startswith("._") or relpath.startswith(JUNK_PREFIXES)


class FrameReader(ABC):
    """Decodes the masks of one video; picklable, so it can cross into a worker."""

    @abstractmethod
    def read_bytes(self, relpath: str) -> bytes | None:
        """Raw PNG bytes (None for forms without files, such as RLE)."""

    @abstractmethod
    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        """The mask as a 2-D integer array and the SHA-256 of what was read.
        Raises MaskError for undecodable data."""


class Submission(ABC):
    """A submission opened and checked for safety; nothing decoded yet."""

    source: str
    #: the relative prefix removed when one enclosing folder was unwrapped
    unwrapped: str = ""

    @abstractmethod
    def members(self) -> set[str]:
        """Relative paths of every file in the submission (after unwrapping)."""

    @abstractmethod
    def reader_for(self, video: str) -> FrameReader:
        """A picklable reader of one video's files."""

    @abstractmethod
    def probe(self, relpath: str) -> tuple[int, int]:
        """(height, width) from the header alone; raises MaskError."""

    def close(self) -> None:
        pass


def combine_digests(per_member: dict[str, str]) -> str:
    """One SHA-256 for a tree: sorted relative paths with their contents' digests.
    A zip or a JSON file is hashed as the file itself instead (see opening.py)."""
    digest = hashlib.sha256()
    for relpath in sorted(per_member):
        digest.update(relpath.encode("utf-8") + b"\0" + per_member[relpath].encode("ascii") + b"\n")
    return digest.hexdigest()
