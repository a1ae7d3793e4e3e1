"""Raw source readers (DAVIS-2017, Ref-DAVIS17, VIPSeg) and the candidates ranking."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from instrack.dataset.candidates import rank_davis, rank_vipseg
from instrack.errors import DataError
from instrack.dataset.sources.davis import DavisSource, read_expression_file
from instrack.dataset.sources.vipseg import VipsegSource, decode_value, load_categories, read_panomask
from test_dataset_fakes import (
    DOG,
    GROUND_AS_THING,
    PERSON_A,
    PERSON_B,
    WALL,
    make_davis,
    make_vipseg,
)


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    make_davis(root)
    return DavisSource(root)  # the archive's parent folder: DAVIS/ is found inside


@pytest.fixture(scope="module")
def vipseg(tmp_path_factory):
    return VipsegSource(make_vipseg(tmp_path_factory.mktemp("raw")))


def test_davis_sequences_frames_and_objects(davis):
    assert davis.splits() == {"train": ["dogs-scale"], "val": ["pigs", "judo"]}
    assert davis.sequences() == ["dogs-scale", "judo", "pigs"]
    assert davis.frames("pigs") == [f"{i:05d}" for i in range(6)]
    ids = davis.read_annotation("pigs", "00000")
    assert ids.dtype == np.uint8 and set(np.unique(ids)) == {0, 1, 2, 3, 255}
    assert davis.object_ids("pigs") == [1, 2, 3]
    assert davis.object_ids("pigs", "00002") == [1, 2]
    assert davis.category("dogs-scale", 2) == "person"


def test_ref_davis_expressions_decode_latin1_and_fix_typos(davis):
    expressions = davis.expressions
    assert "dog-scale" not in expressions
    texts = {(e.annotator, e.full_video, e.obj_id): e.text for e in expressions["dogs-scale"]}
    assert texts[(2, False, 1)] == "chien sur la balance"
    assert texts[(2, True, 2)] == "man with a café"
    assert texts[(1, False, 1)] == "a small dog"
    pig = [e.text for e in expressions["pigs"] if e.annotator == 2 and e.obj_id == 1]
    assert pig == ["le cochon rosé à gauche"] * 2


def test_bad_expression_line_names_file_and_line(tmp_path):
    path = tmp_path / "Davis17_annot1.txt"
    path.write_text('pigs 1 "a pig"\nthis line has no object id\n')
    with pytest.raises(DataError, match=r"Davis17_annot1.txt:2: expected"):
        read_expression_file(path)


def test_missing_davis_sequence_and_folder(davis, tmp_path):
    with pytest.raises(DataError, match="'bear' not found"):
        davis.frames("bear")
    with pytest.raises(DataError, match="not a DAVIS-2017 folder"):
        DavisSource(tmp_path)


def test_vipseg_value_decoding(tmp_path):
    path = tmp_path / "panoVIPSeg_categories.json"
    entries = [(0, "wall", 0), (14, "ground", 0), (60, "person", 1)]
    path.write_text(json.dumps([{"id": i, "name": n, "isthing": t} for i, n, t in entries]))
    categories = load_categories(path)
    assert decode_value(0, categories) == (None, None)
    segment, reason = decode_value(WALL, categories)
    assert segment.category.name == "wall" and not segment.isthing and reason is None
    segment, reason = decode_value(PERSON_B, categories)
    assert (segment.category.name, segment.instance, reason) == ("person", 1, None)
    _, reason = decode_value(GROUND_AS_THING, categories)
    assert "stuff class" in reason
    _, reason = decode_value(61, categories)  # person (id 60) painted as stuff
    assert "no instance id" in reason
    _, reason = decode_value(9900, categories)
    assert "unknown category 98" in reason


def test_panomasks_are_read_as_integers(vipseg, tmp_path):
    for video in ("12_fakeVidA1", "907_fakeVidB2"):  # Pillow- and OpenCV-written
        frame = vipseg.frames(video)[0]
        values = vipseg.read_annotation(video, frame)
        assert values.dtype == np.int32
        assert {PERSON_A, PERSON_B, WALL, 0} <= set(np.unique(values).tolist())
    # Pillow's 32-bit integer mode keeps values too (older Pillow opened 16-bit PNGs so).
    big = np.array([[0, 6100], [6101, 12399]], dtype=np.int32)
    assert np.asarray(Image.fromarray(big)).tolist() == big.tolist()
    # An 8-bit panomask is read but flagged: it cannot hold instance ids.
    path = tmp_path / "eight.png"
    Image.fromarray(np.array([[0, 1], [61, 3]], np.uint8)).save(path)
    values, anomaly = read_panomask(path)
    assert values.tolist() == [[0, 1], [61, 3]] and "8-bit" in anomaly


def test_vipseg_frames_segments_and_anomalies(vipseg):
    assert vipseg.splits() == {"train": ["907_fakeVidB2"], "val": ["12_fakeVidA1"]}
    assert vipseg.frames("12_fakeVidA1")[:2] == ["00000001", "00000006"]
    segments, anomalies = vipseg.segments("907_fakeVidB2")
    assert {PERSON_A, PERSON_B, DOG, WALL, GROUND_AS_THING} == set(segments)
    assert len(anomalies) == 1 and anomalies[0].value == GROUND_AS_THING
    assert "'ground' is a stuff class" in str(anomalies[0])
    _, clean = vipseg.segments("12_fakeVidA1")
    assert clean == []


def test_vipseg_missing_mask_is_reported(vipseg, tmp_path):
    import shutil

    copy = tmp_path / "VIPSeg"
    shutil.copytree(vipseg.root, copy)
    victim = sorted((copy / "panomasks" / "12_fakeVidA1").glob("*.png"))[2]
    victim.unlink()
    with pytest.raises(DataError, match=f"no mask for frame {victim.stem}"):
        VipsegSource(copy).frames("12_fakeVidA1")


def test_candidates_prefer_visible_objects_with_distractors(davis, vipseg):
    ranked = rank_vipseg(vipseg, "907_fakeVidB2")
    assert [c.target for c in ranked] == [PERSON_A, PERSON_B, DOG]  # the anomaly is no candidate
    top = ranked[0]
    assert top.category == "person" and top.distractors == 1 and top.visibility == 1.0
    assert ranked[2].visibility == pytest.approx(3 / 5)
    pigs = rank_davis(davis, "pigs")
    assert [c.target for c in pigs][-1] == 3  # absent from one frame: ranked last
    assert all(c.distractors == 2 for c in pigs)


def test_candidates_cli_prints_a_table(tmp_path, capsys):
    from instrack.cli.main import main

    make_vipseg(tmp_path)
    assert main(["candidates", "--vipseg", str(tmp_path / "VIPSeg"), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "person" in out and str(PERSON_A) in out
    assert main(["candidates", "--vipseg", str(tmp_path / "nope")]) == 2
    assert "not a VIPSeg folder" in capsys.readouterr().err
