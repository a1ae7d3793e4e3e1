"""Reading mask PNGs strictly: one channel (L, P, 16/32-bit integer) or nothing.

Masks are decoded to integer arrays, never to floats: a 480p mask is 400 kB as
uint8 and 3.3 MB as the float64 copy the official DAVIS code makes."""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

#: The largest mask file a reader opens (PNG masks are KBs; 64 MB bounds a hostile one).
MAX_MASK_BYTES = 64 << 20

# Modes whose pixels are one integer each; palette PNGs decode to their indices.
SINGLE_CHANNEL_MODES = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class MaskError(ValueError):
    """A mask file that cannot be used; the caller adds the file name."""


def _open(source: bytes | str | os.PathLike | BinaryIO) -> Image.Image:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data.startswith(PNG_SIGNATURE):
            raise MaskError("not a PNG file")
        handle: object = io.BytesIO(data)
    elif hasattr(source, "read"):
        # an open binary file (the caller checked what it is and closes it)
        if source.read(8) != PNG_SIGNATURE:
            raise MaskError("not a PNG file")
        source.seek(0)
        handle = source
    else:
        with open(source, "rb") as probe:
            if probe.read(8) != PNG_SIGNATURE:
                raise MaskError("not a PNG file")
        handle = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(handle, formats=["PNG"])
    except Exception as err:  # Pillow raises several types for bad headers
        from PIL import UnidentifiedImageError

        if isinstance(err, UnidentifiedImageError):
            raise MaskError("corrupt PNG (its header cannot be read)") from err
        raise MaskError(f"corrupt PNG ({err})") from err


def _check_mode(image: Image.Image) -> None:
    if image.mode not in SINGLE_CHANNEL_MODES:
        raise MaskError(
            f"{image.mode} PNG with {len(image.getbands())} channels; save masks as "
            "single-channel (mode L) or palette (mode P) PNGs"
        )


def probe_mask(source: bytes | str | os.PathLike | BinaryIO) -> tuple[int, int]:
    """Check the header only (cheap) and return (height, width)."""
    image = _open(source)
    try:
        _check_mode(image)
        width, height = image.size
        return height, width
    finally:
        image.close()


def read_mask(source: bytes | str | os.PathLike) -> np.ndarray:
    """Decode a single-channel or palette PNG into a 2-D integer array.

    The plain 8-bit grey and palette PNGs masks are saved as decode through
    png_decode (several times faster, the same array); anything else, and
    every damaged file, through Pillow."""
    from instrack.png_decode import decode_plain_png

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            if stat.S_ISREG(os.stat(source).st_mode):  # never open a FIFO or a device here
                with open(source, "rb") as handle:
                    data = handle.read(MAX_MASK_BYTES + 1)  # bounded, even if the file was swapped since the stat
                if len(data) <= MAX_MASK_BYTES:
                    source = data
        except OSError:
            pass  # Pillow's open below reports it as before
    if isinstance(source, bytes):
        array = decode_plain_png(source)
        if array is not None:
            return array
    return read_mask_with_pillow(source)


def read_mask_with_pillow(source: bytes | str | os.PathLike) -> np.ndarray:
    """read_mask without the fast path: every PNG through Pillow."""
    image = _open(source)
    try:
        _check_mode(image)
        try:
            if image.mode == "1":
                array = np.asarray(image, dtype=np.uint8)
            else:
                array = np.asarray(image)
        except Exception as err:
            raise MaskError(f"corrupt PNG data ({err})") from err
    finally:
        image.close()
    if array.ndim != 2:
        raise MaskError(f"decoded to shape {array.shape}, expected a 2-D mask")
    return array


def write_mask(path: str | os.PathLike, mask: np.ndarray, palette: bool = False) -> None:
    """Write a 2-D uint8 mask as a PNG (atomically: nothing half-written is left)."""
    from instrack.fileio import atomic_write_bytes

    array = np.asarray(mask)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.dtype != np.uint8:
        array = array.astype(np.uint8)
    image = Image.fromarray(array, mode="L")
    if palette:
        image = image.convert("P")
        image.putpalette(davis_palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    atomic_write_bytes(Path(path), buffer.getvalue())


def davis_palette() -> list[int]:
    """The PASCAL VOC / DAVIS colour map (object k gets a fixed colour, 255 void)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(8):
            r |= ((c >> 0) & 1) << (7 - shift)
            g |= ((c >> 1) & 1) << (7 - shift)
            b |= ((c >> 2) & 1) << (7 - shift)
            c >>= 3
        palette.extend((r, g, b))
    return palette
