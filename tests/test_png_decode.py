"""The fast mask PNG decoder (instrack/png_decode.py) against Pillow.

Every file the fast path accepts must decode to exactly Pillow's array; every
file it declines goes to Pillow, so read_mask's answer (array or error) must be
read_mask_with_pillow's. The PNGs here come from the writers people use
(Pillow, OpenCV, our own write_mask) and from a PNG writer in this file that
puts arbitrary bytes under arbitrary row filters, then from damaging them.
A fixed sample in CI; a random campaign on demand:
INSTRACK_FUZZ_EXAMPLES=20000 python -m pytest tests/test_png_decode.py"""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from fuzz_settings import fuzz
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from instrack.masks import MaskError, read_mask, read_mask_with_pillow, write_mask
from instrack.png_decode import decode_plain_png


def pillow(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade_png(rows: np.ndarray, filters: list[int], colour: int = 0, idat_pieces: int = 1, interlace: int = 0,
                 depth: int = 8, extra: list[bytes] = (), palette: bool = True) -> bytes:
    """A PNG whose row i is stored under filter filters[i] (0 None, 1 Sub, 2 Up):
    the filtering is done here, independently of the decoder."""
    data = bytearray()
    previous = np.zeros(rows.shape[1], np.uint8)
    for row, kind in zip(rows, filters):
        if kind == 0:
            filtered = row
        elif kind == 1:
            filtered = row - np.concatenate(([0], row[:-1])).astype(np.uint8)
        else:
            filtered = row - previous
        data.append(kind)
        data += filtered.astype(np.uint8).tobytes()
        previous = row
    return png_from_stream(rows.shape, bytes(data), colour, idat_pieces, interlace, depth, extra, palette)


def png_from_stream(shape, stream: bytes, colour=0, idat_pieces=1, interlace=0, depth=8, extra=(), palette=True):
    """A PNG around an already filtered byte stream, every CRC right."""
    height, width = shape
    compressed = zlib.compress(stream)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(extra)
    if colour == 3 and palette:
        out += chunk(b"PLTE", bytes(range(48)))
    step = max(1, -(-len(compressed) // idat_pieces))
    for start in range(0, len(compressed), step):
        out += chunk(b"IDAT", compressed[start : start + step])
    return out + chunk(b"IEND", b"")


@st.composite
def images_and_filters(draw):
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 70))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "mask", "sparse"]))
    if kind == "noise":
        rows = rng.integers(0, 256, (height, width)).astype(np.uint8)
    else:
        rows = np.zeros((height, width), np.uint8)
        for _ in range(rng.integers(0, 4)):
            y, x = rng.integers(0, height), rng.integers(0, width)
            rows[y : y + rng.integers(1, 20), x : x + rng.integers(1, 30)] = rng.integers(1, 256)
        if kind == "sparse":
            rows[rng.random((height, width)) < 0.02] = 255
    filters = [int(f) for f in rng.integers(0, 3, height)]
    if draw(st.booleans()):  # long runs of one filter, as writers produce
        filters = [filters[0]] * height
    return rows, filters, draw(st.sampled_from([0, 3])), draw(st.integers(1, 3))


@fuzz(300)
@given(images_and_filters())
def test_any_bytes_under_none_sub_and_up_filters_decode_to_pillows_array(case):
    rows, filters, colour, pieces = case
    data = handmade_png(rows, filters, colour=colour, idat_pieces=pieces)
    decoded = decode_plain_png(data)
    assert decoded is not None
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, pillow(data))
    assert np.array_equal(decoded, rows)


def _writers(mask: np.ndarray, tmp_path) -> dict[str, bytes]:
    out = {}
    for name, options in {"pillow": {}, "pillow-fast": {"compress_level": 1}, "pillow-optimize": {"optimize": True}}.items():
        buffer = io.BytesIO()
        Image.fromarray(mask).save(buffer, format="PNG", **options)
        out[name] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(mask).convert("P").save(buffer, format="PNG")
    out["pillow-palette"] = buffer.getvalue()
    out["opencv"] = cv2.imencode(".png", mask)[1].tobytes()
    write_mask(tmp_path / "ours.png", mask)
    write_mask(tmp_path / "ours-palette.png", mask, palette=True)
    out["write_mask"] = (tmp_path / "ours.png").read_bytes()
    out["write_mask-palette"] = (tmp_path / "ours-palette.png").read_bytes()
    return out


@pytest.mark.parametrize("value", [1, 255])
def test_the_masks_writers_produce_take_the_fast_path(tmp_path, value):
    mask = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(mask, (600, 300), (200, 120), 15, 0, 360, value, -1)
    cv2.circle(mask, (1270, 700), 80, value, -1)  # touches the right and bottom edges
    for name, data in _writers(mask, tmp_path).items():
        decoded = decode_plain_png(data)
        if name == "pillow-optimize" and decoded is None:
            continue  # Pillow's optimizer may pick Average rows: those go to Pillow
        assert decoded is not None, name
        assert np.array_equal(decoded, pillow(data)), name
        assert np.array_equal(read_mask(data), read_mask_with_pillow(data)), name


def test_what_the_fast_path_declines():
    rows = np.arange(12, dtype=np.uint8).reshape(3, 4)
    plain = handmade_png(rows, [1, 2, 0])
    assert decode_plain_png(plain) is not None
    stream = bytes([3]) + rows[0].tobytes() + bytes([0]) + rows[1].tobytes() + bytes([0]) + rows[2].tobytes()
    declined = {
        "interlaced": handmade_png(rows, [0, 0, 0], interlace=1),
        "average filter": png_from_stream(rows.shape, stream),
        "paeth filter": png_from_stream(rows.shape, bytes([4]) + stream[1:]),
        "filter type 5": png_from_stream(rows.shape, bytes([5]) + stream[1:]),
        "16-bit": handmade_png(rows, [0, 0, 0], depth=16),
        "RGB": handmade_png(rows, [0, 0, 0], colour=2),
        "palette without PLTE": handmade_png(rows, [0, 0, 0], colour=3, palette=False),
        "stream one byte short": png_from_stream(rows.shape, stream[:-1]),
        "stream one byte long": png_from_stream(rows.shape, bytes([0]) + stream[1:] + b"\0"),
        "trailing bytes": plain + b"x",
        "an ancillary chunk": handmade_png(rows, [0, 0, 0], extra=[chunk(b"tEXt", b"a\x00b")]),
        "broken CRC": plain[:-5] + bytes([plain[-5] ^ 1]) + plain[-4:],
        "truncated": plain[:-12],
        "not a PNG": b"GIF89a" + plain[6:],
    }
    for name, data in declined.items():
        assert decode_plain_png(data) is None, name
        try:  # and read_mask gives what Pillow gives
            expected = read_mask_with_pillow(data)
        except MaskError as err:
            with pytest.raises(MaskError, match=str(err)[:20].replace("(", r"\(")):
                read_mask(data)
        else:
            assert np.array_equal(read_mask(data), expected), name


@fuzz(300)
@given(images_and_filters(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4))
def test_damaged_streams_with_right_crcs_get_pillows_answer(case, edits):
    """Bytes of the inflated stream changed (filter types included), then
    compressed again with every CRC right: past the chunk checks."""
    rows, filters, colour, _ = case
    data = handmade_png(rows, filters, colour=colour)
    stream = bytearray(zlib.decompress(data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]))
    for position, value in edits:
        stream[position % len(stream)] = value
    damaged = png_from_stream(rows.shape, bytes(stream), colour)
    try:
        expected = read_mask_with_pillow(damaged)
    except MaskError:
        expected = None
    got = decode_plain_png(damaged)
    if got is not None:
        assert expected is not None and np.array_equal(got, expected)
    else:  # declined: read_mask gives Pillow's answer
        if expected is None:
            with pytest.raises(MaskError):
                read_mask(damaged)
        else:
            assert np.array_equal(read_mask(damaged), expected)


def test_files_that_would_be_slow_or_large_here_go_to_pillow():
    """Each run of Up rows is one Python step, and per-row work grows with the
    height: thousands of runs, or a side over 16384, go to Pillow's C loop."""
    from instrack import png_decode

    tall = np.zeros((2 * png_decode.MAX_UP_RUNS + 4, 3), np.uint8)
    tall[::2] = 7
    alternating = handmade_png(tall, [2, 0] * (len(tall) // 2))
    assert decode_plain_png(alternating) is None
    assert np.array_equal(read_mask(alternating), tall)
    few_runs = handmade_png(tall, [2] * len(tall))
    assert np.array_equal(decode_plain_png(few_runs), tall)
    thin = np.zeros((png_decode.MAX_PLAIN_SIDE + 1, 1), np.uint8)
    assert decode_plain_png(handmade_png(thin, [0] * len(thin))) is None
    assert decode_plain_png(handmade_png(thin[:-1], [0] * (len(thin) - 1))) is not None


@fuzz(400)
@given(images_and_filters(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3),
       st.sampled_from(["flip", "truncate", "insert"]))
def test_damaged_files_get_pillows_answer(case, edits, how):
    rows, filters, colour, pieces = case
    data = bytearray(handmade_png(rows, filters, colour=colour, idat_pieces=pieces))
    for position, value in edits:
        position %= len(data)
        if how == "flip":
            data[position] ^= value or 1
        elif how == "truncate":
            del data[position:]
            break
        else:
            data[position:position] = bytes([value])
    data = bytes(data)
    try:
        expected = read_mask_with_pillow(data)
    except MaskError:
        expected = None
    try:
        got = read_mask(data)
    except MaskError:
        got = None
    if expected is None:
        assert got is None
    else:
        assert got is not None and np.array_equal(got, expected)


def test_read_mask_of_a_path_uses_the_same_decoder(tmp_path):
    mask = (np.random.default_rng(0).random((48, 64)) < 0.3).astype(np.uint8) * 255
    write_mask(tmp_path / "m.png", mask)
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
    assert np.array_equal(read_mask(str(tmp_path / "m.png")), mask)
    with pytest.raises(MaskError, match="not a PNG"):
        (tmp_path / "bad.png").write_bytes(b"hello")
        read_mask(tmp_path / "bad.png")


def test_without_zlib_ng_the_standard_zlib_decodes_the_same(monkeypatch):
    from instrack import png_decode

    rows = (np.random.default_rng(3).random((30, 50)) < 0.2).astype(np.uint8) * 200
    data = handmade_png(rows, [1, 2, 0] * 10)
    fast = decode_plain_png(data)
    monkeypatch.setattr(png_decode, "_inflate_module", zlib)
    assert np.array_equal(decode_plain_png(data), fast) and np.array_equal(fast, rows)
