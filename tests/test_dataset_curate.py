"""curate -> check-data -> export-hf -> load_dataset -> import-hf on fake raw
downloads in the real layouts; and check-data catching damage."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from instrack.dataset.checksums import read_checksums
from instrack.cli.main import main
from instrack.dataset.curate import curate
from instrack.dataset.integrity import check_root
from instrack.dataset.layout import read_split
from instrack.dataset.manifest import load_manifest
from instrack.masks import read_mask
from helpers import need_extra
from test_dataset_fakes import PERSON_A, PERSON_B, make_davis, make_instructions, make_manifest, make_vipseg

NAMES = ["pigs", "dogs-scale", "12_fakeVidA1", "907_fakeVidB2"]


def tree(root: Path) -> dict[str, str]:
    """Every non-hidden file under root -> its SHA-256."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    base = tmp_path_factory.mktemp("raw")
    davis, vipseg = make_davis(base), make_vipseg(base)
    manifest = make_manifest(base / "manifest.json")
    instructions = make_instructions(base / "instructions.json", NAMES)
    return {"base": base, "davis": davis, "vipseg": vipseg, "manifest": manifest, "instructions": instructions}


@pytest.fixture(scope="module")
def curated(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("curated") / "root"
    code = main(
        [
            "curate",
            "--davis",
            str(raw["davis"]),
            "--vipseg",
            str(raw["vipseg"]),
            "--manifest",
            str(raw["manifest"]),
            "--instructions",
            str(raw["instructions"]),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_curated_layout_frames_masks_and_meta(raw, curated):
    test, train = read_split(curated, "test"), read_split(curated, "train")
    assert sorted(test.videos) == ["12_fakeVidA1", "pigs"] and sorted(train.videos) == ["907_fakeVidB2", "dogs-scale"]
    pigs = test.videos["pigs"]
    assert (pigs.height, pigs.width) == (30, 41)
    assert pigs.extra["source_ref"] == {"obj_id": 3, "annotations": "Annotations_unsupervised"}
    assert pigs.extra["category"] == "pig"
    assert pigs.extra["licence"] == "DAVIS terms"
    refs = pigs.extra["ref_davis17"]
    assert {r["text"] for r in refs} == {"a pig on the right", "right pig"}
    # Frames are the source bytes; the frame range (start 1, step 2) is applied.
    assert train.videos["dogs-scale"].frames == ("00001", "00003")
    for frame in pigs.frames:
        src = raw["davis"] / "JPEGImages" / "480p" / "pigs" / f"{frame}.jpg"
        assert pigs.image_path(frame).read_bytes() == src.read_bytes()
        ids = np.asarray(Image.open(raw["davis"] / "Annotations_unsupervised" / "480p" / "pigs" / f"{frame}.png"))
        mask = read_mask(pigs.mask_path(frame))
        expected = np.where(ids == 3, 1, np.where(ids == 255, 255, 0))
        assert mask.dtype == np.uint8 and np.array_equal(mask, expected)
    # The absent frame is all background, not missing.
    assert not (read_mask(pigs.mask_path("00002")) == 1).any()
    # VIPSeg: the rule picked the best-ranked person; void (0) became 255.
    vid = test.videos["12_fakeVidA1"]
    assert vid.extra["source_ref"] == {"value": PERSON_A, "category_id": 60, "instance": 0}
    mask = read_mask(vid.mask_path(vid.frames[0]))
    assert set(np.unique(mask)) == {0, 1, 255} and (mask[-4:, :] == 255).all()
    assert train.videos["907_fakeVidB2"].extra["source_ref"]["value"] == PERSON_B
    # Instructions came from the annotation file.
    kinds = [i.kind for i in vid.instructions]
    assert kinds == ["seed"] + ["rephrase"] * 5 and vid.instructions[1].extra == {"provenance": "test"}


def test_check_data_passes_and_checksums_cover_every_file(curated, capsys):
    assert main(["check-data", str(curated)]) == 0
    assert "4 videos" in capsys.readouterr().out
    sums = read_checksums(curated)
    assert set(sums) == set(tree(curated)) - {"SHA256SUMS"}


def test_curate_is_idempotent_and_keeps_instructions(raw, curated, tmp_path):
    out = tmp_path / "root"
    shutil.copytree(curated, out)
    # The annotation work edits instructions in the curated root directly.
    meta_path = out / "test" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    meta["videos"]["pigs"]["expressions"]["0"]["exp"] = "Which pig will reach the trough last?"
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    before = tree(out)
    report = curate(load_manifest(raw["manifest"]), out, davis=raw["davis"], vipseg=raw["vipseg"], progress=False)
    assert sorted(report.skipped) == sorted(NAMES) and not report.built
    after = tree(out)
    assert read_split(out, "test").videos["pigs"].instructions[0].text == "Which pig will reach the trough last?"
    # Only the meta file (reformatted by the writer) and SHA256SUMS may change; run again: nothing changes.
    assert {k for k in after if after[k] != before.get(k)} <= {"test/meta_expressions.json", "SHA256SUMS"}
    curate(load_manifest(raw["manifest"]), out, davis=raw["davis"], vipseg=raw["vipseg"], progress=False)
    assert tree(out) == after
    assert check_root(out)[0] == []


def test_curate_resumes_after_an_interruption(raw, curated, tmp_path):
    out = tmp_path / "root"
    shutil.copytree(curated, out)
    (out / ".curate" / "test" / "pigs.json").unlink()  # as if killed before pigs finished
    (out / "test" / "Annotations" / "pigs" / "00004.png").unlink()
    report = curate(load_manifest(raw["manifest"]), out, davis=raw["davis"], vipseg=raw["vipseg"], progress=False)
    assert report.built == ["pigs"] and len(report.skipped) == 3
    assert tree(out) == tree(curated)


def test_curate_reports_an_absent_target_and_goes_on(raw, tmp_path, capsys):
    manifest = json.loads(raw["manifest"].read_text())
    manifest["videos"][0]["target"] = {"obj_id": 7}
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(manifest))
    out = tmp_path / "root"
    code = main(
        [
            "curate",
            "--davis",
            str(raw["davis"]),
            "--vipseg",
            str(raw["vipseg"]),
            "--manifest",
            str(bad),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "error: pigs:" in err and "never appears" in err and "Traceback" not in err
    assert "3 built" in err and not (out / "test" / "JPEGImages" / "pigs").exists()
    # Without annotations yet, check-data says so unless told it is expected.
    assert main(["check-data", str(out)]) == 2
    assert "no instructions yet" in capsys.readouterr().err
    assert main(["check-data", str(out), "--allow-unannotated"]) == 0


def test_curate_usage_errors_are_one_line(tmp_path, capsys):
    assert main(["curate", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "error: give --davis DIR and/or --vipseg DIR (the raw downloads)"
    assert main(["curate", "--davis", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a DAVIS-2017 folder" in err


@pytest.fixture
def damaged(curated, tmp_path):
    out = tmp_path / "root"
    shutil.copytree(curated, out)
    return out


def test_check_data_catches_a_flipped_byte(damaged, capsys):
    path = damaged / "test" / "JPEGImages" / "pigs" / "00001.jpg"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert main(["check-data", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: SHA-256 differs" in err and "1 problem(s)" in err


def test_check_data_catches_a_missing_mask_and_a_wrong_size(damaged, capsys):
    missing = damaged / "train" / "Annotations" / "907_fakeVidB2" / "00000006.png"
    missing.unlink()
    wrong = damaged / "test" / "Annotations" / "12_fakeVidA1" / "00000001.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(wrong)
    assert main(["check-data", str(damaged), "--no-checksums"]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: missing mask" in err
    assert f"{wrong}: mask is 40x30, its frame is 41x30" in err
    assert main(["check-data", str(damaged)]) == 2  # with checksums both are found again, and all reported
    err = capsys.readouterr().err
    assert "listed in SHA256SUMS but missing" in err and f"{wrong}: SHA-256 differs" in err


def test_check_data_catches_bad_values_and_stray_files(damaged, capsys):
    path = damaged / "test" / "Annotations" / "pigs" / "00000.png"
    mask = read_mask(path).copy()
    mask[0, 0] = 2
    Image.fromarray(mask).save(path)
    (damaged / "test" / "JPEGImages" / "pigs" / "99999.jpg").write_bytes(b"x")
    assert main(["check-data", str(damaged), "--no-checksums"]) == 2
    err = capsys.readouterr().err
    assert "values [2] besides 0" in err and "99999.jpg: not a frame listed" in err


def test_hf_round_trip_is_byte_identical(curated, tmp_path, monkeypatch):
    need_extra("data", "datasets", "pyarrow")
    import datasets
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    export = tmp_path / "export"
    # Tiny shards: the test split's two videos go to two files.
    assert main(["export-hf", str(curated), str(export), "--max-shard-mb", "0", "--quiet"]) == 0
    assert len(list((export / "videos").glob("test-*-of-00002.parquet"))) == 2
    card = (export / "README.md").read_text()
    assert "config_name: videos" in card and "path: videos/test-*.parquet" in card and "DAVIS terms" in card
    assert "1PTe4BIIr4SEdaamXfrzJ_LdzW4itqPzQ" in card and "curated (`instrack curate`) from a selection manifest" in card
    assert not list(export.glob("*.py"))  # no loading script

    videos = datasets.load_dataset(str(export), "videos", split="test", cache_dir=str(tmp_path / "cache"))
    by_name = {row["video"]: row for row in videos}
    pigs = read_split(curated, "test").videos["pigs"]
    row = by_name["pigs"]
    assert row["frame_names"] == list(pigs.frames) and (row["height"], row["width"]) == (30, 41)
    assert np.array_equal(np.asarray(row["masks"][3]), read_mask(pigs.mask_path(pigs.frames[3])))
    assert np.array_equal(np.asarray(row["frames"][0]), np.asarray(Image.open(pigs.image_path(pigs.frames[0]))))
    instructions = datasets.load_dataset(str(export), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(instructions) == 12 and set(instructions["kind"]) == {"seed", "rephrase"}

    back = tmp_path / "back"
    assert main(["import-hf", str(export), str(back), "--quiet"]) == 0
    assert tree(back) == tree(curated)
    assert main(["check-data", str(back)]) == 0


def test_import_hf_refuses_a_tampered_export(curated, tmp_path, capsys):
    need_extra("data", "pyarrow")
    export = tmp_path / "export"
    assert main(["export-hf", str(curated), str(export), "--quiet"]) == 0
    sums = export / "layout" / "SHA256SUMS"
    text = sums.read_text()
    sums.write_text(text.replace(text[:64], "0" * 64, 1))
    assert main(["import-hf", str(export), str(tmp_path / "back"), "--quiet"]) == 2
    assert "differs from the exported SHA256SUMS" in capsys.readouterr().err


def test_load_gives_the_same_units_from_both_forms(curated, tmp_path):
    need_extra("data", "pyarrow")
    import instrack

    export = tmp_path / "export"
    assert main(["export-hf", str(curated), str(export), "--quiet"]) == 0
    folder, hf = instrack.load(curated, split="test"), instrack.load(export, split="test")
    assert len(folder) == len(hf) == 12
    for a, b in zip(folder, hf):
        assert (a.name, a.exp_id, a.instruction, a.kind, a.frame_names) == (
            b.name,
            b.exp_id,
            b.instruction,
            b.kind,
            b.frame_names,
        )
        assert all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert folder[0].frames[0].shape == (30, 41, 3)


def test_check_data_flags_rephrasings_left_for_review(damaged, capsys):
    meta_path = damaged / "test" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    video = next(iter(meta["videos"]))
    rephrasing = next(k for k, e in meta["videos"][video]["expressions"].items() if e["kind"] == "rephrase")
    meta["videos"][video]["expressions"][rephrasing]["status"] = "needs_review"
    meta_path.write_text(json.dumps(meta))
    assert main(["check-data", str(damaged), "--no-checksums"]) == 2
    err = capsys.readouterr().err
    assert f"expression {rephrasing}" in err and "needs_review" in err
