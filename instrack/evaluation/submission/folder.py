"""A submission folder: PRED/<video>/<exp_id>/<frame>.png (or PRED/<seq>/<frame>.png).

Like a zip, a folder may hold only regular files and folders: a symbolic link
(to a file or a folder, inside the tree or out of it), a FIFO, a socket or a
device anywhere in the tree is a problem, found by the walk before anything is
read (files.py guards the reads themselves). Files that are not scored, such
as a .DS_Store, are listed but never opened."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from instrack.errors import Problem
from instrack.masks import probe_mask, read_mask
from instrack.evaluation.submission.base import FrameReader, Submission
from instrack.evaluation.submission.files import MAX_MASK_BYTES, kind_of, open_inside, read_limited

# as for zips: far more files than any benchmark has
MAX_FILES = 2_000_000


@dataclass(frozen=True)
class FolderReader(FrameReader):
    root: str

    def read_bytes(self, relpath: str) -> bytes:
        return read_limited(open_inside(self.root, relpath, MAX_MASK_BYTES), MAX_MASK_BYTES)

    def read(self, relpath: str) -> tuple[np.ndarray, str]:
        data = self.read_bytes(relpath)
        return read_mask(data), hashlib.sha256(data).hexdigest()


def walk_tree(root: Path, source: str) -> tuple[set[str], list[Problem]]:
    """Relative paths ("a/b/c.png") of the regular files under root, and a
    problem for everything else that is not a folder. Iterative (a tree
    thousands of folders deep is no RecursionError), links never followed."""
    files: set[str] = set()
    problems: list[Problem] = []
    pending = [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(os.path.join(root, prefix) if prefix else root) as listing:
                entries = list(listing)
        except OSError as err:
            problems.append(Problem(f"{source}/{prefix}", f"folder cannot be listed ({err.strerror or err})"))
            continue
        for entry in entries:
            relpath = prefix + entry.name
            where = f"{source}/{relpath}"
            try:
                relpath.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(Problem(where.encode("utf-8", "backslashreplace").decode(),
                                        "file name is not valid UTF-8"))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(relpath + "/")
                elif entry.is_file(follow_symlinks=False):
                    files.add(relpath)
                    if len(files) > MAX_FILES:
                        problems.append(Problem(source, f"more than {MAX_FILES} files"))
                        return files, problems
                else:
                    kind = kind_of(entry.stat(follow_symlinks=False).st_mode)
                    reason = " (refused: links may point outside the submission)" if entry.is_symlink() else ""
                    problems.append(Problem(where, f"{kind}, not a regular file{reason}"))
            except OSError as err:
                problems.append(Problem(where, f"cannot be examined ({err.strerror or err})"))
    return files, problems


class FolderSubmission(Submission):
    def __init__(self, root: Path, source: str, unwrapped: str = "", members: set[str] | None = None):
        self.root = root
        self.source = source
        self.unwrapped = unwrapped
        self.problems: list[Problem] = []
        if members is None:
            members, self.problems = walk_tree(root, source)
        self._members = members

    def members(self) -> set[str]:
        return self._members

    def unwrap(self, wrapper: str) -> "FolderSubmission":
        """The same submission seen from inside its single enclosing folder."""
        kept = {m[len(wrapper):] for m in self._members if m.startswith(wrapper)}
        return FolderSubmission(self.root / wrapper.rstrip("/"), self.source, wrapper, kept)

    def reader_for(self, video: str) -> FolderReader:
        return FolderReader(str(self.root))

    def probe(self, relpath: str) -> tuple[int, int]:
        with open_inside(self.root, relpath, MAX_MASK_BYTES) as handle:
            return probe_mask(handle)
