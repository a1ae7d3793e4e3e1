"""--protocol mevis: parity with the official MeViS scorer, validation, outputs,
worker-count invariance, and the streaming mask_dict reader."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from instrack.dataset.sources import mask_dict as mask_dict_module
from instrack.dataset.synthetic_mevis import MevisSyntheticSpec, write_mevis
from instrack.errors import DataError, SubmissionError
from instrack.evaluation import evaluate

OFFICIAL = json.loads((Path(__file__).parent / "data" / "official_mevis_synthetic.json").read_text())


def cli(*args):
    return subprocess.run([sys.executable, "-m", "instrack.cli.main", *args], capture_output=True, text=True)


def make_set(tmp_path, **fields):
    spec = MevisSyntheticSpec(**fields)
    write_mevis(tmp_path / "gt", tmp_path / "pred", spec)
    return tmp_path / "gt", tmp_path / "pred", spec


@pytest.mark.parametrize("name", sorted(OFFICIAL["sets"]))
def test_matches_the_official_scorer_on_every_number(tmp_path, name):
    stored = OFFICIAL["sets"][name]
    gt, pred, spec = make_set(tmp_path, **stored["spec"])
    result = evaluate(gt, pred, split=spec.split, protocol="mevis", workers=2, per_frame=False)
    ours = {f"{u['video']}_{u['exp_id']}": (u["J-Mean"], u["F-Mean"]) for u in result["units"]}
    assert set(ours) == set(stored["per_expression"])
    for key, (j, f) in stored["per_expression"].items():
        assert abs(ours[key][0] - j) < 1e-9 and abs(ours[key][1] - f) < 1e-9, key
    printed = stored["printed"]
    assert abs(result["metrics"]["J-Mean"] - printed["J"]) < 1e-9
    assert abs(result["metrics"]["F-Mean"] - printed["F"]) < 1e-9
    assert abs(result["metrics"]["J&F-Mean"] - printed["J&F"]) < 1e-9
    assert set(result["metrics"]) == {"J&F-Mean", "J-Mean", "F-Mean"}
    # the sets cover what they are meant to
    assert result["dataset"]["n_no_target"] == stored["counts"]["no_target"] > 0
    assert min(u["n_frames"] for u in result["units"]) == 1


def test_json_is_the_same_whatever_the_number_of_workers(tmp_path):
    gt, pred, spec = make_set(tmp_path, videos=7, expressions=3, frames=4, seed=5)
    results = [evaluate(gt, pred, split=spec.split, protocol="mevis", workers=w) for w in (1, 2, 3)]
    for result in results:
        result.pop("created")
    assert json.dumps(results[0], sort_keys=True) == json.dumps(results[1], sort_keys=True) \
        == json.dumps(results[2], sort_keys=True)


def test_every_missing_video_expression_and_frame_is_named(tmp_path):
    gt, pred, spec = make_set(tmp_path, videos=4, expressions=3, frames=4, single_frame_every=0, seed=3)
    import shutil

    shutil.rmtree(pred / "synthetic001")  # a whole video
    shutil.rmtree(pred / "synthetic002" / "1")  # one expression
    (pred / "synthetic003" / "2" / "00002.png").unlink()  # one frame
    with pytest.raises(SubmissionError) as caught:
        evaluate(gt, pred, split=spec.split, protocol="mevis", workers=1)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "synthetic001/: missing video" in text
    assert "synthetic002/1/: missing unit" in text
    assert "synthetic003/2/00002.png: missing frame" in text
    assert len(caught.value.problems) == 3
    run = cli("evaluate", "--protocol", "mevis", "--gt", str(gt), "--split", spec.split, "--pred", str(pred))
    assert run.returncode == 2 and "missing video" in run.stderr and "Traceback" not in run.stderr


def test_ground_truth_problems_are_one_line_errors(tmp_path):
    gt, pred, spec = make_set(tmp_path, videos=2, expressions=2, frames=3, no_target=0, seed=4)
    split = gt / spec.split
    masks = json.loads((split / "mask_dict.json").read_text())
    removed = sorted(masks, key=int)[0]
    del masks[removed]
    (split / "mask_dict.json").write_text(json.dumps(masks))
    with pytest.raises(DataError, match=f"anno_id.*missing.*first: {removed}"):
        evaluate(gt, pred, split=spec.split, protocol="mevis", workers=1)
    masks[removed] = [None]  # one mask for three frames
    (split / "mask_dict.json").write_text(json.dumps(masks))
    with pytest.raises(DataError, match="has 1 masks for 3 frames"):
        evaluate(gt, pred, split=spec.split, protocol="mevis", workers=1)
    run = cli("evaluate", "--protocol", "mevis", "--gt", str(gt), "--split", "valid", "--pred", str(pred))
    assert run.returncode == 2 and "splits here: valid_u" in run.stderr and "Traceback" not in run.stderr


def test_outputs_csv_table_plots_and_forms(tmp_path):
    gt, pred, spec = make_set(tmp_path, videos=3, expressions=3, frames=3, no_target=0.4, seed=6)
    out = tmp_path / "out"
    run = cli("evaluate", "--protocol", "mevis", "--gt", str(gt), "--split", spec.split, "--pred", str(pred),
              "--json", str(out / "r.json"), "--csv", str(out / "r.csv"), "--plot", str(out / "plots"),
              "--workers", "2")
    assert run.returncode == 0, run.stderr
    result = json.loads((out / "r.json").read_text())
    assert result["protocol"] == "mevis" and len(result["units"]) == 9
    assert set(result["breakdowns"]["by_target"]) == {"target", "no-target"}
    header, *rows = (out / "r.csv").read_text().splitlines()
    assert header.split(",")[:4] == ["video", "exp_id", "target", "n_frames"] and len(rows) == 9
    assert (out / "plots" / "per_video.png").stat().st_size > 1000
    assert "J&F" in run.stdout and "without a target" in run.stdout
    # a zip of the folder and an RLE JSON score the same
    from pycocotools import mask as mask_utils
    from instrack.masks import read_mask

    archive, entries = tmp_path / "pred.zip", []
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(pred.rglob("*.png")):
            rel = path.relative_to(pred)
            zf.write(path, rel.as_posix())
            rle = mask_utils.encode(np.asfortranarray((read_mask(path) > 0).astype(np.uint8)))
            entries.append({"video": rel.parts[0], "exp_id": rel.parts[1], "frame": path.stem,
                            "segmentation": {"size": list(rle["size"]), "counts": rle["counts"].decode()}})
    (tmp_path / "pred.json").write_text(json.dumps(entries))
    forms = [evaluate(gt, p, split=spec.split, protocol="mevis", workers=1)["metrics"]
             for p in (pred, archive, tmp_path / "pred.json")]
    assert forms[0] == forms[1] == forms[2] == result["metrics"]


def test_mask_dict_is_indexed_across_chunk_boundaries(tmp_path, monkeypatch):
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    masks = {}
    for anno in range(40):
        frames = []
        for _ in range(4):
            m = (rng.random((20, 30)) < 0.3).astype(np.uint8)
            rle = mask_utils.encode(np.asfortranarray(m))
            frames.append(None if rng.random() < 0.3 else {"size": [20, 30], "counts": rle["counts"].decode()})
        masks[str(anno)] = frames
    path = tmp_path / "mask_dict.json"
    path.write_text(json.dumps(masks, indent=1))
    monkeypatch.setattr(mask_dict_module, "CHUNK_BYTES", 97)  # values cut by every chunk
    monkeypatch.setattr(mask_dict_module, "_SLACK", 10_000)
    index = mask_dict_module.index_mask_dict(path)
    reader = mask_dict_module.MaskDictReader(str(path), {k: (e.offset, e.length) for k, e in index.items()})
    assert {k: reader.rles(k) for k in index} == masks
    assert all(index[k].n_present == sum(m is not None for m in v) for k, v in masks.items())
    path.write_text(json.dumps(masks)[:-300])
    with pytest.raises(DataError, match="not a mask_dict"):
        mask_dict_module.index_mask_dict(path)


def test_bad_ground_truth_rle_is_refused_before_decoding(tmp_path):
    from instrack.dataset.sources.mask_dict import decode_rle

    with pytest.raises(DataError, match="cover"):
        decode_rle({"size": [4, 4], "counts": "0"}, (4, 4), "gt")
    with pytest.raises(DataError, match="size 5x4"):
        decode_rle({"size": [5, 4], "counts": "04"}, (4, 4), "gt")


@pytest.mark.upstream
def test_live_official_scorer_matches_the_stored_outputs(tmp_path):
    """INSTRACK_UPSTREAM=DIR with DIR/henghuiding/MeViS a checkout (tests/upstream.py);
    INSTRACK_UPSTREAM_PYTHON names an interpreter with the official scorer's imports
    (numpy, opencv-python, pycocotools, scikit-image), default this one."""
    import os

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    sys.path.insert(0, str(Path(__file__).parent))
    from official_mevis import prepared_script, run_official
    from upstream import checkout

    mevis = checkout("henghuiding/MeViS")
    name = sorted(OFFICIAL["sets"])[0]
    stored = OFFICIAL["sets"][name]
    gt, pred, spec = make_set(tmp_path, **stored["spec"])
    script = prepared_script(mevis, 2, tmp_path / "upstream")
    live = run_official(script, os.environ.get("INSTRACK_UPSTREAM_PYTHON", sys.executable), gt / spec.split, pred,
                        tmp_path / "official.json", timeout=300)
    assert live["per_expression"] == stored["per_expression"]
    for key in ("J", "F", "J&F"):
        assert abs(live[key] - stored["printed"][key]) < 1e-9
