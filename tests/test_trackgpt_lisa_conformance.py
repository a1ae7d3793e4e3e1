"""Opt-in: our stage-1 readers against LISA's own data code (dvlab-research/LISA),
run from a checkout OUTSIDE this repository:

    INSTRACK_UPSTREAM=DIR pytest -m upstream tests/test_trackgpt_lisa_conformance.py

with DIR/dvlab-research/LISA a checkout, as for the baselines' conformance tests
(tests/upstream.py, docs/baselines.md; its `utils/` folder is what this test reads;
LISA's utils need opencv and pycocotools; its refer.py's plotting imports are stubbed.)
ReasonSeg polygons are rasterised by LISA's get_mask_from_json and by ours
(random, often self-intersecting polygons with float vertices: pixel for pixel);
RefCOCO masks by LISA's REFER.getMask and by our reader."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.trackgpt_fixtures import write_stage1
from trackgpt.data.readers import read_dataset

from upstream import checkout  # noqa: E402

pytestmark = pytest.mark.upstream
LISA = Path("/nonexistent")  # set by the fixture below: skips without INSTRACK_UPSTREAM


@pytest.fixture(scope="module", autouse=True)
def _lisa_checkout() -> None:
    global LISA
    LISA = checkout("dvlab-research/LISA")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reasonseg_masks_match_lisas(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    lisa = _load("lisa_data_processing", LISA / "utils" / "data_processing.py")
    from trackgpt.data.conversations import rasterise_polygons

    rng = np.random.default_rng(0)
    for case in range(40):
        shapes = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(3, 7))
            points = rng.uniform(-3, 40, size=(n, 2)).round(2).tolist()  # released points are floats
            shapes.append({"label": str(rng.choice(["target", "ignore", "flag"])), "points": points})
        path = tmp_path / f"{case}.json"
        path.write_text(json.dumps({"text": ["q"], "is_sentence": True, "shapes": shapes}))
        theirs, _, _ = lisa.get_mask_from_json(str(path), np.zeros((30, 36, 3), np.uint8))
        ours = rasterise_polygons([(s["label"], tuple(map(tuple, s["points"]))) for s in shapes], 30, 36)
        assert np.array_equal(theirs, ours), case


def test_refcoco_masks_and_sentences_match_lisas_refer(tmp_path: Path, monkeypatch) -> None:
    for name in ("skimage", "skimage.io"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    pytest.importorskip("matplotlib")
    refer = _load("lisa_refer", LISA / "utils" / "refer.py")
    paths = write_stage1(tmp_path / "dataset")
    api = refer.REFER(str(paths["refcoco"].parent), "refcoco", "unc")
    refs = api.loadRefs(api.getRefIds(split="train"))
    theirs = {s["sent"]: api.getMask(r)["mask"] for r in refs for s in r["sentences"]}
    items = read_dataset("refcoco", paths["refcoco"])
    rng = random.Random(0)
    ours = {}
    for _ in range(20):
        item = items[rng.randrange(len(items))].sample(rng)
        ours[item.text] = item.target(0)
    assert set(ours) == set(theirs)
    for sentence, mask in theirs.items():
        assert np.array_equal(ours[sentence], mask.astype(np.uint8)), sentence
