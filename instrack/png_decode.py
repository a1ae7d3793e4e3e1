"""A fast decoder for the PNGs masks are usually saved as, and nothing else.

Scoring a 720p benchmark is mostly decoding: Pillow takes about 3 ms per
1280x720 mask PNG, of which about 1 ms is zlib's inflate and most of the rest
undoing the row filters one byte at a time. This decoder inflates with zlib-ng
(about 15x faster than zlib here; stdlib zlib if it is not installed) and undoes
the filters a mask writer uses (None, Sub, Up) for whole rows at once, touching
only rows that hold something.

It takes only the plain case: 8-bit grey or 8-bit palette (palette images
decode to their indices, as with Pillow), not interlaced, the chunks IHDR,
PLTE, IDAT and IEND with valid CRCs, in order, the inflated data exactly the
size the header implies, and row filters None, Sub and Up (Pillow writes
these; OpenCV writes Sub). For anything else `decode_plain_png` returns None
and the caller decodes with Pillow, so a file either decodes here to exactly
Pillow's array or goes to Pillow for its result or its error
(tests/test_png_decode.py checks both on written and on damaged files).
"""

from __future__ import annotations

import struct
import sys
import zlib

import numpy as np

try:  # zlib-ng inflates the same streams, much faster
    from zlib_ng import zlib_ng as _inflate_module
except ImportError:  # pragma: no cover - zlib-ng is a core dependency; stdlib zlib is correct, only slower
    _inflate_module = zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: larger images go to Pillow, which applies its decompression-bomb limits
MAX_PLAIN_PIXELS = 1 << 26
#: nor a side longer than this (per-row work is vectorised over rows; 1 x 2**26 would cost GBs)
MAX_PLAIN_SIDE = 1 << 14
_GREY, _PALETTE = 0, 3
_NONE, _SUB, _UP = 0, 1, 2
#: bytes of Sub rows summed with cv2.integral (255 * this < 2**31)
_INTEGRAL_LIMIT = 1 << 23
_LITTLE_ENDIAN = sys.byteorder == "little"
#: more runs of Up rows than this go to Pillow (writers produce tens; each run is a Python step here)
MAX_UP_RUNS = 512


def decode_plain_png(data: bytes) -> np.ndarray | None:
    """The uint8 (H, W) array of a plain 8-bit grey or palette PNG, or None
    when the file is anything else (then decode it with Pillow)."""
    chunks = _plain_chunks(data)
    if chunks is None:
        return None
    height, width, idat = chunks
    expected = height * (width + 1)  # one filter-type byte, then one byte per pixel, per row
    inflater = _inflate_module.decompressobj()
    try:
        raw = inflater.decompress(idat, expected + 1)
    except _inflate_module.error:
        return None
    if len(raw) != expected or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        return None
    return _unfilter(np.frombuffer(raw, np.uint8).reshape(height, width + 1))


def _plain_chunks(data: bytes) -> tuple[int, int, bytes] | None:
    """(height, width, the IDAT data joined) when the chunk sequence is
    IHDR [PLTE] IDAT+ IEND with nothing after it and every CRC right."""
    if not isinstance(data, (bytes, bytearray)) or not data.startswith(PNG_SIGNATURE):
        return None
    view = memoryview(data)
    position, size = len(PNG_SIGNATURE), len(data)
    header = None
    palette_seen = False
    idat: list[memoryview] = []
    while True:
        if position + 12 > size:
            return None
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if end > size:
            return None
        body = view[position + 8 : end - 4]
        if zlib.crc32(view[position + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
            return None
        position = end
        if header is None:
            if kind != b"IHDR" or length != 13:
                return None
            width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
            if (depth != 8 or colour not in (_GREY, _PALETTE) or compression or filtering or interlace
                    or not 0 < width * height <= MAX_PLAIN_PIXELS or max(width, height) > MAX_PLAIN_SIDE):
                return None
            header = (height, width, colour)
        elif kind == b"PLTE":
            if header[2] != _PALETTE or palette_seen or idat or length % 3 or not 3 <= length <= 768:
                return None
            palette_seen = True
        elif kind == b"IDAT":
            if header[2] == _PALETTE and not palette_seen:
                return None
            idat.append(body)
        elif kind == b"IEND":
            if length or not idat or position != size:
                return None
            return header[0], header[1], b"".join(idat)
        else:  # any other chunk: Pillow decides what it means
            return None


def _unfilter(rows: np.ndarray) -> np.ndarray | None:
    """Undo the per-row filters of a 1-byte-per-pixel image; None if a row
    uses Average or Paeth (those go to Pillow)."""
    types, filtered = rows[:, 0], rows[:, 1:]
    if types.max() > _UP:
        return None
    height, width = filtered.shape
    out = np.zeros((height, width), np.uint8)
    # under None and Sub a row whose filtered bytes are all 0 is a row of 0s,
    # and so is the part of a Sub row left of its first non-zero byte: only
    # the columns from the first non-zero byte of any row on need work
    busy = filtered.any(axis=1)
    busy_rows = np.flatnonzero(busy)
    if busy_rows.size:
        first = int(np.argmax(filtered[busy_rows[0] : busy_rows[-1] + 1].any(axis=0)))
        direct = busy_rows[types[busy_rows] == _NONE]
        if direct.size:
            out[direct] = filtered[direct]
        sub = busy_rows[types[busy_rows] == _SUB]
        if sub.size:
            top, bottom = int(sub[0]), int(sub[-1]) + 1
            if bottom - top == sub.size:  # one band of busy Sub rows: slices, no copies
                out[top:bottom, first:] = _running_sums(filtered[top:bottom, first:])
            else:
                out[sub, first:] = _running_sums(filtered[sub, first:])
    up = types == _UP
    if up.any():
        # Up: each row adds the row above it; a run of Up rows is a running sum
        # down the columns, starting from the (already decoded) row before the run
        starts = np.flatnonzero(up & ~np.concatenate(([False], up[:-1])))
        if starts.size > MAX_UP_RUNS:
            return None  # one Python step per run: a hostile file could make that millions; Pillow's loop is in C
        stops = np.flatnonzero(up & ~np.concatenate((up[1:], [False]))) + 1
        for start, stop in zip(starts.tolist(), stops.tolist()):
            above = out[start - 1] if start else None
            if busy[start:stop].any():
                block = np.cumsum(filtered[start:stop], axis=0, dtype=np.uint8)
                out[start:stop] = block if above is None else block + above
            elif above is not None and above.any():
                out[start:stop] = above
    return out


def _running_sums(block: np.ndarray) -> np.ndarray:
    """Sub filter undone: each row's running sum modulo 256. cv2.integral sums
    ~10x faster than np.cumsum; the low byte of its int32 sums (little-endian)
    is the sum modulo 256, and the difference of two low bytes modulo 256 is
    the low byte of the difference, so one uint8 subtraction finishes it."""
    if block.size > _INTEGRAL_LIMIT or not _LITTLE_ENDIAN:
        return np.cumsum(block, axis=1, dtype=np.uint8)
    import cv2

    low_bytes = cv2.integral(block).view(np.uint8)[:, 4::4]  # columns 1.. of the sums (rows may be strided)
    return low_bytes[1:] - low_bytes[:-1]
