"""COCO run-length encoding, decoded with exactly pycocotools' semantics.

pycocotools trusts its input. Its C parser of the compressed counts string
(`rleFrString` in common/maskApi.c, ppwwyyxx/cocoapi ac87f50) computes each
5-bit digit as a 32-bit `int` shifted by 5*k, so a number of more than six
digits wraps (the x86 shift count is taken mod 32: the 7th digit lands at bit 3),
and it stores every run as a 32-bit `uint`. A checker that decodes the same
string with Python's unbounded integers sees other runs than pycocotools does,
so it can accept a string that pycocotools then refuses ("Invalid RLE mask
representation") or decodes to another mask. Here the string is decoded as the
C code does, in 32-bit arithmetic, vectorised (linear time: the unbounded
version was quadratic in the length of one number), and the mask is built from
those runs; validation and scoring use this one decoder, so they cannot
disagree. tests/test_coco_rle.py checks it against pycocotools itself.

Stricter than pycocotools, on purpose: characters outside the 64 that its
encoder writes ('0'..'o'), a string that ends inside a number (the C parser
then reads past the end of the string), and runs that do not cover exactly
height x width pixels (pycocotools leaves a short mask's tail uninitialised)
are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrack.masks import MaskError

# 16384 x 16384: far above any video frame (8K is 33 Mpx), small enough that a
# mask fits in memory and that no run, nor the sum of runs, reaches 2**32.
MAX_PIXELS = 1 << 28


def check_size(size: Any) -> tuple[int, int]:
    """(height, width) from a JSON "size", or MaskError."""
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise MaskError("segmentation size must be [H, W] with positive integers")
    height, width = size
    if height * width > MAX_PIXELS:
        raise MaskError(f"segmentation size {height}x{width} is over the limit of {MAX_PIXELS} pixels")
    return height, width


def compressed_runs(counts: str) -> np.ndarray:
    """The runs (uint32) that pycocotools' rleFrString makes of `counts`.

    uint32 arithmetic wraps as the C code's does: a shifted digit keeps its low
    32 bits, and the stored runs are sums mod 2**32."""
    if not counts.isascii():
        raise MaskError("RLE counts string has a non-ASCII character")
    codes = np.frombuffer(counts.encode("ascii"), dtype=np.uint8) - np.uint8(48)  # below '0' wraps to >= 208
    if codes.size == 0:
        return np.zeros(0, dtype=np.uint32)
    bad = np.flatnonzero(codes >= 64)
    if bad.size:
        raise MaskError(f"RLE counts string has an invalid character {counts[bad[0]]!r} at {bad[0]}")
    last_digit = (codes & 0x20) == 0
    if not last_digit[-1]:
        raise MaskError("RLE counts string ends inside a number")
    ends = np.flatnonzero(last_digit)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    # k, the digit's place in its number: position minus the start of its number
    position = np.arange(codes.size)
    first_of_number = np.zeros(codes.size, dtype=position.dtype)
    first_of_number[starts] = starts
    digit_index = position - np.maximum.accumulate(first_of_number)
    # (c & 0x1f) << 5*k as a 32-bit int: the shift count is taken mod 32
    shifts = ((5 * digit_index) & 31).astype(np.uint32)
    digits = (codes & 0x1F).astype(np.uint32) << shifts
    values = np.bitwise_or.reduceat(digits, starts)
    # a negative number: x |= -1 << 5*k, k counted after the last digit
    negative = (codes[ends] & 0x10) != 0
    sign_shift = ((5 * (digit_index[ends] + 1)) & 31).astype(np.uint32)
    values[negative] |= np.uint32(0xFFFFFFFF) << sign_shift[negative]
    # from the fourth run on, x += cnts[m-2] (each run stored as a uint32)
    runs = values
    for parity in (1, 2):
        runs[parity::2] = np.cumsum(values[parity::2], dtype=np.uint32)
    return runs


def runs_of(counts: Any, height: int, width: int) -> np.ndarray:
    """The runs of a compressed string or a list of run lengths, or MaskError
    unless they cover exactly height * width pixels."""
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise MaskError("uncompressed RLE counts must be non-negative integers")
        total = sum(counts)
        runs = None
    elif isinstance(counts, str):
        runs = compressed_runs(counts)
        total = int(runs.sum(dtype=np.uint64))  # < 2**64: every run is < 2**32
    else:
        raise MaskError("RLE counts must be a string or a list of integers")
    if total != height * width:
        raise MaskError(f"RLE counts cover {total} pixels, size says {height}x{width} = {height * width}")
    # a list's runs are each <= height * width <= MAX_PIXELS < 2**32
    return np.asarray(counts, dtype=np.uint32) if runs is None else runs


def decode(runs: np.ndarray, height: int, width: int) -> np.ndarray:
    """The (height, width) uint8 0/1 mask of runs that sum to height * width;
    runs alternate 0 and 1, starting with 0, in column-major order."""
    values = np.arange(runs.size, dtype=np.uint8) & 1
    column_major = np.repeat(values, runs.astype(np.int64))
    return np.ascontiguousarray(column_major.reshape(width, height).T)
