"""One split's meta_expressions.json, read and changed in place.

The annotation tools edit the raw JSON (not the instrack.dataset.model objects) so that
keys they do not know, written by other tools, survive untouched. Every save
re-validates with instrack.dataset.layout's reader first: nothing is written that the
evaluator or the data loaders would reject.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from instrack.errors import DataError
from instrack.fileio import atomic_write_json
from instrack.dataset.layout import META, parse_meta, read_split, split_dir
from instrack.dataset.model import REPHRASE, SEED

SEED_EXP_ID = "0"
# Status of a rephrasing: written by the pipeline (accepted, needs_review) or by
# the review project (kept, fixed). Rejected ones leave `expressions`.
ACCEPTED, NEEDS_REVIEW, KEPT, FIXED = "accepted", "needs_review", "kept", "fixed"
STATUSES = (ACCEPTED, NEEDS_REVIEW, KEPT, FIXED)
# Where annotation work files live, next to the splits of a dataset root.
WORK_DIR = ".annotation"


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An advisory lock between instrack processes writing the same split."""
    import fcntl

    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class MetaFile:
    """The raw content of ROOT/<split>/meta_expressions.json, with save()."""

    def __init__(self, root: str | Path, split: str = "test"):
        self.root = Path(root)
        self.split = split
        self.folder = split_dir(self.root, split)
        self.path = self.folder / META
        read_split(self.root, split)  # a DataError naming the file if it is malformed
        raw = self.path.read_bytes()
        self._read_digest = hashlib.sha256(raw).hexdigest()
        self.data: dict[str, Any] = json.loads(raw.decode("utf-8"))

    @property
    def videos(self) -> dict[str, dict[str, Any]]:
        return self.data["videos"]

    def save(self) -> None:
        """Write the changes, unless another command changed the file since it was
        read (export and rephrase running at once): that would silently drop the
        other command's work, so it is refused and the command can simply be re-run."""
        parse_meta(self.data, split=self.split, root=self.folder, where=str(self.path))
        lock = self.work_dir() / f"{self.split}.lock"  # beside the other work files, not in the split
        lock.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(lock):
            current = hashlib.sha256(self.path.read_bytes()).hexdigest()
            if current != self._read_digest:
                raise DataError(
                    f"{self.path}: changed by another command since it was read; nothing was written, re-run this one"
                )
            atomic_write_json(self.path, self.data)
            self._read_digest = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def work_dir(self) -> Path:
        return self.root / WORK_DIR


def expressions(video: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return video.setdefault("expressions", {})


def seeds(video: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(exp_id, expression) of each seed; a missing "kind" means seed, as in the reader."""
    for exp_id, exp in expressions(video).items():
        if exp.get("kind", SEED) == SEED:
            yield exp_id, exp


def seed_of(video: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    return next(seeds(video), None)


def rephrasings_of(video: dict[str, Any], seed_id: str) -> dict[str, dict[str, Any]]:
    return {
        exp_id: exp
        for exp_id, exp in expressions(video).items()
        if exp.get("kind") == REPHRASE and str(exp.get("seed")) == seed_id
    }


def free_exp_ids(video: dict[str, Any], count: int) -> list[str]:
    """The `count` smallest integer ids not used yet (MeViS numbers expressions 0, 1, ...)."""
    used = set(expressions(video))
    out, n = [], 0
    while len(out) < count:
        if str(n) not in used:
            out.append(str(n))
        n += 1
    return out


def category_of(video: dict[str, Any]) -> str | None:
    value = video.get("category")
    return value if isinstance(value, str) and value.strip() else None


def object_ids(video: dict[str, Any]) -> list[int]:
    """The target's object ids: those of the seed if there is one, else [1]."""
    found = seed_of(video)
    if found is not None:
        obj = found[1].get("obj_id", [1])
        return [int(o) for o in (obj if isinstance(obj, list) else [obj])]
    return [1]


def require_videos(meta: MetaFile) -> None:
    if not meta.videos:
        raise DataError(f"{meta.path}: the split has no videos")
