"""MeViS / ReVOS `mask_dict.json`, read without loading it whole.

    {"<anno_id>": [<RLE or null>, ...one per frame of the video...], ...}
    RLE = {"size": [H, W], "counts": "<pycocotools compressed string>"}

MeViS's train mask_dict is several GB; its official scorer json.loads it and
copies it into a multiprocessing Manager. Here one pass (`index_mask_dict`)
records, for each wanted anno_id, where its value lies in the file (byte offset
and length), its frame count, its size and how many frames hold a mask; the
pass holds one read chunk (16 MB) plus one anno_id's value in memory, so peak
memory does not grow with the file. A worker then reads only the values of its
own video's anno_ids (`MaskDictReader`, picklable: a path and offsets).

The file must be ASCII (it is: digits, RLE characters, `null`); keys are
matched as the JSON text spells them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from instrack.errors import DataError

CHUNK_BYTES = 16 << 20
#: a parse error this far before the end of the buffer is a real error, not a value cut by the chunk
_SLACK = 4 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class AnnoEntry:
    offset: int  # byte offset of the value (the '[')
    length: int  # bytes of the value
    n_frames: int
    size: tuple[int, int] | None  # (H, W) of the first mask, None if every frame is null
    n_present: int  # frames whose mask is not null


class _Scanner:
    """Walks the top-level object of a large JSON file chunk by chunk."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "rb")
        self.buffer = ""
        self.base = 0  # file offset of buffer[0] (latin-1: one character per byte)
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def close(self) -> None:
        self.handle.close()

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(CHUNK_BYTES)
        if not data:
            self.eof = True
            return False
        self.base += self.pos
        self.buffer = self.buffer[self.pos:] + data.decode("latin-1")
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        got = self.peek()
        if got != char:
            raise self.error(f"expected {char!r}, found {got or 'the end of the file'!r}")
        self.pos += 1

    def value(self):
        """The next JSON value, with its file offset and byte length."""
        self.peek()
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as err:
                if err.pos < len(self.buffer) - _SLACK or not self._more():
                    raise self.error(err.msg, at=self.base + err.pos) from None
                continue
            if end == len(self.buffer) and not self.eof and self._more():
                continue  # a number may continue in the next chunk
            start = self.base + self.pos
            self.pos = end
            return obj, start, self.base + end - start

    def error(self, message: str, at: int | None = None) -> DataError:
        return DataError(f"{self.path}: not a mask_dict ({message} at byte {self.base + self.pos if at is None else at})")


def index_mask_dict(path: str | Path, wanted: set[str] | None = None) -> dict[str, AnnoEntry]:
    """One streaming pass over `path`: where each anno_id's value lies.
    With `wanted`, only those anno_ids are kept (all are still checked to be lists)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: missing")
    scanner = _Scanner(path)
    index: dict[str, AnnoEntry] = {}
    try:
        scanner.expect("{")
        if scanner.peek() == "}":
            return index
        while True:
            key, _, _ = scanner.value()
            if not isinstance(key, str):
                raise scanner.error("keys must be strings")
            scanner.expect(":")
            value, offset, length = scanner.value()
            if not isinstance(value, list):
                raise DataError(f"{path}: anno_id {key}: expected a list of RLE masks or null, one per frame")
            if wanted is None or key in wanted:
                present = [m for m in value if m is not None]
                size = _size_of(present[0], path, key) if present else None
                index[key] = AnnoEntry(offset, length, len(value), size, len(present))
            separator = scanner.peek()
            scanner.pos += 1
            if separator == "}":
                break
            if separator != ",":
                raise scanner.error(f"expected ',' or '}}', found {separator or 'the end of the file'!r}")
    finally:
        scanner.close()
    return index


def _size_of(rle, path: Path, key: str) -> tuple[int, int]:
    from instrack.coco_rle import check_size
    from instrack.masks import MaskError

    size = rle.get("size") if isinstance(rle, dict) else None
    if not (isinstance(size, list) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
        raise DataError(f"{path}: anno_id {key}: a mask is not {{'size': [H, W], 'counts': ...}}")
    try:  # the same pixel limit as submissions: a size no frame has is bad data, not a crash
        return check_size(size)
    except MaskError as err:
        raise DataError(f"{path}: anno_id {key}: {err}") from None


@dataclass(frozen=True)
class MaskDictReader:
    """Reads chosen anno_ids' masks from a mask_dict, by offset; picklable."""

    path: str
    entries: dict[str, tuple[int, int]] = field(default_factory=dict)  # anno_id -> (offset, length)

    def rles(self, anno_id: str) -> list:
        offset, length = self.entries[anno_id]
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        return json.loads(data)


def decode_rle(rle, shape: tuple[int, int], where: str) -> np.ndarray:
    """A uint8 0/1 mask from one COCO RLE of ground truth, checked first:
    pycocotools trusts its input and writes past its buffer on bad counts."""
    from pycocotools import mask as mask_utils

    from instrack.coco_rle import check_size, runs_of
    from instrack.masks import MaskError

    if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
        raise DataError(f"{where}: not {{'size': [H, W], 'counts': ...}}")
    if list(rle["size"]) != list(shape):
        raise DataError(f"{where}: size {rle['size'][0]}x{rle['size'][1]}, the video is {shape[0]}x{shape[1]}")
    counts = rle["counts"]
    try:
        check_size(list(shape))
        runs_of(counts, *shape)
    except MaskError as err:
        raise DataError(f"{where}: {err}") from None
    if isinstance(counts, list):
        rle = mask_utils.frPyObjects(rle, *shape)
    else:
        rle = {"size": list(shape), "counts": counts.encode("ascii")}
    return mask_utils.decode(rle)
