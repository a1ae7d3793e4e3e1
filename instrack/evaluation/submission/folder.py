"""A submission folder: PRED/<video>/<exp_id>/<frame>.png (or PRED/<seq>/<frame>.png)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrack.masks import probe_mask, read_mask
from instrack.evaluation.submission.base import FrameReader, Submission


@dataclass(frozen=True)
class FolderReader(FrameReader):
    root: str

    def read_bytes(self, relpath: str) -> bytes:
        with open(os.path.join(self.root, relpath), "rb") as handle:
            return handle.read()

    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        data = self.read_bytes(relpath)
        return read_mask(data), hashlib.sha256(data).hexdigest()


class FolderSubmission(Submission):
    def __init__(self, root: Path, source: str, unwrapped: str = ""):
        self.root = root
        self.source = source
        self.unwrapped = unwrapped
        self._members: set[str] | None = None

    def members(self) -> set[str]:
        if self._members is None:
            found = set()
            # os.walk is several times faster than Path.rglob on big trees
            for directory, _, files in os.walk(self.root):
                rel = os.path.relpath(directory, self.root)
                prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
                found.update(prefix + name for name in files)
            self._members = found
        return self._members

    def reader_for(self, video: str) -> FolderReader:
        return FolderReader(str(self.root))

    def probe(self, relpath: str) -> tuple[int, int]:
        return probe_mask(self.root / relpath)
