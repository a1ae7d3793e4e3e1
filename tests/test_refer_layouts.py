"""Ref-YouTube-VOS and Ref-DAVIS17 layouts (as ReferFormer's converters write
them) scored directly by --protocol instrack and davis-unsup."""

import json
import shutil

import numpy as np
import pytest

from helpers import write_png
from instrack.dataset.synthetic import SyntheticSpec, write_davis
from instrack.errors import DataError
from instrack.evaluation import evaluate
from test_evaluate import OFFICIAL


def convert_davis_like_referformer(davis, out, expressions_per_object=4):
    """What wjn922/ReferFormer tools/data/convert_davis_to_ytvos.py does to the
    val set: Annotations_unsupervised/480p/<seq> -> valid/Annotations/<seq>,
    JPEGImages/480p/<seq> -> valid/JPEGImages/<seq>, and
    meta_expressions/valid/meta_expressions.json with 4 expressions per object
    (two annotators, first-frame and full-video), obj_id as a string."""
    videos = {}
    for seq in (davis / "ImageSets" / "2017" / "val.txt").read_text().split():
        shutil.copytree(davis / "Annotations_unsupervised" / "480p" / seq, out / "valid" / "Annotations" / seq)
        shutil.copytree(davis / "JPEGImages" / "480p" / seq, out / "valid" / "JPEGImages" / seq)
        from instrack.masks import read_mask

        first = read_mask(out / "valid" / "Annotations" / seq / "00000.png")
        n_objects = int(np.max(np.where(first == 255, 0, first)))
        expressions, exp_id = {}, 0
        for obj in range(1, n_objects + 1):
            for _ in range(expressions_per_object):
                expressions[str(exp_id)] = {"exp": f"object {obj} of {seq}", "obj_id": str(obj)}
                exp_id += 1
        frames = sorted(p.stem for p in (out / "valid" / "JPEGImages" / seq).glob("*.jpg"))
        videos[seq] = {"expressions": expressions, "frames": frames}
    (out / "meta_expressions" / "valid").mkdir(parents=True)
    (out / "meta_expressions" / "valid" / "meta_expressions.json").write_text(json.dumps({"videos": videos}))
    return out


def test_ref_davis17_layout_scores_like_the_official_davis_layout(tmp_path):
    spec = SyntheticSpec(**OFFICIAL["spec"])
    write_davis(tmp_path / "davis", tmp_path / "semi", tmp_path / "unsup", spec)
    refer = convert_davis_like_referformer(tmp_path / "davis", tmp_path / "ref-davis")
    direct = evaluate(tmp_path / "davis", tmp_path / "unsup", protocol="davis-unsup", workers=2)
    converted = evaluate(refer, tmp_path / "unsup", protocol="davis-unsup", workers=2)  # "val" read as "valid"
    assert converted["metrics"] == direct["metrics"]
    assert converted["dataset"]["layout"] == "refer-davis17" and converted["dataset"]["split"] == "valid"
    for key, value in OFFICIAL["protocols"]["davis-unsup"]["global"].items():
        assert abs(converted["metrics"][key] - value) < 1e-9, key


def ref_youtube_vos(root, videos):
    """videos: name -> (label maps, {exp_id: obj_id as the JSON holds it})."""
    meta = {}
    for name, (labels, expressions) in videos.items():
        frames = [f"{5 * t:05d}" for t in range(len(labels))]  # Ref-YouTube-VOS annotates every 5th frame
        for frame, label in zip(frames, labels):
            write_png(root / "train" / "Annotations" / name / f"{frame}.png", label, palette=True)
        meta[name] = {"frames": frames,
                      "expressions": {e: {"exp": f"expression {e}", "obj_id": o} for e, o in expressions.items()}}
    (root / "meta_expressions" / "train").mkdir(parents=True)
    (root / "meta_expressions" / "train" / "meta_expressions.json").write_text(json.dumps({"videos": meta}))
    return root


def test_ref_youtube_vos_layout_with_the_instrack_protocol(tmp_path):
    labels = []
    for t in range(3):
        label = np.zeros((40, 60), np.uint8)
        label[5:15, 5:15] = 1  # object 1: 100 pixels
        label[20:30, 30:40] = 2  # object 2: 100 pixels
        labels.append(label)
    root = ref_youtube_vos(tmp_path / "ytvos", {"v": (labels, {"0": "1", "1": 2, "2": ["1", "2"]})})
    for t, label in enumerate(labels):
        frame = f"{5 * t:05d}"
        shifted = np.roll(label == 1, 2, axis=1)  # 80 of 120 pixels shared: J = 2/3
        write_png(tmp_path / "pred" / "v" / "0" / f"{frame}.png", shifted * 255)
        write_png(tmp_path / "pred" / "v" / "1" / f"{frame}.png", (label == 2) * 255)
        write_png(tmp_path / "pred" / "v" / "2" / f"{frame}.png", (label == 1) * 255)  # half the union
    result = evaluate(root, tmp_path / "pred", split="train", protocol="instrack", workers=1)
    j = {u["exp_id"]: u["J-Mean"] for u in result["units"]}
    assert j == pytest.approx({"0": 2 / 3, "1": 1.0, "2": 0.5}, abs=1e-12)
    assert result["dataset"]["layout"] == "refer-youtube-vos" and result["units"][0]["text"] == "expression 0"
    assert result["units"][0]["frames"] == ["00000", "00005", "00010"]


def test_ref_layout_errors_name_the_file(tmp_path):
    labels = [np.zeros((10, 10), np.uint8)] * 2
    root = ref_youtube_vos(tmp_path / "ytvos", {"v": (labels, {"0": "x"})})
    with pytest.raises(DataError, match="obj_id 'x' is not an object id"):
        evaluate(root, tmp_path, split="train", protocol="instrack")
    with pytest.raises(DataError, match=r"meta_expressions.json: missing \(splits here: train\)"):
        evaluate(root, tmp_path, split="valid", protocol="instrack")
    (root / "train" / "Annotations" / "v" / "00005.png").unlink()
    meta = root / "meta_expressions" / "train" / "meta_expressions.json"
    meta.write_text(meta.read_text().replace('"x"', '"1"'))
    with pytest.raises(DataError, match=r"no ground-truth PNG for 1 of 2 frame\(s\).*first: 00005.png"):
        evaluate(root, tmp_path, split="train", protocol="instrack")
