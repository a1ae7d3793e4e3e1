"""Every kind of bad submission of SPEC §2: exit 2, the culprit named, no traceback."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from helpers import make_instrack, moving_square, png_bytes, write_submission


@pytest.fixture
def case(tmp_path):
    videos = {"alpha": moving_square(4), "beta": moving_square(3)}
    root = make_instrack(tmp_path / "gt", videos)
    masks = {(v, str(i)): [(m == 1).astype(np.uint8) for m in labels] for v, labels in videos.items() for i in range(2)}
    pred = write_submission(tmp_path / "pred", masks)
    return root, pred, tmp_path


def run(root, pred, *extra):
    return subprocess.run(
        [sys.executable, "-m", "instrack.cli.main", "evaluate", "--gt", str(root), "--pred", str(pred), *extra],
        capture_output=True, text=True,
    )


def assert_rejected(result, *culprits):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing scored, no table
    for culprit in culprits:
        assert culprit in result.stderr, result.stderr


def test_valid_submission_is_scored(case):
    root, pred, _ = case
    assert run(root, pred).returncode == 0


def test_missing_video(case):
    import shutil

    root, pred, _ = case
    shutil.rmtree(pred / "beta")
    assert_rejected(run(root, pred), "beta/", "missing video")


def test_missing_unit_and_frame(case):
    import shutil

    root, pred, _ = case
    shutil.rmtree(pred / "alpha" / "1")
    (pred / "beta" / "0" / "00002.png").unlink()
    result = run(root, pred)
    # both problems listed, in one run
    assert_rejected(result, "alpha/1/: missing unit", "beta/0/00002.png: missing frame")


def test_corrupt_png(case):
    root, pred, _ = case
    path = pred / "alpha" / "0" / "00001.png"
    path.write_bytes(path.read_bytes()[:40])  # header intact, data cut
    assert_rejected(run(root, pred), "alpha/0/00001.png")


def test_rgb_png(case):
    root, pred, _ = case
    (pred / "alpha" / "0" / "00000.png").write_bytes(png_bytes(np.zeros((60, 80)), mode="RGB"))
    assert_rejected(run(root, pred), "alpha/0/00000.png", "RGB")


def test_wrong_size(case):
    root, pred, _ = case
    (pred / "beta" / "1" / "00000.png").write_bytes(png_bytes(np.zeros((30, 40))))
    assert_rejected(run(root, pred), "beta/1/00000.png", "size 30x40", "60x80")


def test_not_a_png(case):
    root, pred, _ = case
    (pred / "alpha" / "0" / "notes.txt").write_text("hello")
    (pred / "alpha" / "1" / "00000.png").write_bytes(b"GIF89a not really")
    assert_rejected(run(root, pred), "alpha/0/notes.txt: not a PNG", "alpha/1/00000.png: not a PNG")


def _zip_of(pred, archive, extra=()):
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(pred.rglob("*.png")):
            zf.write(path, path.relative_to(pred).as_posix())
        for name, data in extra:
            zf.writestr(name, data)
    return archive


def test_zip_slip(case):
    root, pred, tmp = case
    archive = _zip_of(pred, tmp / "evil.zip", extra=[("../../outside.png", b"x"), ("/etc/passwd.png", b"x")])
    assert_rejected(run(root, archive), "../../outside.png", "outside the submission tree")
    assert not (tmp.parent / "outside.png").exists()


def test_zip_bomb(case):
    root, pred, tmp = case
    archive = tmp / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("alpha/0/00000.png", "w", force_zip64=True) as handle:
            chunk = b"\0" * (1 << 20)
            for _ in range(80):  # 80 MB of zeros -> ~80 kB compressed
                handle.write(chunk)
    result = run(root, archive)
    assert_rejected(result, "alpha/0/00000.png")
    assert "zip bomb" in result.stderr or "uncompressed" in result.stderr


def test_not_a_zip(case):
    root, _, tmp = case
    bogus = tmp / "pred.zip"
    bogus.write_bytes(b"PK\x03\x04 truncated")
    assert_rejected(run(root, bogus), "pred.zip")


def test_malformed_rle_json(case):
    root, _, tmp = case
    entries = [
        {"video": "alpha", "exp_id": "0", "frame": "00000", "segmentation": {"size": [60, 80], "counts": "!!bad"}},
        {"video": "alpha", "exp_id": "0", "frame": "00001", "segmentation": {"size": [60, 80], "counts": [10, 20]}},
        {"video": "alpha", "exp_id": "0", "frame": "00002"},
    ]
    path = tmp / "pred.json"
    path.write_text(json.dumps(entries))
    result = run(root, path)
    assert_rejected(result, "pred.json[0]", "invalid character", "pred.json[1]", "30 pixels", "pred.json[2]")
    path.write_text("{not json")
    assert_rejected(run(root, path), "pred.json", "not valid JSON")


def test_missing_paths_and_bad_flags(case, tmp_path):
    root, pred, _ = case
    assert_rejected(run(root, tmp_path / "nope"), "nope", "does not exist")
    assert_rejected(run(tmp_path / "nogt", pred), "nogt")
    assert_rejected(run(root, pred, "--split", "val"), "meta_expressions.json", "test")
    assert_rejected(run(root, pred, "--workers", "0"), "--workers")


def test_validate_lists_everything(case):
    root, pred, _ = case
    (pred / "alpha" / "0" / "00000.png").unlink()
    (pred / "beta" / "0" / "00000.png").write_bytes(png_bytes(np.zeros((10, 10))))
    result = subprocess.run([sys.executable, "-m", "instrack.cli.main", "validate", "--gt", str(root),
                             "--pred", str(pred)], capture_output=True, text=True)
    assert_rejected(result, "alpha/0/00000.png: missing frame", "beta/0/00000.png: size 10x10", "2 problem(s)")


def test_validate_decode_finds_corrupt_data(case):
    root, pred, _ = case
    path = pred / "beta" / "1" / "00002.png"
    path.write_bytes(path.read_bytes()[:45])
    ok = subprocess.run([sys.executable, "-m", "instrack.cli.main", "validate", "--gt", str(root),
                         "--pred", str(pred), "--decode"], capture_output=True, text=True)
    assert_rejected(ok, "beta/1/00002.png")
