"""Fuzzing the three submission readers and `validate` / `evaluate` (issue 14).

Hypothesis builds submissions: random bytes under every suffix; zips with
random members (expected, junk, unsafe and duplicate names; valid, wrongly
sized, RGB, truncated and random data; store, deflate, bzip2 and LZMA) that
are then damaged (symlink and encryption bits, unknown compression methods,
flipped bytes, truncation); folders with random files, links (inside, out of
the tree, to /dev/zero, dangling) and FIFOs; random JSON, JSON nested up to
200,000 deep, and RLE lists with random names, sizes and counts (random,
pycocotools-encoded and lengthened strings, lists).

For each, `validate`, `validate --decode` and `evaluate` run through the CLI's
main() in this process, and every outcome must be exit 0 or 2 (an exception
escaping main() is exit 1: a bug), with one "error:" line per problem; no run
may take more than HANG_SECONDS (SIGALRM); `validate --decode` accepts exactly
what `evaluate` scores, and for an RLE file plain `validate` does too; and
what is scored is checked without InsTrack's readers (no silent score): a zip
has unique names and no links (zipfile), a folder only regular files (lstat),
and pycocotools decodes every frame of an RLE file to exactly H x W pixels. A
few examples also run as real processes (2 workers) under a memory limit.

CI runs a fixed, derandomized sample (tests/fuzz_settings.py);
INSTRACK_FUZZ_EXAMPLES=N runs a random campaign of N examples per test."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import make_instrack, moving_square, png_bytes

from fuzz_settings import fuzz

mask_utils = pytest.importorskip("pycocotools.mask")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

HEIGHT, WIDTH = 24, 32
VIDEOS = {"alpha": 3, "beta": 2}
UNITS = ("0", "1")
EXPECTED = [f"{v}/{u}/{t:05d}.png" for v, n in VIDEOS.items() for u in UNITS for t in range(n)]
HANG_SECONDS = 30
MEMORY_LIMIT = 3 << 30

from instrack.cli.main import main  # noqa: E402


@pytest.fixture(scope="module")
def gt():
    base = Path(tempfile.mkdtemp(prefix="instrack-fuzz-gt-"))
    videos = {v: moving_square(n, height=HEIGHT, width=WIDTH, size=8) for v, n in VIDEOS.items()}
    yield make_instrack(base / "gt", videos, n_instructions=len(UNITS))
    subprocess.run(["rm", "-rf", str(base)], check=False)


# -- what the submissions are made of -------------------------------------------------

def _mask(draw) -> np.ndarray:
    kind = draw(st.sampled_from(["square", "empty", "random"]))
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    if kind == "square":
        y, x = draw(st.integers(0, HEIGHT - 4)), draw(st.integers(0, WIDTH - 4))
        mask[y:y + 8, x:x + 8] = 1
    elif kind == "random":
        mask = (np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random((HEIGHT, WIDTH)) > 0.5).astype(np.uint8)
    return mask


@st.composite
def png_data(draw) -> bytes:
    kind = draw(st.sampled_from(["valid", "valid", "valid", "palette", "wrong size", "rgb", "truncated",
                                 "flipped", "random", "empty"]))
    valid = png_bytes(_mask(draw) * draw(st.sampled_from([1, 255])), palette=kind == "palette")
    if kind == "wrong size":
        return png_bytes(np.zeros((draw(st.integers(1, 40)), draw(st.integers(1, 40)))))
    if kind == "rgb":
        return png_bytes(np.zeros((HEIGHT, WIDTH)), mode="RGB")
    if kind == "truncated":
        return valid[:draw(st.integers(0, len(valid) - 1))]
    if kind == "flipped":
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "empty":
        return b""
    return valid


ODD_NAMES = ["__MACOSX/alpha/0/._00000.png", ".DS_Store", "alpha/0/._00000.png", "notes.txt", "alpha/0/00000.PNG",
             "../evil.png", "/abs.png", "alpha\\0\\00000.png", "alpha//0/00000.png", "wrap/alpha/0/00000.png",
             "gamma/0/00000.png", "alpha/0/", "alpha/2/00000.png", "C:/x.png", "alpha/0/00000.png/x"]
member_names = st.one_of(st.sampled_from(EXPECTED), st.sampled_from(ODD_NAMES),
                         st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=20))


@st.composite
def file_sets(draw) -> list[tuple[str, bytes]]:
    """Members of a submission tree: often the complete expected set, then changed."""
    complete = draw(st.sampled_from([True, True, True, False]))
    files = [(name, png_bytes(_mask(draw))) for name in EXPECTED] if complete else []
    if complete and draw(st.integers(0, 3)) == 0:
        # the subtle case: complete and valid but for one copy of a member
        # (same bytes: only the no-silent-score check can tell)
        files.append(files[draw(st.integers(0, len(files) - 1))])
        return files
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 4]))):
        action = draw(st.sampled_from(["add", "drop", "replace", "replace", "duplicate"]))
        if action == "add" or not files:
            files.append((draw(member_names), draw(png_data())))
        elif action == "drop":
            files.pop(draw(st.integers(0, len(files) - 1)))
        elif action == "replace":
            index = draw(st.integers(0, len(files) - 1))
            files[index] = (files[index][0], draw(png_data()))
        else:
            files.append(files[draw(st.integers(0, len(files) - 1))])
    if draw(st.booleans()):  # one enclosing folder, as zipping a folder makes
        files = [(f"{draw(st.sampled_from(['pred', 'my submission']))}/{name}", data) for name, data in files]
    return files


# -- zips --------------------------------------------------------------------------------

METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


@st.composite
def zip_archives(draw) -> bytes:
    buffer = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are wanted
        files = draw(file_sets())
        # mostly plain files; sometimes one member with other mode or flag bits
        special = draw(st.sampled_from([None, None, None, 0, -1])) if files else None
        with zipfile.ZipFile(buffer, "w") as archive:
            for index, (name, data) in enumerate(files):
                info = zipfile.ZipInfo(name)
                info.compress_type = draw(st.sampled_from(METHODS))
                bits = "file"
                if special is not None and index == special % len(files):
                    bits = draw(st.sampled_from(["symlink", "encrypted", "fifo"]))
                if bits == "symlink":
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    data = draw(st.sampled_from([b"/dev/zero", b"../../gt", b"alpha/0/00000.png"]))
                elif bits == "fifo":
                    info.external_attr = (stat.S_IFIFO | 0o644) << 16
                elif bits == "encrypted":
                    info.flag_bits |= 0x1
                else:
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, data)
    raw = bytearray(buffer.getvalue())
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        damage = draw(st.sampled_from(["method", "flip", "flip", "truncate", "size"]))
        headers = [i for i in range(len(raw) - 4) if raw[i:i + 4] in (b"PK\x03\x04", b"PK\x01\x02")]
        if damage == "method" and headers:
            # the central directory's method is the one readers use; the local one mostly agrees
            at = draw(st.sampled_from([i for i in headers if raw[i:i + 4] == b"PK\x01\x02"] or headers))
            offset = 8 if raw[at:at + 4] == b"PK\x03\x04" else 10
            raw[at + offset:at + offset + 2] = draw(st.sampled_from([1, 6, 9, 12, 14, 93, 98, 99, 0xFFFF])).to_bytes(2, "little")
        elif damage == "size" and headers:  # declared sizes that lie
            at = draw(st.sampled_from(headers))
            offset = 22 if raw[at:at + 4] == b"PK\x03\x04" else 24
            raw[at + offset:at + offset + 4] = draw(st.integers(0, 2**32 - 1)).to_bytes(4, "little")
        elif damage == "flip" and raw:
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        elif damage == "truncate" and raw:
            del raw[draw(st.integers(0, len(raw) - 1)):]
    return bytes(raw)


# -- folders -------------------------------------------------------------------------------

@st.composite
def folder_trees(draw):
    """A function that builds a random submission folder at a path."""
    files = draw(file_sets())
    if draw(st.integers(0, 3)) == 0:  # complete, plus one link that changes no mask or scores J = 1
        return _linked_tree(draw)
    specials = draw(st.lists(st.tuples(
        st.sampled_from(["link to a frame", "link out to the ground truth", "link to /dev/zero", "dangling link",
                         "fifo", "folder in place of a frame", "link to a folder"]),
        st.sampled_from(EXPECTED + ["extra", ".DS_Store", "alpha/1"])), max_size=2)) if draw(st.booleans()) else []

    def build(pred: Path, gt_root: Path) -> None:
        pred.mkdir()
        for name, data in files:
            parts = name.split("/")
            if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
                continue  # a file system cannot hold these names (zips can)
            path = pred.joinpath(*parts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            except OSError:  # a name clash (file vs folder) or too long: skip it
                continue
        for kind, name in specials:
            path = pred / name
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.is_symlink() or path.is_file():
                    path.unlink()
                elif path.is_dir():
                    continue
                if kind == "link to a frame":
                    path.symlink_to(pred / EXPECTED[0])
                elif kind == "link out to the ground truth":
                    path.symlink_to(gt_root / "test" / "Annotations" / "alpha" / "00000.png")
                elif kind == "link to /dev/zero":
                    path.symlink_to("/dev/zero")
                elif kind == "dangling link":
                    path.symlink_to(pred / "nowhere")
                elif kind == "fifo":
                    os.mkfifo(path)
                elif kind == "folder in place of a frame":
                    path.mkdir()
                else:
                    path.symlink_to(gt_root / "test" / "Annotations" / "alpha", target_is_directory=True)
            except OSError:
                continue

    return build


def _linked_tree(draw):
    """A complete, valid folder but for one link: to one of its own frames, or
    a unit folder linked to the ground truth (which scores J = 1)."""
    masks = {name: png_bytes(_mask(draw)) for name in EXPECTED}
    kind = draw(st.sampled_from(["frame", "unit"]))
    target = draw(st.sampled_from(EXPECTED[1:]))

    def build(pred: Path, gt_root: Path) -> None:
        for name, data in masks.items():
            (pred / name).parent.mkdir(parents=True, exist_ok=True)
            (pred / name).write_bytes(data)
        if kind == "frame":
            (pred / target).unlink()
            (pred / target).symlink_to(pred / EXPECTED[0])
        else:
            video, unit, _ = target.split("/")
            shutil.rmtree(pred / video / unit)
            (pred / video / unit).symlink_to(gt_root / "test" / "Annotations" / video, target_is_directory=True)

    return build


# -- JSON ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**40), 10**40) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
counts_strings = st.text(alphabet="".join(chr(c) for c in range(48, 112)), max_size=30)


def _encoded(draw) -> str:
    return mask_utils.encode(np.asfortranarray(_mask(draw)))["counts"].decode("ascii")


@st.composite
def rle_entries(draw) -> list:
    entries = []
    if draw(st.sampled_from([True, True, True, False])):
        for name in EXPECTED:
            video, exp_id, frame = name[:-4].split("/")
            entries.append({"video": video, "exp_id": exp_id, "frame": frame,
                            "segmentation": {"size": [HEIGHT, WIDTH], "counts": _encoded(draw)}})
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        action = draw(st.sampled_from(["counts", "counts", "size", "name", "field", "add", "drop", "duplicate"]))
        if action in ("add",) or not entries:
            entries.append(draw(json_values))
            continue
        index = draw(st.integers(0, len(entries) - 1))
        entry = entries[index]
        if not isinstance(entry, dict) or not isinstance(entry.get("segmentation"), dict):
            continue
        if action == "counts":
            entry["segmentation"]["counts"] = draw(st.one_of(
                counts_strings, st.lists(st.integers(-5, HEIGHT * WIDTH), max_size=6),
                st.just([HEIGHT * WIDTH]), st.just([2**32, HEIGHT * WIDTH - 2**32]), json_values))
        elif action == "size":
            entry["segmentation"]["size"] = draw(st.one_of(
                st.lists(st.integers(-2, 10**30), max_size=3), st.just([10**30, 1]), json_values))
        elif action == "name":
            entry[draw(st.sampled_from(["video", "exp_id", "frame"]))] = draw(json_values)
        elif action == "field":
            entry.pop(draw(st.sampled_from(["video", "exp_id", "frame", "segmentation"])), None)
        elif action == "drop":
            entries.pop(index)
        else:
            entries.append(json.loads(json.dumps(entry)))
    return entries


@st.composite
def json_texts(draw) -> bytes:
    kind = draw(st.sampled_from(["entries", "entries", "entries", "annotations", "value", "deep", "digits"]))
    if kind == "deep":
        depth = draw(st.sampled_from([10, 900, 1000, 5000, 200_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return (opener * depth + draw(st.sampled_from(["1", "[]", ""])) + closer * depth).encode()
    if kind == "digits":
        return ('[{"video": "alpha", "exp_id": "0", "frame": "00000", "segmentation": {"size": [1'
                + "0" * draw(st.integers(4000, 6000)) + ', 1], "counts": [1]}}]').encode()
    if kind == "value":
        return json.dumps(draw(json_values)).encode()
    entries = draw(rle_entries())
    return json.dumps({"annotations": entries} if kind == "annotations" else entries).encode()


# -- running and judging ------------------------------------------------------------------

class Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise Hang(f"a run took more than {HANG_SECONDS} s")


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)  # anything escaping main() would be exit 1, a traceback: the test fails
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def judge(gt_root: Path, pred: Path, rle: bool = False) -> dict[str, int]:
    common = ["--gt", str(gt_root), "--pred", str(pred)]
    codes = {}
    for name, argv in (("validate", ["validate", *common]),
                       ("decode", ["validate", *common, "--decode", "--workers", "1"]),
                       ("evaluate", ["evaluate", *common, "--workers", "1", "--quiet", "--json", "-"])):
        code, out, err = run_main(argv)
        assert code in (0, 2), (name, code, err)
        assert "Traceback" not in err
        if code == 2:
            lines = err.splitlines()
            assert lines and all(line.startswith(("error: ", "warning: ")) for line in lines), err
            assert out == ""
        elif name == "evaluate":
            metrics = json.loads(out)["metrics"]
            assert all(np.isfinite(v) for v in metrics.values()), metrics
        codes[name] = code
    assert (codes["decode"] == 0) == (codes["evaluate"] == 0), codes
    if rle:
        assert (codes["validate"] == 0) == (codes["evaluate"] == 0), codes
    return codes


# -- what a scored submission must be (judged without InsTrack's readers) -------------------

def assert_zip_scorable(pred: Path) -> None:
    """A scored zip has unique names and no links (Python's zipfile lists them)."""
    with zipfile.ZipFile(pred) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert len(names) == len(set(names)), "scored a zip with duplicate names"
    assert not any(stat.S_ISLNK(i.external_attr >> 16) for i in infos), "scored a zip holding a link"


def assert_folder_scorable(pred: Path) -> None:
    """A scored folder holds only regular files and folders (os.walk, lstat)."""
    for directory, folders, files in os.walk(pred):
        for name in folders + files:
            mode = os.lstat(os.path.join(directory, name)).st_mode
            assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), f"scored a folder holding {name} ({mode:o})"


def assert_rle_scorable(pred: Path) -> None:
    """In a scored RLE file, pycocotools decodes every expected frame to exactly
    H x W pixels: decoding into H x W succeeds, into H x W - 1 fails."""
    data = json.loads(pred.read_text())
    entries = data["annotations"] if isinstance(data, dict) else data
    by_name = {f"{e['video']}/{e['exp_id']}/{e['frame']}.png": e["segmentation"] for e in entries}
    assert len(by_name) == len(entries), "scored an RLE file with duplicate entries"
    for name in EXPECTED:
        segmentation = by_name[name]
        counts = segmentation["counts"]
        if isinstance(counts, list):
            counts = mask_utils.frPyObjects(segmentation, HEIGHT, WIDTH)["counts"]
        counts = counts.encode() if isinstance(counts, str) else counts
        assert segmentation["size"] == [HEIGHT, WIDTH]
        mask_utils.decode({"size": [HEIGHT, WIDTH], "counts": counts})
        with pytest.raises(ValueError):
            mask_utils.decode({"size": [1, HEIGHT * WIDTH - 1], "counts": counts})


@fuzz(30)
@given(st.binary(max_size=2000), st.sampled_from([".json", ".zip", ".png", ""]))
def test_random_bytes(gt, data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / f"pred{suffix}"
        pred.write_bytes(data)
        judge(gt, pred)


@fuzz(60)
@given(zip_archives())
def test_random_zips(gt, raw):
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / "pred.zip"
        pred.write_bytes(raw)
        if judge(gt, pred)["evaluate"] == 0:
            assert_zip_scorable(pred)


@fuzz(40)
@given(folder_trees())
def test_random_folders(gt, build):
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / "pred"
        build(pred, gt)
        if judge(gt, pred)["evaluate"] == 0:
            assert_folder_scorable(pred)


@fuzz(60)
@given(json_texts())
def test_random_json(gt, text):
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / "pred.json"
        pred.write_bytes(text)
        if judge(gt, pred, rle=True)["evaluate"] == 0:
            assert_rle_scorable(pred)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@fuzz(6, campaign_share=0.05)
@given(st.one_of(zip_archives().map(lambda raw: ("pred.zip", raw)), json_texts().map(lambda t: ("pred.json", t))))
def test_through_the_command_line(gt, named):
    """Real processes, 2 workers, under a 3 GiB address-space limit and a timeout."""
    name, data = named
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / name
        pred.write_bytes(data)
        result = subprocess.run(
            [sys.executable, "-m", "instrack.cli.main", "evaluate", "--gt", str(gt), "--pred", str(pred),
             "--workers", "2", "--quiet"],
            capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory,
        )
        assert result.returncode in (0, 2), result.stderr
        assert "Traceback" not in result.stderr
