"""Hostile submissions on the command line (issue 14): every one exits with 2,
names its culprit in one line per problem, prints no traceback, and ends in
bounded time and memory (each run under a 60 s timeout and a 3 GiB address
space limit; these are guards against hangs and runaway reads, not timings)."""

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import make_instrack, moving_square, png_bytes, write_submission

pycocotools_mask = pytest.importorskip("pycocotools.mask")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools on numpy 2

MEMORY_LIMIT = 3 << 30
TIME_LIMIT = 60
NOBODY = 65534


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def as_nobody() -> list[str]:
    """A command prefix that runs as `nobody` when the tests run as root (who
    reads mode-000 files), else nothing. util-linux's setpriv drops every
    capability; os.setuid in a preexec_fn cannot exec this interpreter here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a mode-000 file would be readable")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def cli(verb, root, pred, *extra, prefix=()):
    env = dict(os.environ, HOME=tempfile.gettempdir(), MPLCONFIGDIR=tempfile.gettempdir())
    return subprocess.run(
        [*prefix, sys.executable, "-m", "instrack.cli.main", verb, "--gt", str(root), "--pred", str(pred), *extra],
        capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=_limit_memory, env=env,
    )


def assert_refused(result, *culprits):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(("error: ", "warning: ")) for line in lines), result.stderr
    for culprit in culprits:
        assert culprit in result.stderr, result.stderr


def assert_all_refuse(root, pred, *culprits):
    """evaluate, validate and validate --decode all refuse it, naming the culprits."""
    for verb, extra in (("evaluate", ()), ("validate", ()), ("validate", ("--decode",))):
        assert_refused(cli(verb, root, pred, *extra), *culprits)


@pytest.fixture
def case():
    # a world-readable folder, so that a run as `nobody` (when the tests run as
    # root, who can read a mode-000 file) sees it
    base = Path(tempfile.mkdtemp(prefix="instrack-hostile-"))
    os.chmod(base, 0o755)
    videos = {"alpha": moving_square(4), "beta": moving_square(3)}
    root = make_instrack(base / "gt", videos)
    masks = {(v, str(i)): [(m == 1).astype(np.uint8) for m in labels] for v, labels in videos.items() for i in range(2)}
    pred = write_submission(base / "pred", masks)
    yield root, pred, base, masks
    subprocess.run(["rm", "-rf", str(base)], check=False)


# -- RLE JSON ------------------------------------------------------------------------

def _rle_entries(masks, encode=None):
    entries = []
    for (video, exp_id), frames in masks.items():
        for t, mask in enumerate(frames):
            counts = pycocotools_mask.encode(np.asfortranarray(mask))["counts"].decode("ascii")
            entries.append({"video": video, "exp_id": exp_id, "frame": f"{t:05d}",
                            "segmentation": {"size": list(mask.shape), "counts": encode(counts) if encode else counts}})
    return entries


def test_rle_that_pycocotools_decodes_differently_is_refused(tmp_path):
    # The example: 77361 pixels to Python's integers, which is 241 x 321;
    # more than that to pycocotools' 32-bit C decoder, which refuses it.
    videos = {"wide": moving_square(2, height=241, width=321)}
    root = make_instrack(tmp_path / "gt", videos, n_instructions=1)
    entries = _rle_entries({("wide", "0"): [(m == 1).astype(np.uint8) for m in videos["wide"]]})
    entries[1]["segmentation"]["counts"] = ":PRW1:m\\mooooO"
    with pytest.raises(ValueError, match="Invalid RLE"):  # what pycocotools says of it
        pycocotools_mask.decode({"size": [241, 321], "counts": b":PRW1:m\\mooooO"})
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(entries))
    assert_all_refuse(root, pred, "pred.json[1]", "cover 80017 pixels")


def _wrapped(counts: str) -> str | None:
    """The same runs to pycocotools, other runs to unbounded integers: the first
    number (the first run: never delta-coded) padded with zero digits to 7, then
    an 8th digit that C shifts by 35 & 31 = 3 bits, chosen to repeat bits the
    number already has (so the OR changes nothing); Python would add d * 2**35."""
    first_end = next(i for i, c in enumerate(counts) if not (ord(c) - 48) & 0x20)
    digits = [(ord(c) - 48) & 0x1F for c in counts[:first_end + 1]]
    if digits[-1] & 0x10 or len(digits) > 7:
        return None
    value = sum(d << (5 * i) for i, d in enumerate(digits))
    eighth = (value >> 3) & 0x0F
    if not eighth:
        return None
    digits += [0] * (7 - len(digits)) + [eighth]
    number = "".join(chr(48 + d + (32 if i < len(digits) - 1 else 0)) for i, d in enumerate(digits))
    return number + counts[first_end + 1:]


def test_rle_that_only_pycocotools_accepts_is_scored_as_pycocotools_decodes_it(case):
    root, _, base, masks = case
    plain = _rle_entries(masks)
    wrapped = json.loads(json.dumps(plain))
    changed = 0
    for entry in wrapped:
        segmentation = entry["segmentation"]
        counts = _wrapped(segmentation["counts"])
        if counts is None:
            continue
        decoded = [pycocotools_mask.decode({"size": segmentation["size"], "counts": c.encode()})
                   for c in (counts, segmentation["counts"])]
        np.testing.assert_array_equal(*decoded)  # to pycocotools, the same mask
        segmentation["counts"] = counts
        changed += 1
    assert changed >= len(wrapped) // 2, changed
    (base / "plain.json").write_text(json.dumps(plain))
    (base / "wrapped.json").write_text(json.dumps(wrapped))
    assert cli("validate", root, base / "wrapped.json").returncode == 0
    scores = []
    for name in ("plain.json", "wrapped.json"):
        result = cli("evaluate", root, base / name, "--json", "-", "--quiet")
        assert result.returncode == 0, result.stderr
        scores.append(json.loads(result.stdout)["metrics"])
    assert scores[0] == scores[1]


def test_long_counts_string_is_checked_in_bounded_time(case):
    root, _, base, _ = case
    # one number of 400,000 digits: the unbounded-integer check was quadratic (16 s)
    entries = [{"video": "alpha", "exp_id": "0", "frame": "00000",
                "segmentation": {"size": [60, 80], "counts": "o" * 399_999 + "1"}}]
    pred = base / "long.json"
    pred.write_text(json.dumps(entries))
    started = time.monotonic()
    assert_refused(cli("validate", root, pred), "long.json[0]", "RLE counts cover")
    assert time.monotonic() - started < TIME_LIMIT


def test_json_nested_too_deeply(case):
    root, _, base, _ = case
    pred = base / "deep.json"
    pred.write_text("[" * 100_000 + "]" * 100_000)
    assert_all_refuse(root, pred, "deep.json", "nested too deeply")


def test_json_with_a_5000_digit_integer(case):
    root, _, base, _ = case
    pred = base / "digits.json"
    pred.write_text('[{"video": "alpha", "exp_id": "0", "frame": "00000", "segmentation": '
                    '{"size": [' + "9" * 5000 + ', 1], "counts": [1]}}]')
    assert_all_refuse(root, pred, "digits.json", "not valid JSON", "digits")


def test_rle_size_beyond_any_frame(case):
    root, _, base, masks = case
    entries = _rle_entries(masks)
    entries[0]["segmentation"] = {"size": [10**30, 1], "counts": [10**30]}
    entries[1]["segmentation"] = {"size": [2**32 + 1, 1], "counts": [0, 2**32 + 1]}
    pred = base / "huge.json"
    pred.write_text(json.dumps(entries))
    assert_all_refuse(root, pred, "huge.json[0]", "huge.json[1]", "over the limit")


def test_rle_names_must_be_names(case):
    root, _, base, masks = case
    entries = _rle_entries(masks)
    entries[0]["video"] = [[["alpha"]]]
    entries[1]["exp_id"] = "../0"
    pred = base / "names.json"
    pred.write_text(json.dumps(entries))
    assert_all_refuse(root, pred, "names.json[0]: video must be a string", "names.json[1]", "not a file or folder name")


# -- files that are not regular files ---------------------------------------------------

def test_fifo_as_pred(case):
    root, _, base, _ = case
    for name in ("fifo.json", "fifo.zip", "fifo"):
        os.mkfifo(base / name)
        assert_all_refuse(root, base / name, name, "FIFO")


def test_device_as_pred(case, tmp_path):
    root, _, _, _ = case
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")  # the user's own path may be a link; a device is still refused
    assert_all_refuse(root, link, "zero.json", "device")


def test_fifo_as_a_frame(case):
    root, pred, _, _ = case
    frame = pred / "alpha" / "0" / "00001.png"
    frame.unlink()
    os.mkfifo(frame)
    assert_all_refuse(root, pred, "alpha/0/00001.png", "FIFO")


def test_extra_link_to_dev_zero_and_extra_fifo(case):
    root, pred, _, _ = case
    (pred / "alpha" / "0" / "zero.bin").symlink_to("/dev/zero")
    os.mkfifo(pred / "beta" / "pipe")
    os.mkfifo(pred / ".DS_Store")
    assert_all_refuse(root, pred, "alpha/0/zero.bin: a symbolic link", "beta/pipe: a FIFO", ".DS_Store: a FIFO")


def _digest_of(pred: Path, relpaths) -> str:
    """SPEC §6 folder digest computed here from the files: sorted (path, SHA-256)."""
    digest = hashlib.sha256()
    for relpath in sorted(relpaths):
        content = hashlib.sha256((pred / relpath).read_bytes()).hexdigest()
        digest.update(relpath.encode() + b"\0" + content.encode() + b"\n")
    return digest.hexdigest()


def test_unread_files_are_never_opened_and_the_digest_covers_exactly_the_scored_files(case):
    root, pred, _, _ = case
    scored = sorted(p.relative_to(pred).as_posix() for p in pred.rglob("*.png"))
    junk = pred / ".DS_Store"
    junk.write_bytes(b"\0" * 4096)
    os.chmod(junk, 0)  # unreadable; when root, the run is as `nobody`, who cannot read it
    (pred / "alpha" / "notes").mkdir()
    (pred / "alpha" / "notes" / "__MACOSX").write_text("x")
    os.chmod(pred / "alpha" / "notes" / "__MACOSX", 0)
    nobody = as_nobody()
    first = cli("evaluate", root, pred, "--json", "-", "--quiet", prefix=nobody)
    assert first.returncode == 2 and "notes/__MACOSX: not a PNG" in first.stderr  # listed, not read
    (pred / "alpha" / "notes" / "__MACOSX").unlink()
    (pred / "alpha" / "notes").rmdir()
    result = cli("evaluate", root, pred, "--json", "-", "--quiet", prefix=nobody)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["submission_sha256"] == _digest_of(pred, scored)
    os.chmod(junk, 0o644)
    junk.write_bytes(b"other junk")
    again = cli("evaluate", root, pred, "--json", "-", "--quiet")
    assert json.loads(again.stdout)["submission_sha256"] == _digest_of(pred, scored)


def test_unit_folder_linked_out_of_the_tree(case):
    root, pred, _, _ = case
    # linking a unit to the ground truth used to score J = 1.0
    shutil.rmtree(pred / "alpha" / "1")
    (pred / "alpha" / "1").symlink_to(root / "test" / "Annotations" / "alpha", target_is_directory=True)
    assert_all_refuse(root, pred, "alpha/1: a symbolic link")


def test_frame_linked_out_of_the_tree_and_linked_wrapper(case):
    root, pred, base, _ = case
    frame = pred / "beta" / "0" / "00000.png"
    frame.unlink()
    frame.symlink_to(root / "test" / "Annotations" / "beta" / "00000.png")
    assert_all_refuse(root, pred, "beta/0/00000.png: a symbolic link")
    frame.unlink()
    frame.write_bytes(png_bytes(np.zeros((60, 80))))
    wrapper = base / "wrapped"
    wrapper.mkdir()
    (wrapper / "inner").symlink_to(pred, target_is_directory=True)
    assert_all_refuse(root, wrapper, "wrapped/inner: a symbolic link")


def test_unlistable_folder(case):
    root, pred, _, _ = case
    os.chmod(pred / "beta" / "1", 0)
    try:
        result = cli("evaluate", root, pred, prefix=as_nobody())
        assert_refused(result, "beta/1/", "cannot be listed")
    finally:
        os.chmod(pred / "beta" / "1", 0o755)


# -- zip archives --------------------------------------------------------------------

def _zip_of(pred: Path, archive: Path, extra=(), method=zipfile.ZIP_DEFLATED) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of duplicate names: that is the point
        with zipfile.ZipFile(archive, "w", method) as zf:
            for path in sorted(pred.rglob("*.png")):
                zf.write(path, path.relative_to(pred).as_posix())
            for name, data in extra:
                zf.writestr(name, data)
    return archive


def test_zip_with_duplicate_names(case):
    root, pred, base, masks = case
    # the second copy is an empty mask: which one is scored depended on the order
    archive = _zip_of(pred, base / "dup.zip", extra=[("alpha/0/00001.png", png_bytes(np.zeros((60, 80))))])
    assert_all_refuse(root, archive, "dup.zip:alpha/0/00001.png", "appears 2 times")


def test_zip_member_names_with_line_breaks_stay_on_one_line(case):
    root, pred, base, _ = case
    archive = _zip_of(pred, base / "names.zip", extra=[("alpha/0/evil\nerror: fake.txt", b"x"),
                                                        ("alpha/0/\r\u2028.txt", b"x")])
    result = cli("validate", root, archive)
    assert_refused(result, "alpha/0/evil\\nerror: fake.txt: not a PNG", "alpha/0/\\r\\u2028.txt: not a PNG")
    assert len(result.stderr.splitlines()) == 3


def _member_offsets(archive: Path, name: str) -> tuple[int, int, int]:
    """(local header offset, data offset, compressed size) of a member."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(name)
    raw = archive.read_bytes()
    header = info.header_offset
    name_len, extra_len = int.from_bytes(raw[header + 26:header + 28], "little"), int.from_bytes(
        raw[header + 28:header + 30], "little")
    return header, header + 30 + name_len + extra_len, info.compress_size


def test_zip_member_with_corrupt_deflate_data(case):
    root, pred, base, _ = case
    archive = _zip_of(pred, base / "corrupt.zip")
    _, data, size = _member_offsets(archive, "beta/1/00002.png")
    raw = bytearray(archive.read_bytes())
    raw[data:data + size] = b"\xff" * size  # not a deflate stream (invalid block type)
    archive.write_bytes(bytes(raw))
    with pytest.raises(Exception) as raised:  # what Python's zipfile does with it
        with zipfile.ZipFile(archive) as zf:
            zf.read("beta/1/00002.png")
    assert type(raised.value).__name__ == "error"  # zlib.error
    assert_all_refuse(root, archive, "beta/1/00002.png", "damaged zip member")


def test_zip_member_with_compression_method_6(case):
    root, pred, base, _ = case
    archive = _zip_of(pred, base / "implode.zip", method=zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    header, _, _ = _member_offsets(archive, "alpha/1/00003.png")
    raw[header + 8:header + 10] = (6).to_bytes(2, "little")  # local header: method 6 (implode)
    name = b"alpha/1/00003.png"
    central = next(i for i in range(len(raw)) if raw[i:i + 4] == b"PK\x01\x02" and raw[i + 46:i + 46 + len(name)] == name)
    raw[central + 10:central + 12] = (6).to_bytes(2, "little")  # central directory: method 6
    archive.write_bytes(bytes(raw))
    with zipfile.ZipFile(archive) as zf, pytest.raises(NotImplementedError):
        zf.read("alpha/1/00003.png")
    assert_all_refuse(root, archive, "implode.zip:alpha/1/00003.png", "compression method 6")


def test_truncated_zip(case):
    root, pred, base, _ = case
    archive = _zip_of(pred, base / "cut.zip")
    raw = archive.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 30, 100):
        archive.write_bytes(raw[:cut])
        assert_all_refuse(root, archive, "cut.zip")


# -- killed evaluations ------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
def test_killed_evaluation_leaves_no_traceback(tmp_path):
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("this kernel does not list a process's children in /proc")
    videos = {f"v{i}": moving_square(30, height=240, width=320) for i in range(6)}
    root = make_instrack(tmp_path / "gt", videos)
    pred = write_submission(tmp_path / "pred", {(v, str(i)): [(m == 1).astype(np.uint8) for m in labels]
                                                for v, labels in videos.items() for i in range(2)})
    proc = subprocess.Popen([sys.executable, "-m", "instrack.cli.main", "evaluate", "--gt", str(root),
                             "--pred", str(pred), "--workers", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the pool never started"
    os.kill(proc.pid, signal.SIGKILL)  # as a timeout or the OOM killer would
    _, stderr = proc.communicate(timeout=TIME_LIMIT)  # returns once every worker closed stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    def alive(pid):
        try:
            return "zombie" not in Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "workers outlived their parent"


def test_open_inside_checks_what_it_opened(tmp_path):
    """The second line of defence, for a tree changed after the walk: the reader
    itself refuses a FIFO, a device, a link in any component, and '..'."""
    from instrack.evaluation.submission.files import open_inside
    from instrack.masks import MaskError

    (tmp_path / "video" / "unit").mkdir(parents=True)
    (tmp_path / "video" / "unit" / "ok.png").write_bytes(b"data")
    os.mkfifo(tmp_path / "video" / "unit" / "fifo.png")
    (tmp_path / "video" / "unit" / "zero.png").symlink_to("/dev/zero")
    (tmp_path / "video" / "linked").symlink_to(tmp_path / "video" / "unit", target_is_directory=True)
    (tmp_path / "big.png").write_bytes(b"x" * 11)
    with open_inside(tmp_path, "video/unit/ok.png") as handle:
        assert handle.read() == b"data"
    for relpath, reason in (("video/unit/fifo.png", "FIFO"), ("video/unit/zero.png", "symbolic link"),
                            ("video/linked/ok.png", "symbolic link"), ("video/../video/unit/ok.png", "leaves"),
                            ("big.png", "limit 10")):
        with pytest.raises(MaskError, match=reason):
            open_inside(tmp_path, relpath, limit=10).close()
