"""DAVIS entries point at the object their reason names (categories from
davis_semantics.json), curate refuses a category mismatch, and object ids are
read in the annotation set Ref-DAVIS17 uses (Annotations_unsupervised)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from instrack.cli.main import main
from instrack.dataset.davis_facts import category_problems, davis_categories
from instrack.dataset.manifest import default_manifest_path, load_manifest
from instrack.masks import read_mask
from test_dataset_fakes import make_davis, make_manifest

# The five entries of reconstruction.1 that pointed at the wrong object (issue 13).
OLD_WRONG = {
    "kite-walk": (1, "a person with a kite"),
    "surf": (1, "a surfer and the board"),
    "longboard": (1, "longboarders"),
    "classic-car": (1, "a classic car with people"),
    "tuk-tuk": (1, "a tuk-tuk with its passengers"),
}


def test_shipped_davis_entries_agree_with_the_davis_categories():
    manifest = load_manifest()
    assert category_problems(manifest) == []
    davis = [e for e in manifest.entries if e.source == "davis2017"]
    assert len(davis) == 32 and all(e.extra.get("category") for e in davis)
    # Independent spot checks, read off davis_semantics.json by hand.
    facts = davis_categories()
    assert facts["kite-walk"] == {"1": "kite", "2": "person", "3": "surfboard"}
    assert facts["longboard"]["1"] == "backpack" and facts["classic-car"]["3"] == "car"
    assert set(facts["tuk-tuk"].values()) == {"person"}


@pytest.mark.parametrize("name", ["kite-walk", "surf", "longboard", "classic-car"])
def test_putting_back_an_old_wrong_id_is_caught(tmp_path, name):
    raw = json.loads(default_manifest_path().read_text())
    entry = next(v for v in raw["videos"] if v["name"] == name)
    entry["target"] = {"obj_id": OLD_WRONG[name][0]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    problems = category_problems(load_manifest(path))
    assert problems and all(name in p for p in problems)


def test_putting_back_the_old_tuk_tuk_entry_is_caught(tmp_path):
    raw = json.loads(default_manifest_path().read_text())
    old = dict(next(v for v in raw["videos"] if v["name"] == "motorbike"))
    old.update(name="tuk-tuk", source_sequence="tuk-tuk", target={"obj_id": 1}, why=OLD_WRONG["tuk-tuk"][1])
    raw["videos"] = [old if v["name"] == "motorbike" else v for v in raw["videos"]]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    problems = category_problems(load_manifest(path))
    assert any("tuk-tuk" in p and "does not start" in p for p in problems)


def test_a_reason_that_claims_no_distractor_where_there_is_one_is_caught(tmp_path):
    raw = json.loads(default_manifest_path().read_text())
    entry = next(v for v in raw["videos"] if v["name"] == "pigs")
    entry["why"] = "pig: one pig; no same-category distractor"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    assert any("pigs" in p and "claims none" in p for p in category_problems(load_manifest(path)))


# -- curate ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def davis(tmp_path_factory):
    return make_davis(tmp_path_factory.mktemp("raw"))


def _curate(davis, manifest, out, *extra):
    return main(["curate", "--davis", str(davis), "--manifest", str(manifest), "--out", str(out), "--quiet", *extra])


def _only_dogs_scale(path, **changes):
    make_manifest(path)
    raw = json.loads(path.read_text())
    raw["videos"] = [dict(v, **changes) for v in raw["videos"] if v["name"] == "dogs-scale"]
    path.write_text(json.dumps(raw))
    return path


def test_curate_refuses_an_entry_whose_category_differs(davis, tmp_path, capsys):
    manifest = _only_dogs_scale(tmp_path / "m.json", target={"obj_id": 2})  # object 2 is the person
    assert _curate(davis, manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "davis_semantics.json: dogs-scale object 2 is a 'person'" in err and "tracks a 'dog'" in err
    assert not (tmp_path / "out" / "train" / "JPEGImages" / "dogs-scale").exists()


def test_object_ids_are_read_in_the_unsupervised_set_by_default(davis, tmp_path):
    """The fake's two sets number dogs-scale's dog and person the other way round."""
    manifest = _only_dogs_scale(tmp_path / "m.json")
    assert _curate(davis, manifest, tmp_path / "unsup") == 0
    frame = "00001"  # frames 1, 3 are selected
    unsup = read_mask(davis / "Annotations_unsupervised" / "480p" / "dogs-scale" / f"{frame}.png")
    semi = read_mask(davis / "Annotations" / "480p" / "dogs-scale" / f"{frame}.png")
    assert not np.array_equal(unsup == 1, semi == 1)
    got = read_mask(tmp_path / "unsup" / "train" / "Annotations" / "dogs-scale" / f"{frame}.png")
    assert np.array_equal(got == 1, unsup == 1)
    meta = json.loads((tmp_path / "unsup" / "train" / "meta_expressions.json").read_text())
    assert meta["videos"]["dogs-scale"]["source_ref"]["annotations"] == "Annotations_unsupervised"
    # Asked for the semi-supervised set, id 2 (a 'person' in davis_semantics.json)
    # is the dog's pixels: why the default is the set the categories follow.
    manifest_semi = _only_dogs_scale(tmp_path / "m2.json", category="person", target={"obj_id": 2})
    assert _curate(davis, manifest_semi, tmp_path / "semi2", "--davis-annotations", "Annotations") == 0
    got = read_mask(tmp_path / "semi2" / "train" / "Annotations" / "dogs-scale" / f"{frame}.png")
    assert np.array_equal(got == 1, semi == 2) and np.array_equal(got == 1, unsup == 1)


def test_a_download_without_the_unsupervised_set_is_refused_with_the_reason(davis, tmp_path, capsys):
    copy = tmp_path / "DAVIS"
    shutil.copytree(davis, copy)
    shutil.rmtree(copy / "Annotations_unsupervised")
    manifest = _only_dogs_scale(tmp_path / "m.json")
    assert _curate(copy, manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "Annotations_unsupervised/480p: missing" in err and "Ref-DAVIS17" in err and err.count("\n") == 1


def test_a_stated_category_that_differs_is_caught(tmp_path):
    raw = json.loads(default_manifest_path().read_text())
    next(v for v in raw["videos"] if v["name"] == "judo")["category"] = "kite"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    assert [p for p in category_problems(load_manifest(path)) if "judo" in p] == [
        f"{path}: judo: object 1 is a 'person', the manifest says 'kite'"
    ]


# -- what the files say about the release ----------------------------------------------

REPO = Path(__file__).resolve().parent.parent
CLAIMS = re.compile(
    r"never published|not published|unpublished|not public|did not publish|does not publish|publishes .{0,40}but not", re.I
)
# What may still be said to be not public: the authors' prompt, checkpoints and code, VIPSeg's test masks.
ALLOWED = re.compile(r"prompt|checkpoint|weights|code", re.I)
ABOUT_THE_DATA = re.compile(r"selection|\bdata\b|dataset|videos|objects|archive|InsTrack|manifest", re.I)


def test_the_manifest_points_at_the_authors_archive():
    raw = load_manifest().raw
    assert raw["release"]["google_drive_file_id"] == "1PTe4BIIr4SEdaamXfrzJ_LdzW4itqPzQ"
    assert "e11ab70" in raw["release"]["about"] and "jiawen-zhu/TrackGPT" in raw["release"]["about"]
    assert "used when the authors' archive" in raw["reconstruction"]
    assert raw["sources"]["davis2017"]["annotations"] == "Annotations_unsupervised"


def _shipped_text_files() -> list[str]:
    """Every document, source file and data file the repository ships (not the tests,
    which quote the old claims to check them)."""
    files = [*REPO.glob("*.md"), *REPO.glob("docs/*.md"), *REPO.glob("instrack/**/*.json")]
    for package in ("instrack", "annotation", "leaderboard", "trackgpt", "baselines", "benchmarks", "scripts"):
        files += [*(REPO / package).rglob("*.py"), *(REPO / package).rglob("*.md")]
    return sorted({str(f.relative_to(REPO)) for f in files if "__pycache__" not in f.parts
                   and f.stat().st_size < 2_000_000})


@pytest.mark.parametrize("rel", _shipped_text_files())
def test_nothing_says_the_data_was_never_published(rel):
    path = REPO / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in this checkout")
    text = path.read_text(encoding="utf-8")
    # sentences, list items and headings each stand alone
    for sentence in re.split(r"(?<=[.;)])\s+|\n\s*\n|\n(?=\s*[-#|])", text):
        if CLAIMS.search(sentence):
            assert ALLOWED.search(sentence) and not ABOUT_THE_DATA.search(sentence), f"{rel}: {sentence.strip()[:200]!r}"


def test_the_davis_names_are_the_150_sequences_and_cover_the_categories():
    from instrack.dataset.davis_facts import davis_sequence_names

    names = davis_sequence_names()
    assert len(names) == 150 and set(davis_categories()) <= names
    assert {"bike-packing", "aerobatics", "wings-turn"} <= names and "12_abcdefgh-jk" not in names
