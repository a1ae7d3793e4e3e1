"""The shipped selection manifest and the manifest reader's checks."""

from __future__ import annotations

import json

import pytest

from instrack.errors import DataError
from instrack.dataset.manifest import load_manifest
from test_dataset_fakes import make_manifest


def test_shipped_manifest_has_the_papers_composition():
    manifest = load_manifest()
    assert (
        manifest.composition()
        == manifest.paper_composition()
        == {
            "videos": 183,
            "train": 143,
            "test": 40,
            "davis2017": 32,
            "vipseg": 151,
        }
    )
    assert "reconstruction" in manifest.raw["reconstruction"]
    assert manifest.raw["paper_composition"]["instructions_per_video"] == {"seed": 1, "rephrase": 5}
    for entry in manifest.entries:
        assert entry.licence in manifest.sources
        # Test videos come from the sources' held-out splits, train from their train splits.
        assert entry.source_split == ("train" if entry.split == "train" else "val")
    davis = [e for e in manifest.entries if e.source == "davis2017"]
    assert all(e.target.obj_id for e in davis)
    assert all(e.target.rule == "top-candidate" for e in manifest.entries if e.source == "vipseg")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(version=9), "manifest version 9 is not supported"),
        (lambda m: m.update(format="other"), "not an InsTrack manifest"),
        (lambda m: m["videos"].append(dict(m["videos"][0])), "'pigs' appears twice"),
        (lambda m: m["videos"][0].update(target={"value": 6100}), '"value" targets are VIPSeg'),
        (lambda m: m["videos"][2].update(target={"obj_id": 1}), '"obj_id" targets are DAVIS'),
        (lambda m: m["videos"][0].update(target={"rule": "largest"}), "unknown target"),
        (lambda m: m["videos"][0].update(frames={"start": -1}), r'"frames.start" must be an integer >= 0'),
        (lambda m: m["videos"][0].update(name="../escape"), "cannot be a video folder name"),
        (lambda m: m["videos"][1].pop("split"), r'videos\[1\]: missing "split"'),
    ],
)
def test_bad_manifests_name_the_file_and_the_video(tmp_path, change, message):
    path = make_manifest(tmp_path / "m.json")
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=message) as info:
        load_manifest(path)
    assert str(path) in str(info.value)


def test_select_by_name_and_split(tmp_path):
    manifest = load_manifest(make_manifest(tmp_path / "m.json"))
    assert [e.name for e in manifest.select(splits=["train"])] == ["dogs-scale", "907_fakeVidB2"]
    assert [e.name for e in manifest.select(names=["pigs"])] == ["pigs"]
    with pytest.raises(DataError, match="no video named 'bear'"):
        manifest.select(names=["bear"])
