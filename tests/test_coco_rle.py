"""The RLE decoder against pycocotools itself (the oracle), never against its own values.

pycocotools' C decoder keeps runs in 32 bits, so a counts string can mean one
thing to Python's unbounded integers and another to pycocotools. For random and
structured counts strings: whenever InsTrack accepts a string for a size,
pycocotools decodes it, with exactly that many pixels, to the same mask; and
whenever pycocotools decodes it to exactly that many pixels, InsTrack accepts it.
"Exactly N pixels" is asked of pycocotools alone: decoding into N pixels
succeeds and into N - 1 fails ("Invalid RLE mask representation").

CI runs a fixed sample (tests/fuzz_settings.py); INSTRACK_FUZZ_EXAMPLES=20000
runs a longer random campaign."""

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from instrack import coco_rle
from instrack.masks import MaskError

from fuzz_settings import fuzz

mask_utils = pytest.importorskip("pycocotools.mask")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ALPHABET = "".join(chr(c) for c in range(48, 48 + 64))  # what pycocotools' encoder writes
SMALL = 100_000  # pycocotools is only asked about frames this small (it mallocs the frame)


def coco_decodes(counts: bytes, n_pixels: int) -> np.ndarray | None:
    """pycocotools' mask if the string covers exactly n_pixels, else None."""
    try:
        mask = mask_utils.decode({"size": [1, n_pixels], "counts": counts})
    except ValueError:
        return None  # more than n_pixels
    if n_pixels > 0:
        try:
            mask_utils.decode({"size": [1, n_pixels - 1], "counts": counts})
            return None  # fewer than n_pixels: the rest of the mask was never written
        except ValueError:
            pass
    return mask


def ours(counts: str, height: int, width: int) -> np.ndarray | None:
    try:
        runs = coco_rle.runs_of(counts, height, width)
    except MaskError:
        return None
    return coco_rle.decode(runs, height, width)


def coco_total(counts: bytes) -> int | None:
    """How many pixels pycocotools' runs cover, if at most SMALL: the smallest
    N for which decoding into N pixels succeeds (found by bisection)."""
    try:
        mask_utils.decode({"size": [1, SMALL], "counts": counts})
    except ValueError:
        return None
    low, high = 0, SMALL
    while low < high:
        middle = (low + high) // 2
        try:
            mask_utils.decode({"size": [1, middle], "counts": counts})
            high = middle
        except ValueError:
            low = middle + 1
    return low


# digits: mostly 0 (so that long numbers can still cover few pixels), or 31 (-1 patterns)
DIGITS = st.one_of(st.just(0), st.integers(0, 31), st.just(31), st.just(16))


def numbers(max_digits: int = 9):
    """One well-formed number: 1..max_digits 5-bit digits, continuation bits set."""
    return st.lists(DIGITS, min_size=1, max_size=max_digits).map(
        lambda digits: "".join(chr(48 + d + (32 if i < len(digits) - 1 else 0)) for i, d in enumerate(digits))
    )


well_formed = st.lists(numbers(), min_size=0, max_size=12).map("".join)
any_string = st.text(alphabet=ALPHABET, max_size=40)


def check_against_coco(counts: str, height: int, width: int) -> None:
    mine = ours(counts, height, width)
    if counts and (ord(counts[-1]) - 48) & 0x20:
        # pycocotools would read past the end of the string: we refuse, it is not asked
        assert mine is None
        return
    theirs = coco_decodes(counts.encode("ascii"), height * width)
    if theirs is None:
        assert mine is None, f"accepted {counts!r} for {height}x{width}; pycocotools does not cover it exactly"
        return
    assert mine is not None, f"refused {counts!r} for {height}x{width}; pycocotools decodes it exactly"
    # pycocotools' mask is column-major: the [1, H*W] decode is the flattened (W, H) transpose
    np.testing.assert_array_equal(mine, theirs.reshape(width, height).T)
    np.testing.assert_array_equal(
        mine, mask_utils.decode({"size": [height, width], "counts": counts.encode("ascii")})
    )


def pick_frame(counts: str, fallback: tuple[int, int], exact: bool) -> tuple[int, int]:
    """With `exact`, a 1 x N frame where N is what pycocotools' runs cover (when
    small), so that the interesting case, an exact cover, is asked; else the fallback."""
    if exact and counts and not (ord(counts[-1]) - 48) & 0x20:
        total = coco_total(counts.encode("ascii"))
        if total:
            return 1, total
    return fallback


@fuzz(300)
@given(well_formed, st.integers(1, 40), st.integers(1, 40), st.booleans())
@example(":PRW1:m\\mooooO", 241, 321, False)  # the issue's example: wraps in C, not in Python
@example("Q" + "P" * 6 + "1", 1, 9, False)  # a 7-digit number: the 7th digit lands at bit 3
def test_structured_counts_match_pycocotools(counts, height, width, exact):
    check_against_coco(counts, *pick_frame(counts, (height, width), exact))


@fuzz(300)
@given(any_string, st.integers(1, 40), st.integers(1, 40), st.booleans())
def test_random_counts_match_pycocotools(counts, height, width, exact):
    check_against_coco(counts, *pick_frame(counts, (height, width), exact))


def split_numbers(counts: str) -> list[str]:
    """The numbers of a counts string: a digit without the 0x20 bit ends one."""
    numbers, current = [], ""
    for char in counts:
        current += char
        if not (ord(char) - 48) & 0x20:
            numbers.append(current)
            current = ""
    return numbers + ([current] if current else [])


@st.composite
def lengthened_encodings(draw):
    """pycocotools' own encoding of a random mask, with some numbers lengthened
    to 7 or more digits: padded with digits that change nothing (0 after a
    non-negative number, 31 after a negative one), then a few more whose bits,
    in C, wrap onto the low bits (the 7th digit lands at bit 3). Such strings
    often still cover few pixels, so the wrap is tested where it matters."""
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    pixels = draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width))
    mask = np.array(pixels, dtype=np.uint8).reshape(height, width)
    numbers = split_numbers(mask_utils.encode(np.asfortranarray(mask))["counts"].decode("ascii"))
    for index in draw(st.lists(st.integers(0, len(numbers) - 1), min_size=1, max_size=3)):
        digits = [(ord(c) - 48) & 0x1F for c in numbers[index]]
        negative = bool(digits[-1] & 0x10)
        digits += [31 if negative else 0] * max(0, draw(st.integers(6, 9)) - len(digits))
        digits += draw(st.lists(st.sampled_from([0, 1, 2, 4, 8, 16, 31]), min_size=1, max_size=6))
        if draw(st.integers(0, 9)):  # mostly keep the sign the number had
            digits[-1] = digits[-1] | 0x10 if negative else digits[-1] & 0x0F
        numbers[index] = "".join(chr(48 + d + (32 if i < len(digits) - 1 else 0)) for i, d in enumerate(digits))
    return "".join(numbers), height, width


@fuzz(300)
@given(lengthened_encodings())
def test_lengthened_numbers_match_pycocotools(case):
    counts, height, width = case
    check_against_coco(counts, height, width)
    check_against_coco(counts, *pick_frame(counts, (height, width), True))


@fuzz(100)
@given(st.integers(1, 30), st.integers(1, 30), st.data())
def test_pycocotools_encodings_decode_identically(height, width, data):
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width)), dtype=np.uint8
    ).reshape(height, width)
    encoded = mask_utils.encode(np.asfortranarray(mask))
    np.testing.assert_array_equal(ours(encoded["counts"].decode("ascii"), height, width), mask)


@fuzz(100)
@given(st.lists(st.integers(0, 50), max_size=12), st.integers(1, 30), st.integers(1, 30), st.booleans())
def test_uncompressed_counts_match_pycocotools(runs, height, width, exact):
    total = sum(runs)
    assume(total > 0)
    if exact:
        height, width = 1, total
    mine = ours(runs, height, width)
    if total != height * width:
        assert mine is None
        return
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": runs}, height, width)
    np.testing.assert_array_equal(mine, mask_utils.decode(rle))


def test_wrapping_example_of_the_issue_is_refused():
    # validate used to accept it (Python ints: 77361 pixels), pycocotools refused it
    with pytest.raises(MaskError, match="cover 80017 pixels"):
        coco_rle.runs_of(":PRW1:m\\mooooO", 241, 321)


def test_size_limits():
    for size in ([10**30, 1], [0, 5], [True, 5], [5], "5x5", [2.0, 3]):
        with pytest.raises(MaskError):
            coco_rle.check_size(size)
    assert coco_rle.check_size([480, 854]) == (480, 854)
