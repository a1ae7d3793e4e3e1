"""Stage-1 readers on fixtures in each release's format (tests/trackgpt_fixtures.py):
what each yields, pixels and text, and clear errors on broken files; then a
tiny training run that mixes every stage-1 source, VQA turns included."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from instrack.errors import DataError
from tests.trackgpt_fixtures import COLOURS, H, W, box, write_stage1
from trackgpt.data.readers import read_dataset

pytest.importorskip("pycocotools")


@pytest.fixture(scope="module")
def stage1(tmp_path_factory) -> dict[str, Path]:
    return write_stage1(tmp_path_factory.mktemp("dataset"))


def _draws(kind: str, path: Path, n: int = 40):
    """Concrete items drawn from a reader's (lazy) items, as the sampler draws them."""
    items = read_dataset(kind, path)
    rng = random.Random(0)
    out = []
    for _ in range(n):
        item = items[rng.randrange(len(items))]
        item = item.sample(rng) if hasattr(item, "sample") else item
        if item is not None:
            out.append(item)
    return items, out


def _flat(image: np.ndarray, value: int) -> bool:
    return image.shape == (H, W, 3) and int(np.abs(image.astype(int) - value).max()) <= 3


def test_ade20k(stage1) -> None:
    items, draws = _draws("ade20k", stage1["ade20k"])
    assert len(items) == 1
    by_text = {d.text: d for d in draws}
    assert set(by_text) == {"sky", "person"}  # first synonym of "person, individual, ..."
    sky = by_text["sky"].target(0)
    assert (sky[:, :16] == 1).all()
    assert (sky[:12, 16:] == 255).all()  # "other objects" (0) is void
    assert (sky[12:, 16:] == 0).all()
    assert by_text["person"].target(0).sum() == 12 * 16 + 255 * 12 * 16
    assert _flat(by_text["sky"].image(0), COLOURS["ade20k"])
    assert by_text["sky"].conversation()[0][0] == "Can you track the sky in the video?"


def test_cocostuff(stage1) -> None:
    _, draws = _draws("cocostuff", stage1["cocostuff"])
    by_text = {d.text: d for d in draws}
    assert set(by_text) == {"person", "dirt"}  # building-other: void, as LISA
    dirt = by_text["dirt"].target(0)
    assert (dirt[16:] == 1).all() and (dirt[:8] == 0).all() and (dirt[8:16] == 255).all()
    assert _flat(by_text["dirt"].image(0), COLOURS["cocostuff"])


@pytest.mark.parametrize("kind, names, rect", [
    ("paco_lvis", {"mug handle", "the handle of the mug"}, (2, 3, 10, 9)),
    ("pascal_part", {"dog head", "the head of the dog"}, (20, 0, 30, 5)),
    ("partimagenet", {"fish fin", "the fin of the fish"}, (0, 20, 6, 24)),
])
def test_coco_format_part_sets(stage1, kind, names, rect) -> None:
    _, draws = _draws(kind, stage1[kind])
    assert {d.text for d in draws} == names  # LISA's two phrasings of a part
    assert np.array_equal(draws[0].target(0), box(*rect))
    assert _flat(draws[0].image(0), COLOURS[kind])


@pytest.mark.parametrize("kind", ["refcoco", "refcoco+", "refcocog"])
def test_refer_sets(stage1, kind) -> None:
    items, draws = _draws(kind, stage1[kind])
    assert {d.text for d in draws} == {f"left person {kind}"}  # the val ref is not trained on
    assert np.array_equal(draws[0].target(0), box(4, 4, 12, 20))
    assert _flat(draws[0].image(0), COLOURS[kind])
    assert read_dataset(kind, stage1[kind], split="val")[0].sentences[0][0] == "right person"


def test_refs_pickle_cannot_run_code(stage1, tmp_path) -> None:
    import shutil

    bad = tmp_path / "refcoco"
    shutil.copytree(stage1["refcoco"], bad)
    shutil.copytree(stage1["refcoco"].parent / "images", tmp_path / "images")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (bad / "refs(unc).p").write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(DataError, match=r"refs\(unc\)\.p: not a refer refs file .*refuses builtins.print"):
        read_dataset("refcoco", bad)


def test_llava_instruct(stage1) -> None:
    items = read_dataset("llava_instruct", stage1["llava_instruct"])
    assert len(items) == 1 and items[0].style == "vqa" and not items[0].has_target
    assert items[0].conversation() == [("What colour is the picture?", " It is light grey."),
                                       ("Is anything in it?", " No, it is empty.")]
    assert items[0].target(0) is None
    assert _flat(items[0].image(0), COLOURS["llava_instruct"])


def test_reasonseg(stage1) -> None:
    items, draws = _draws("reasonseg", stage1["reasonseg"], n=200)
    target = np.zeros((H, W), np.uint8)
    target[2:18, 2:18] = 1
    target[5:9, 5:9] = 255  # "ignore" polygon; the "flag" one is skipped
    kinds = {"vqa": 0, "tokens": 0, "tokens+text": 0}
    for d in draws:
        assert d.text == "the thing you would sit on to rest"
        if d.style == "vqa":
            kinds["vqa"] += 1
            assert d.conversation() == [("the thing you would sit on to rest", " The chair has a seat.")]
            continue
        assert d.style == "instruction" and np.array_equal(d.target(0), target)
        answer = d.conversation()[0][1]
        kinds["tokens+text" if d.explanation else "tokens"] += 1
        assert answer == " Sure, I track the object. <TK>, <PO>" + (" The chair has a seat." if d.explanation else "")
    # LISA's draw: 10 % text only, the rest half with the explanation
    assert 5 <= kinds["vqa"] <= 40 and kinds["tokens"] > 50 and kinds["tokens+text"] > 50, kinds
    assert _flat(draws[0].image(0), COLOURS["reasonseg"])


def test_readers_name_the_broken_file(stage1, tmp_path) -> None:
    bad = tmp_path / "llava.json"
    bad.write_text(json.dumps([{"image": "x.jpg", "conversations": [{"from": "robot", "value": "hi"}]}]))
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match=r"llava.json: conversation 0: expected"):
        read_dataset("llava_instruct", bad)
    with pytest.raises(DataError, match="no objectInfo150.txt"):
        (tmp_path / "ade" / "images" / "training").mkdir(parents=True)
        read_dataset("ade20k", tmp_path / "ade")
    with pytest.raises(DataError, match="nowhere: not found"):
        read_dataset("reasonseg", tmp_path / "nowhere")
    broken = tmp_path / "rs" / "train"
    broken.mkdir(parents=True)
    (broken / "a.jpg").write_bytes((stage1["reasonseg"] / "train" / "img1.jpg").read_bytes())
    (broken / "a.json").write_text('{"text": ["x"], "shapes": [{"label": "target"}]}')
    with pytest.raises(DataError, match=r"a.json: expected"):
        read_dataset("reasonseg", tmp_path / "rs")


@pytest.mark.torch
def test_tiny_run_mixes_every_stage1_source_and_its_loss_falls(stage1, tmp_path) -> None:
    from helpers import need_extra

    need_extra("trackgpt", "torch", "segment_anything")
    import torch

    from trackgpt.train import TrainConfig, parse_data_args, train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = parse_data_args([",".join(f"{kind}={path}" for kind, path in stage1.items())])
        config = TrainConfig(preset="tiny", stage="image", data=data, out=tmp_path / "run", epochs=1,
                             steps_per_epoch=60, batch_size=2, grad_accum=1, lr=1e-2, warmup_steps=2, device="cpu",
                             progress=False)
        result = train(config)
    finally:
        torch.set_num_threads(threads)
    assert set(result.drawn) == set(stage1), result.drawn  # every source, VQA included
    text = [h["text"] for h in result.history]
    # From ~ln(264) = 5.58 (a random LM over the tiny preset's 264 rows) down:
    # measured 5.46 over the first 5 steps, ~5.0 over the last 10.
    assert np.mean(text[-10:]) < np.mean(text[:5]) - 0.3, text
    # some steps were text-only (two VQA turns): no mask terms logged for them
    masks = [h for h in result.history if "bce" in h]
    assert 0 < len(masks) <= len(result.history)
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    weights = {d["kind"]: d["weight"] for d in saved["data"]}
    # LISA's 9:3:3:1 spread over the datasets given
    assert weights == {"ade20k": 1.8, "cocostuff": 1.8, "paco_lvis": 1.8, "pascal_part": 1.8, "partimagenet": 1.8,
                       "refcoco": 1.0, "refcoco+": 1.0, "refcocog": 1.0, "llava_instruct": 3.0, "reasonseg": 1.0}
    assert saved["drawn"] == result.drawn


# ---- fuzzing: whatever the JSON holds, a reader yields items or a DataError ----

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(st.none() | st.booleans() | st.integers(-5, 40) | st.floats(-5, 40, allow_nan=False)
                     | st.text(max_size=6), lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["text", "is_sentence", "shapes", "label", "points",
                                                        "from", "value", "image", "conversations"]), inner, max_size=4),
                     max_leaves=12)
_shape = st.fixed_dictionaries({"label": st.sampled_from(["target", "ignore", "flag", "x"]) | _json,
                                "points": st.lists(st.tuples(st.floats(-10, 50, allow_nan=False),
                                                             st.floats(-10, 50, allow_nan=False)), max_size=5) | _json})
_reasonseg = st.fixed_dictionaries({"text": st.lists(st.text(max_size=8), max_size=2) | _json,
                                    "is_sentence": st.booleans() | _json, "shapes": st.lists(_shape, max_size=3) | _json})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(annotation=_reasonseg | _json)
def test_reasonseg_reader_fuzzed(stage1, tmp_path_factory, annotation) -> None:
    root = tmp_path_factory.mktemp("rs")
    (root / "train").mkdir()
    (root / "train" / "a.jpg").write_bytes((stage1["reasonseg"] / "train" / "img1.jpg").read_bytes())
    (root / "train" / "a.json").write_text(json.dumps(annotation))
    try:
        items = read_dataset("reasonseg", root)
    except DataError as err:
        assert "a.json" in str(err)
        return
    item = items[0].sample(random.Random(0))
    target = item.target(0)
    assert target is None or (target.shape == (H, W) and set(np.unique(target)) <= {0, 1, 255})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.fixed_dictionaries({"image": st.just("x.jpg") | _json, "conversations": st.lists(
    st.fixed_dictionaries({"from": st.sampled_from(["human", "gpt"]) | _json, "value": st.text(max_size=5) | _json}),
    max_size=4) | _json}), max_size=3) | _json)
def test_llava_instruct_reader_fuzzed(tmp_path_factory, records) -> None:
    root = tmp_path_factory.mktemp("llava")
    (root / "images").mkdir()
    (root / "l.json").write_text(json.dumps(records))
    try:
        items = read_dataset("llava_instruct", root / "l.json")
    except DataError as err:
        assert "l.json" in str(err)
        return
    for item in items:
        assert item.style == "vqa" and all(isinstance(q, str) and isinstance(a, str) for q, a in item.conversation())


@pytest.mark.torch
def test_train_verb_reads_stage1_datasets_and_names_bad_ones(stage1, tmp_path, capsys) -> None:
    from helpers import need_extra

    need_extra("trackgpt", "torch", "segment_anything")
    from instrack.cli.main import main

    base = ["train", "--preset", "tiny", "--stage", "image", "--out", str(tmp_path / "run"), "--epochs", "1",
            "--steps-per-epoch", "1", "--batch-size", "2", "--grad-accum", "1", "--device", "cpu", "--no-progress"]
    data = f"ade20k={stage1['ade20k']},llava_instruct={stage1['llava_instruct']},refcoco+={stage1['refcoco+']}@2"
    assert main(base + ["--data", data]) == 0
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert [(d["kind"], d["weight"]) for d in saved["data"]] == [("ade20k", 9.0), ("llava_instruct", 3.0),
                                                                 ("refcoco+", 2.0)]
    capsys.readouterr()
    assert main(base + ["--data", f"ade20k={tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err
    assert "nowhere: not found" in err and "Traceback" not in err
    assert main(base + ["--data", f"cocostuff={stage1['ade20k']}"]) == 2
    assert "no train2017 label maps" in capsys.readouterr().err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({
    "images": st.lists(st.fixed_dictionaries({"id": st.integers(0, 2) | _json, "file_name": st.just("a.jpg") | _json,
                                              "height": st.just(H) | _json, "width": st.just(W) | _json}), max_size=2) | _json,
    "categories": st.lists(st.fixed_dictionaries({"id": st.integers(0, 2) | _json,
                                                  "name": st.sampled_from(["dog:head", "cat", "a:b:c"]) | _json}),
                           max_size=2) | _json,
    "annotations": st.lists(st.fixed_dictionaries({
        "image_id": st.integers(0, 2) | _json, "category_id": st.integers(0, 2) | _json,
        "segmentation": st.lists(st.lists(st.floats(-5, 40, allow_nan=False), max_size=8), max_size=2) | _json}),
        max_size=3) | _json}) | _json)
def test_coco_format_reader_fuzzed(tmp_path_factory, data) -> None:
    root = tmp_path_factory.mktemp("pascal")
    (root / "train.json").write_text(json.dumps(data))
    try:
        items = read_dataset("pascal_part", root)
        item = items[0].sample(random.Random(0))
        target = item.target(0)
    except DataError as err:
        assert any(part in str(err) for part in ("train.json", "segmentation", "no training items")), err
        return
    assert target.shape == (H, W) and set(np.unique(target)) <= {0, 1}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(refs=st.lists(st.fixed_dictionaries({
    "ann_id": st.sampled_from([101, 201, 7]) | _json, "image_id": st.just(1) | _json,
    "split": st.sampled_from(["train", "val"]) | _json,
    "sentences": st.lists(st.fixed_dictionaries({"sent": st.text(max_size=5) | _json}), max_size=2) | _json}),
    max_size=3) | _json)
def test_refer_reader_fuzzed(stage1, tmp_path_factory, refs) -> None:
    import shutil

    base = tmp_path_factory.mktemp("refer")
    shutil.copytree(stage1["refcoco"].parent / "images", base / "images")
    (base / "refcoco").mkdir()
    shutil.copy(stage1["refcoco"] / "instances.json", base / "refcoco" / "instances.json")
    (base / "refcoco" / "refs(unc).p").write_bytes(pickle.dumps(refs))
    try:
        items = read_dataset("refcoco", base / "refcoco")
    except DataError as err:
        assert any(part in str(err) for part in ("refs(unc).p", "no training items")), err
        return
    item = items[0].sample(random.Random(0))
    assert isinstance(item.text, str) and item.target(0).shape == (H, W)
