"""instrack import-release on archives built here in each recognised layout
(Ref-YouTube-VOS, MeViS mask_dict RLE, one folder per target), packed as a
folder, a zip and a tar; damaged and hostile archives exit 2 naming every
problem and write nothing; the imported roots pass check-data and evaluate;
manifest from-release / diff."""

from __future__ import annotations

import io
import json
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from instrack.cli.main import main
from instrack.dataset.layout import read_split
from instrack.dataset.release.mask_dict import decode_rle, encode_rle
from instrack.errors import DataError
from instrack.masks import davis_palette, read_mask

H, W, N = 24, 32, 4
VIPSEG_NAME = "12_abcdefgh-jk"  # VIPSeg style: <index>_<11-character YouTube id>
# release split -> {video: [target ids]}; "pigs" has two targets -> two InsTrack videos
VIDEOS = {"train": {VIPSEG_NAME: [1]}, "valid": {"pigs": [1, 2], "judo": [2]}}


def _jpeg(i: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _labels(target_count: int, t: int) -> np.ndarray:
    ids = np.zeros((H, W), np.uint8)
    for k in range(1, target_count + 1):
        ids[2 + 6 * k : 6 + 6 * k, 3 + t : 10 + t] = k
    ids[0, :] = 255  # void
    return ids


def _palette_png(ids: np.ndarray) -> bytes:
    image = Image.fromarray(ids, mode="L").convert("P")
    image.putpalette(davis_palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _expressions(video: str, key_name: str, key) -> dict:
    # No "kind": the release does not label seeds (the first one is the seed).
    return {f"{video}-{key}-{j}": {"exp": f"instruction {j} for {video} {key}", key_name: key} for j in range(6)}


def build_release(base: Path, layout: str) -> Path:
    root = base / f"release-{layout}"
    for split, videos in VIDEOS.items():
        split_dir = root / split
        meta = {"videos": {}}
        mask_dict = {}
        for video, targets in videos.items():
            frames = [f"{5 * t:05d}" for t in range(N)]
            expressions = {}
            for target in targets:
                if layout == "mevis":
                    anno = f"{video}-{target}"
                    mask_dict[anno] = [encode_rle(_labels(max(targets), t) == target) for t in range(N)]
                    mask_dict[anno][1] = None  # absent in one frame
                    expressions.update(_expressions(video, "anno_id", [anno]))
                elif layout == "per-target":
                    expressions.update(_expressions(video, "obj_id", target))
                else:  # as Ref-YouTube-VOS writes it: one id, as a string
                    expressions.update(_expressions(video, "obj_id", str(target)))
            meta["videos"][video] = {"frames": frames, "expressions": expressions}
            for t, frame in enumerate(frames):
                (split_dir / "JPEGImages" / video).mkdir(parents=True, exist_ok=True)
                (split_dir / "JPEGImages" / video / f"{frame}.jpg").write_bytes(_jpeg(t))
                ids = _labels(max(targets), t)
                if layout == "ref-youtube-vos":
                    (split_dir / "Annotations" / video).mkdir(parents=True, exist_ok=True)
                    (split_dir / "Annotations" / video / f"{frame}.png").write_bytes(_palette_png(ids))
                elif layout == "per-target":
                    for target in targets:
                        folder = split_dir / "Annotations" / video / str(target)
                        folder.mkdir(parents=True, exist_ok=True)
                        Image.fromarray(((ids == target) * 255).astype(np.uint8)).save(folder / f"{frame}.png")
        if layout == "ref-youtube-vos":  # the original's meta_expressions/<split>/ place
            meta_path = root / "meta_expressions" / split / "meta_expressions.json"
        else:
            meta_path = split_dir / "meta_expressions.json"
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(meta))
        if layout == "mevis":
            (split_dir / "mask_dict.json").write_text(json.dumps(mask_dict))
    return root


def pack(folder: Path, packing: str) -> Path:
    if packing == "folder":
        return folder
    if packing == "zip":
        path = folder.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, Path("InsTrack") / file.relative_to(folder))
        return path
    path = folder.with_suffix(".tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        archive.add(folder, arcname="InsTrack")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


LAYOUTS = ["ref-youtube-vos", "mevis", "per-target"]


@pytest.mark.parametrize("packing", ["folder", "zip", "tar"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_imports_into_a_root_check_data_accepts(tmp_path, capsys, layout, packing):
    release = pack(build_release(tmp_path, layout), packing)
    out = tmp_path / "root"
    code, stdout, err = run(capsys, "import-release", str(release), "--out", str(out), "--quiet")
    assert code == 0, err
    assert "valid" in stdout and "-> split test" in stdout and layout.split("-")[0] in stdout
    assert "videos: 4 (test 3, train 1); paper: 183 (train 143, test 40)" in stdout
    assert "instructions per video: 6 in 4 video(s)" in stdout
    assert "4 labelled by position" in stdout
    assert "davis2017 3, vipseg 1" in stdout
    assert run(capsys, "check-data", str(out))[0] == 0
    test = read_split(out, "test")
    second = "pigs__pigs-2" if layout == "mevis" else "pigs__2"  # named by the anno_id, or the object id
    assert sorted(test.videos) == ["judo", second.replace("2", "1"), second]
    pig2 = test.videos[second]
    assert pig2.extra["source_sequence"] == "pigs" and pig2.source == "davis2017"
    assert [i.kind for i in pig2.instructions] == ["seed"] + ["rephrase"] * 5
    # The target mask is the object's pixels, exactly.
    for t, frame in enumerate(pig2.frames):
        mask = read_mask(out / "test" / "Annotations" / second / f"{frame}.png")
        expected = _labels(2, t) == 2
        if layout == "mevis" and t == 1:
            expected = np.zeros_like(expected)
        assert np.array_equal(mask == 1, expected)
        if layout == "ref-youtube-vos":  # void carried over from the palette masks
            assert (mask[0] == 255).all()
    assert not list(tmp_path.glob(".root.import-*"))  # the staging folder is gone


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_imported_root_is_scored_by_evaluate(tmp_path, capsys, layout):
    out = tmp_path / "root"
    assert run(capsys, "import-release", str(build_release(tmp_path, layout)), "--out", str(out), "--quiet")[0] == 0
    pred = tmp_path / "pred"
    assert run(capsys, "track", "--tracker", "oracle", "--data", str(out), "--split", "test", "--out", str(pred),
               "--no-progress")[0] == 0
    code, _, err = run(capsys, "evaluate", "--gt", str(out), "--split", "test", "--pred", str(pred), "--json",
                       str(tmp_path / "r.json"))
    assert code == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["metrics"]["J&F-Mean"] == 1.0


def test_manifest_from_release_and_diff(tmp_path, capsys):
    out = tmp_path / "root"
    assert run(capsys, "import-release", str(build_release(tmp_path, "ref-youtube-vos")), "--out", str(out),
               "--quiet")[0] == 0
    manifest = tmp_path / "m.json"
    code, _, err = run(capsys, "manifest", "from-release", str(out), "--out", str(manifest))
    assert code == 0, err
    assert f"{VIPSEG_NAME}: the release's target {{'obj_id': [1]}} cannot be read as a vipseg id" in err
    entries = {e["name"]: e for e in json.loads(manifest.read_text())["videos"]}
    assert entries["pigs__2"]["target"] == {"obj_id": 2} and entries["pigs__2"]["source_sequence"] == "pigs"
    assert entries["pigs__2"]["frames"] == {"start": 0, "stop": 16, "step": 5}
    assert entries[VIPSEG_NAME]["target"] == {"rule": "top-candidate"}
    code, stdout, _ = run(capsys, "manifest", "diff", str(manifest), str(manifest))
    assert code == 0 and stdout == ""
    code, stdout, _ = run(capsys, "manifest", "diff", "bundled", str(manifest))
    assert code == 1
    assert "~ davis2017 pigs: target {'obj_id': 2} split test frames" in stdout  # bundled: pigs object 2
    assert "+ davis2017 pigs {'obj_id': 1} test" not in stdout
    assert f"+ vipseg {VIPSEG_NAME}" in stdout and "- davis2017 gold-fish {'obj_id': 3} test" in stdout


# -- damaged releases -------------------------------------------------------------------


def test_a_damaged_release_names_every_problem_and_writes_nothing(tmp_path, capsys):
    release = build_release(tmp_path, "ref-youtube-vos")
    (release / "valid" / "Annotations" / "judo" / "00010.png").unlink()  # a missing mask
    meta_path = release / "meta_expressions" / "valid" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    del next(iter(meta["videos"]["pigs"]["expressions"].values()))["obj_id"]  # no target
    meta["videos"]["ghost"] = {"frames": ["00000"], "expressions": {"0": {"exp": "x", "obj_id": [1]}}}
    meta_path.write_text(json.dumps(meta))
    Image.new("L", (5, 5)).save(release / "train" / "Annotations" / VIPSEG_NAME / "00005.png")  # wrong size
    out = tmp_path / "root"
    code, _, err = run(capsys, "import-release", str(release), "--out", str(out), "--quiet")
    assert code == 2 and "Traceback" not in err
    assert f"{release}/valid/Annotations/judo/00010.png: missing mask" in err
    assert "video 'pigs', expression 'pigs-1-0': needs an \"obj_id\"" in err
    assert f"{release}/valid/JPEGImages/ghost: missing" in err
    assert f"{VIPSEG_NAME} frame 00005: mask is 5x5 but its frame is 32x24" in err
    assert "5 problem(s); nothing was written" in err  # the 4 above + "nothing in it could be imported"
    assert not out.exists() and not list(tmp_path.glob(".root.import-*"))


def test_partial_writes_what_mapped_and_still_names_the_rest(tmp_path, capsys):
    release = build_release(tmp_path, "per-target")
    meta_path = release / "valid" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    meta["videos"]["ghost"] = {"frames": ["00000"], "expressions": {"0": {"exp": "x", "obj_id": 1}}}
    meta_path.write_text(json.dumps(meta))
    out = tmp_path / "root"
    code, _, err = run(capsys, "import-release", str(release), "--out", str(out), "--quiet")
    assert code == 2 and "ghost: missing" in err and "1 problem(s); nothing was written" in err and not out.exists()
    code, _, err = run(capsys, "import-release", str(release), "--out", str(out), "--quiet", "--partial")
    assert code == 2 and "ghost: missing" in err and "the importable part was written" in err
    assert sorted(read_split(out, "test").videos) == ["judo", "pigs__1", "pigs__2"]


def test_a_held_out_split_without_masks_is_named(tmp_path, capsys):
    release = build_release(tmp_path, "per-target")
    shutil.rmtree(release / "valid" / "Annotations" / "judo")
    code, _, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "root"), "--quiet")
    assert code == 2 and f"{release}/valid/Annotations/judo: missing (no ground-truth masks" in err
    # Leaving that split out imports the rest.
    code, stdout, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "root"), "--quiet",
                            "--split", "train")
    assert code == 0, err
    assert "videos: 1 (train 1)" in stdout
    code, _, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "r2"), "--split", "dev")
    assert code == 2 and "no split 'dev' (splits: train, valid)" in err


def test_instruction_counts_that_are_not_1_plus_5_fail_check_data(tmp_path, capsys):
    release = build_release(tmp_path, "mevis")
    meta_path = release / "train" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    expressions = meta["videos"][VIPSEG_NAME]["expressions"]
    expressions.pop(next(iter(expressions)))
    meta_path.write_text(json.dumps(meta))
    code, stdout, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "root"), "--quiet")
    assert code == 2 and "5 in 1 video(s)" in stdout
    assert "check-data:" in err and "0 seed(s) and 5 rephrasing(s)" not in err
    assert "1 seed(s) and 4 rephrasing(s); expected 1 and 5" in err


def test_an_existing_root_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "root"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    release = build_release(tmp_path, "per-target")
    code, _, err = run(capsys, "import-release", str(release), "--out", str(out))
    assert code == 2 and "exists and is not empty (give --force" in err and (out / "keep.txt").exists()
    assert run(capsys, "import-release", str(release), "--out", str(out), "--force", "--quiet")[0] == 0
    assert not (out / "keep.txt").exists() and (out / "test" / "meta_expressions.json").is_file()


# -- hostile archives -------------------------------------------------------------------


def test_zip_slip_links_and_bombs_are_refused_each_named(tmp_path, capsys):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../escape.txt", "x")
        archive.writestr("/etc/abs.txt", "x")
        link = zipfile.ZipInfo("train/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("bomb.bin", b"\0" * (3 << 20))  # 3 MB of zeros: ratio > 1000
    out = tmp_path / "root"
    code, _, err = run(capsys, "import-release", str(path), "--out", str(out))
    assert code == 2 and "Traceback" not in err
    for name, reason in (("../escape.txt", "'..'"), ("/etc/abs.txt", "absolute path"), ("train/link", "symbolic link"),
                         ("bomb.bin", "zip bomb")):
        assert f"{path}:{name}: " in err and reason in err
    assert "4 problem(s); nothing was written" in err
    assert not out.exists() and not (tmp_path / "escape.txt").exists()


def test_tar_links_devices_and_escapes_are_refused(tmp_path, capsys):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as archive:
        for name, kind in (("../up.txt", tarfile.REGTYPE), ("a/sym", tarfile.SYMTYPE), ("a/hard", tarfile.LNKTYPE),
                           ("a/fifo", tarfile.FIFOTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    code, _, err = run(capsys, "import-release", str(path), "--out", str(tmp_path / "root"))
    assert code == 2
    assert f"{path}:../up.txt: path contains '..'" in err
    assert f"{path}:a/sym: link to '/etc/passwd'" in err and f"{path}:a/hard: link to" in err
    assert f"{path}:a/fifo: device, pipe or other special file" in err
    assert not (tmp_path / "up.txt").exists()


def test_a_symlink_in_a_release_folder_is_refused(tmp_path, capsys):
    release = build_release(tmp_path, "per-target")
    (release / "train" / "JPEGImages" / "outside").symlink_to("/etc")
    code, _, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "root"))
    assert code == 2 and f"{release}/train/JPEGImages/outside: symbolic link" in err


def test_not_an_archive_is_one_line(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    code, _, err = run(capsys, "import-release", str(path), "--out", str(tmp_path / "root"))
    assert code == 2 and err.strip() == f"error: {path}: not a folder, a zip or a tar archive"


# -- MeViS RLE ------------------------------------------------------------------------------


def test_rle_decoding_against_a_hand_made_mask():
    # 3x2 mask, column-major runs: column 0 = [0, 1, 1], column 1 = [1, 0, 0]
    expected = np.array([[0, 1], [1, 0], [1, 0]], bool)
    assert np.array_equal(decode_rle({"size": [3, 2], "counts": [1, 3, 2]}, "t"), expected)
    assert np.array_equal(decode_rle(encode_rle(expected), "t"), expected)
    assert decode_rle(None, "t") is None
    with pytest.raises(Exception, match="cover 5 pixels"):
        decode_rle({"size": [3, 2], "counts": [1, 3, 1]}, "t")


def test_the_card_of_an_imported_release_says_where_it_came_from(tmp_path, capsys):
    from helpers import need_extra

    need_extra("data", "pyarrow")
    out = tmp_path / "root"
    assert run(capsys, "import-release", str(build_release(tmp_path, "per-target")), "--out", str(out), "--quiet")[0] == 0
    meta = json.loads((out / "test" / "meta_expressions.json").read_text())
    assert meta["videos"]["judo"]["licence"].startswith("DAVIS terms of use")
    assert run(capsys, "export-hf", str(out), str(tmp_path / "hf"))[0] == 0
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "1PTe4BIIr4SEdaamXfrzJ_LdzW4itqPzQ" in card and "imported from a released archive" in card
    assert "non-commercial" in card and "DAVIS terms of use" in card


def test_names_that_would_leave_the_tree_are_refused(tmp_path, capsys):
    release = build_release(tmp_path, "ref-youtube-vos")
    meta_path = release / "meta_expressions" / "valid" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    meta["videos"]["../../escape"] = meta["videos"].pop("judo")
    meta["videos"]["pigs"]["frames"] = ["../00000"] + meta["videos"]["pigs"]["frames"][1:]
    meta_path.write_text(json.dumps(meta))
    code, _, err = run(capsys, "import-release", str(release), "--out", str(tmp_path / "a" / "root"), "--quiet")
    assert code == 2
    assert "video '../../escape': '../../escape' cannot be a folder name" in err
    assert "video 'pigs': \"frames\" must be a non-empty list of frame names" in err
    assert not (tmp_path / "escape").exists() and not (tmp_path / "a" / "root").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    meta=st.recursive(
        st.none() | st.booleans() | st.integers(-3, 300) | st.text("ab./\\0129 ", max_size=6),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["videos", "pigs", "frames", "expressions", "exp", "obj_id", "anno_id", "kind", "00000",
                             "0", "..", "a/b"]), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_meta_expressions_is_read_or_refused_never_crashes(tmp_path_factory, meta):
    """Whatever a release's meta holds, the reader lists problems; it never raises
    or reads outside the tree."""
    from instrack.dataset.release.layouts import read_release

    root = tmp_path_factory.mktemp("fuzz")
    (root / "valid" / "JPEGImages" / "pigs").mkdir(parents=True)
    (root / "valid" / "JPEGImages" / "pigs" / "00000.jpg").write_bytes(_jpeg(0))
    (root / "valid" / "Annotations" / "pigs").mkdir(parents=True)
    (root / "valid" / "Annotations" / "pigs" / "00000.png").write_bytes(_palette_png(_labels(1, 0)))
    (root / "valid" / "meta_expressions.json").write_text(json.dumps(meta))
    found = read_release(root)
    for target in found.targets:
        for frame in target.frames:
            assert target.images[frame].resolve().is_relative_to(root.resolve())
            try:
                target.mask(frame)
            except Exception as err:  # only DataError may come out, naming a file
                assert type(err).__name__ == "DataError", err


def test_a_release_with_binary_masks_does_not_pretend_to_know_the_davis_id(tmp_path, capsys):
    """InsTrack's own layout: one binary mask per video, obj_id [1]. Id 1 is the
    release's, not DAVIS's object 1, so from-release must not write obj_id 1."""
    release = build_release(tmp_path, "ref-youtube-vos")
    meta_path = release / "meta_expressions" / "valid" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    for expression in meta["videos"]["judo"]["expressions"].values():
        expression["obj_id"] = [1]
    meta_path.write_text(json.dumps(meta))
    for png in (release / "valid" / "Annotations" / "judo").glob("*.png"):
        ids = read_mask(png)
        png.write_bytes(_palette_png(np.where(ids == 2, 1, np.where(ids == 255, 255, 0)).astype(np.uint8)))
    out = tmp_path / "root"
    assert run(capsys, "import-release", str(release), "--out", str(out), "--quiet")[0] == 0
    assert read_split(out, "test").videos["judo"].extra["release"]["ids_in_masks"] == [1]
    code, stdout, err = run(capsys, "manifest", "from-release", str(out))
    entries = {e["name"]: e for e in json.loads(stdout)["videos"]}
    assert entries["judo"]["target"] == {"rule": "top-candidate"} and entries["judo"]["release_target"] == {"obj_id": [1]}
    assert "judo: the release's target {'obj_id': [1]} cannot be read as a davis2017 id" in err
    assert entries["pigs__2"]["target"] == {"obj_id": 2}  # a palette with other objects: DAVIS's numbering


def test_a_tar_member_declaring_an_absurd_size_is_refused(tmp_path, capsys):
    from instrack.evaluation.submission.zipped import MAX_MEMBER_BYTES

    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("train/JPEGImages/v/00000.jpg")
        info.size = MAX_MEMBER_BYTES + 1  # gzip makes it tiny on disk
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    code, _, err = run(capsys, "import-release", str(path), "--out", str(tmp_path / "root"))
    assert code == 2 and f"{path}:train/JPEGImages/v/00000.jpg: declares {MAX_MEMBER_BYTES + 1} bytes" in err
    assert not (tmp_path / "root").exists()


def test_an_rle_that_overruns_its_frame_is_refused_before_pycocotools():
    # pycocotools writes past its buffer on such counts; an archive is untrusted input
    big = encode_rle(np.ones((4, 4), bool))
    with pytest.raises(DataError, match="cover 16 pixels"):
        decode_rle({"size": [2, 2], "counts": big["counts"]}, "t")


def test_an_rle_whose_size_no_frame_has_is_refused_without_a_traceback():
    with pytest.raises(DataError, match="over the limit"):
        decode_rle({"size": [1 << 20, 1 << 20], "counts": [0, 1 << 40]}, "t")
