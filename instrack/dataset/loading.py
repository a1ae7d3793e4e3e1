"""`instrack.load(...)`: a dataset's units with frames, masks and instruction,
from the folder layout, from an `instrack export-hf` folder, or (no argument)
from the bundled sample.

    import instrack
    for unit in instrack.load("ROOT", split="test"):
        unit.text                 # "Who would be easiest to spot from across the room?"
        unit.name, unit.exp_id    # video name and instruction id (unit.instruction: the Instruction)
        unit.frames[0]            # H x W x 3 uint8 (decoded on first access)
        unit.masks[0]             # H x W uint8: 0 background, 1 target, 255 void

Units of one video are consecutive and share their decoded frames, so walking
all six instructions of a video decodes it once.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from instrack.errors import DataError
from instrack.dataset.layout import META, available_splits, parse_meta, read_split
from instrack.dataset.model import Split, Unit, Video


def _rgb(data: bytes | Path) -> np.ndarray:
    handle = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(handle) as image:
        return np.asarray(image.convert("RGB"))


def _mask(data: bytes | Path) -> np.ndarray:
    from instrack.masks import MaskError, read_mask

    try:
        return read_mask(data)
    except MaskError as err:
        raise DataError(f"{data if isinstance(data, Path) else 'mask'}: {err}") from err


class _VideoPixels:
    """Decoded frames and masks of one video, read on first access."""

    def __init__(self, frames: Callable[[], list], masks: Callable[[], list]):
        self._frames, self._masks = frames, masks

    @cached_property
    def frames(self) -> list[np.ndarray]:
        return [_rgb(item) for item in self._frames()]

    @cached_property
    def masks(self) -> list[np.ndarray]:
        return [_mask(item) for item in self._masks()]


@dataclass(frozen=True)
class LoadedUnit(Unit):
    """A Unit (the type trackers are given: .video, .instruction, .exp_id, .text,
    .kind, ...) with lazily decoded pixels."""

    _pixels: _VideoPixels = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @property
    def unit(self) -> Unit:
        """The plain unit, without pixels."""
        return Unit(self.video, self.instruction)

    @property
    def frames(self) -> list[np.ndarray]:
        return self._pixels.frames

    @property
    def masks(self) -> list[np.ndarray]:
        return self._pixels.masks


class InsTrackData(Sequence[LoadedUnit]):
    """The units of one split, in meta order; indexable and iterable."""

    def __init__(self, split: Split, pixels: Callable[[Video], _VideoPixels], form: str, location: Path):
        self.split = split
        self.form = form
        self.location = location
        self._pixels = pixels
        self._units = list(split.units())
        self._cache: tuple[str, _VideoPixels] | None = None

    def __len__(self) -> int:
        return len(self._units)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        unit = self._units[index]
        name = unit.video.name
        # Keep the last video's pixels: its six units come one after another.
        if self._cache is None or self._cache[0] != name:
            self._cache = (name, self._pixels(unit.video))
        return LoadedUnit(unit.video, unit.instruction, self._cache[1])

    def __iter__(self) -> Iterator[LoadedUnit]:
        for index in range(len(self)):
            yield self[index]

    @property
    def videos(self) -> dict[str, Video]:
        return self.split.videos

    def __repr__(self) -> str:
        counts = f"{len(self.videos)} videos, {len(self)} units"
        return f"InsTrackData({self.location}, split={self.split.name!r}, {counts}, {self.form})"


def _load_folder(root: Path, split: str) -> InsTrackData:
    data = read_split(root, split)

    def pixels(video: Video) -> _VideoPixels:
        return _VideoPixels(
            lambda: [video.image_path(f) for f in video.frames],
            lambda: [video.mask_path(f) for f in video.frames],
        )

    return InsTrackData(data, pixels, "folder", root)


def _load_export(export: Path, split: str) -> InsTrackData:
    from instrack.errors import require
    from instrack.dataset.hf import VIDEOS, _shards, export_splits

    pq = require("pyarrow.parquet", "data")
    shards = _shards(export / VIDEOS).get(split)
    if not shards:
        raise DataError(f"{export}: no split {split!r} (splits: {', '.join(export_splits(export)) or 'none'})")
    # Read only the small columns now; frames and masks come per row group on demand.
    where: dict[str, tuple[Path, int]] = {}
    metas: dict[str, dict] = {}
    for path in shards:
        handle = pq.ParquetFile(path)
        for group in range(handle.num_row_groups):
            table = handle.read_row_group(group, columns=["video", "meta"])
            for name, meta in zip(table.column("video").to_pylist(), table.column("meta").to_pylist()):
                where[name] = (path, group)
                metas[name] = json.loads(meta)
    data = parse_meta({"videos": metas}, split=split, root=None, where=f"{export} ({split})")

    def pixels(video: Video) -> _VideoPixels:
        row: dict = {}

        def fetch(column: str) -> list[bytes]:
            if not row:
                path, group = where[video.name]
                table = pq.ParquetFile(path).read_row_group(group, columns=["video", "frames", "masks"])
                names = table.column("video").to_pylist()
                index = names.index(video.name)
                row.update({c: [cell["bytes"] for cell in table.column(c)[index].as_py()] for c in ("frames", "masks")})
            return row[column]

        return _VideoPixels(lambda: fetch("frames"), lambda: fetch("masks"))

    return InsTrackData(data, pixels, "hf-export", export)


def load(path: str | Path | None = None, split: str = "test") -> InsTrackData:
    """Units of `split` from a dataset folder, an export-hf folder, or the bundled sample."""
    from instrack.dataset.hf import is_export

    if path is None:
        from instrack.dataset.sample import sample_root

        path = sample_root()
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: does not exist")
    if (path / split / META).is_file():
        return _load_folder(path, split)
    if is_export(path):
        return _load_export(path, split)
    found = available_splits(path)
    if found:
        raise DataError(f"{path / split / META}: missing (splits here: {', '.join(found)})")
    raise DataError(f"{path}: neither a dataset folder (<split>/{META}) nor an `instrack export-hf` folder")


__all__ = ["InsTrackData", "LoadedUnit", "load"]
