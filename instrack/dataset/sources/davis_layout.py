"""The official DAVIS-2017 folder layout, as the evaluation protocols read it:

    ROOT/ImageSets/2017/<subset>.txt
    ROOT/JPEGImages/<resolution>/<seq>/<frame>.jpg
    ROOT/Annotations[_unsupervised]/<resolution>/<seq>/<frame>.png

As in davisvideochallenge/davis2017-evaluation, a sequence's frames are its
ground-truth PNGs in sorted order and its objects are ids 1..max of the first
ground-truth frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from instrack.errors import DataError


@dataclass(frozen=True)
class DavisSequence:
    name: str
    frames: tuple[str, ...]
    mask_dir: Path

    def mask_path(self, frame: str) -> Path:
        return self.mask_dir / f"{frame}.png"


def read_davis_layout(
    root: str | Path, subset: str = "val", annotations: str = "Annotations", resolution: str = "480p"
) -> list[DavisSequence]:
    root = Path(root)
    imageset = root / "ImageSets" / "2017" / f"{subset}.txt"
    if not root.is_dir():
        raise DataError(f"{root}: DAVIS folder does not exist")
    if not imageset.is_file():
        found = sorted(p.stem for p in (root / "ImageSets" / "2017").glob("*.txt"))
        hint = f" (subsets here: {', '.join(found)})" if found else ""
        raise DataError(f"{imageset}: sequence list missing{hint}")
    mask_root = root / annotations / resolution
    if not mask_root.is_dir():
        raise DataError(f"{mask_root}: annotation folder missing")
    names = [line.strip() for line in imageset.read_text(encoding="utf-8").splitlines() if line.strip()]
    sequences = []
    for name in names:
        mask_dir = mask_root / name
        frames = tuple(sorted(p.stem for p in mask_dir.glob("*.png")))
        if not frames:
            raise DataError(f"{mask_dir}: no ground-truth PNGs for sequence {name} listed in {imageset}")
        sequences.append(DavisSequence(name, frames, mask_dir))
    return sequences
