"""`instrack evaluate --protocol revos | revos-fixed` (SPEC §7).

Parity: every number cilinyan/VISA tools/eval_revos.py reports (overall,
referring, reasoning, and each expression's rounded CSV values) on four
synthetic ReVOS sets, stored in tests/data/official_revos_synthetic.json by
tests/official_revos.py, is reproduced to 1e-9 through the CLI. A hand
calculation checks the quirks and their corrections; the rest checks
validation (exit 2, every missing file named) and that the result does not
depend on the number of workers.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instrack.dataset.synthetic_revos import RevosSpec, encode_rle, make_revos_set

OFFICIAL = json.loads((Path(__file__).parent / "data" / "official_revos_synthetic.json").read_text())
KEYS = (("J", "J-Mean"), ("F", "F-Mean"), ("A", "A-Mean"), ("R", "R-Mean"), ("JF", "J&F-Mean"))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "instrack.cli.main", *args], capture_output=True, text=True)


def evaluate_cli(gt, pred, out, protocol="revos", workers=2, extra=()):
    done = cli("evaluate", "--protocol", protocol, "--gt", str(gt), "--split", "valid", "--pred", str(pred),
               "--json", str(out), "--workers", str(workers), "--quiet", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(Path(out).read_text()), done.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Each stored case regenerated from its seed: name -> (gt, pred)."""
    out = {}
    for name, case in OFFICIAL["cases"].items():
        base = tmp_path_factory.mktemp(name)
        summary = make_revos_set(base / "gt", base / "pred", RevosSpec(**case["spec"]))
        summary["type_id"] = {str(k): v for k, v in summary["type_id"].items()}
        assert summary == case["summary"], "the generator no longer makes the set the official scorer saw"
        out[name] = (base / "gt", base / "pred")
    return out


@pytest.mark.parametrize("name", sorted(OFFICIAL["cases"]))
def test_cli_reproduces_every_number_of_eval_revos(generated, tmp_path, name):
    gt, pred = generated[name]
    official = OFFICIAL["cases"][name]
    result, _ = evaluate_cli(gt, pred, tmp_path / "out.json")
    metrics = result["metrics"]
    pairs = [(metrics, official["results"]["overall"]),
             (metrics["groups"]["referring"], official["results"]["referring"]),
             (metrics["groups"]["reasoning"], official["results"]["reason"])]
    for ours, theirs in pairs:
        for their_key, our_key in KEYS:
            assert abs(100 * ours[our_key] - theirs[their_key]) < 1e-9, (their_key, ours, theirs)
    units = {f"{u['video']}/{u['exp_id']}": u for u in result["units"]}
    assert set(units) == set(official["per_expression"])
    for key, theirs in official["per_expression"].items():
        unit = units[key]
        assert unit["type_id"] == theirs["type_id"]
        j, f = np.float64(unit["J-Mean"]), np.float64(unit["F-Mean"])
        ours = {"J": round(100 * j, 2), "F": round(100 * f, 2), "JF": round(100 * (j + f) / 2, 2),
                "A": round(100 * np.float64(unit["A-Mean"]), 2), "R": round(100 * np.float64(unit["R-Mean"]), 2)}
        for their_key, _ in KEYS:
            assert abs(ours[their_key] - theirs[their_key]) < 1e-9, (key, their_key, ours, theirs)
    # the group the official script computes but drops
    no_target = [u for u in result["units"] if u["type_id"] == 2]
    assert metrics["groups"]["no-target"]["n_units"] == len(no_target) > 0


def test_quirks_are_reported_when_triggered(generated, tmp_path):
    binary, stderr_binary = evaluate_cli(*generated["pred-0-1"], tmp_path / "a.json")
    scaled, stderr_scaled = evaluate_cli(*generated["pred-0-255"], tmp_path / "b.json")
    ids = lambda r: {q["id"] for q in r["quirks"]}  # noqa: E731
    assert "non-binary-prediction" not in ids(binary)
    assert {"non-binary-prediction", "overlapping-instances", "no-target-dropped"} <= ids(scaled)
    assert all(q["reproduced"] for q in scaled["quirks"])
    notes = [line for line in stderr_scaled.splitlines() if "quirks" in line]
    assert len(notes) == 1 and "non-binary-prediction" in notes[0] and "revos-fixed" in notes[0]
    assert "non-binary-prediction" not in stderr_binary


def test_result_does_not_depend_on_workers(generated, tmp_path):
    gt, pred = generated["pred-mixed-palette"]
    one, _ = evaluate_cli(gt, pred, tmp_path / "1.json", workers=1)
    three, _ = evaluate_cli(gt, pred, tmp_path / "3.json", workers=3)
    one.pop("created"), three.pop("created")
    assert json.dumps(one, sort_keys=True) == json.dumps(three, sort_keys=True)


# -- a set small enough to compute by hand ------------------------------------

def _hand_set(root: Path, pred: Path) -> None:
    """One 10x10 frame. Instances a (rows/cols 2-5) and b (rows/cols 4-7)
    overlap on 4 pixels; the foreground is their union (28 pixels).
    Expression 0 (referring, a + b): predicted exactly, saved 0/255.
    Expression 3 (referring, a + b): the union plus one false positive at (0, 9), 0/1.
    Expression 1 (reasoning, a): predicted exactly, 0/1. Expression 2 (no target): empty."""
    a = np.zeros((10, 10), np.uint8)
    a[2:6, 2:6] = 1
    b = np.zeros((10, 10), np.uint8)
    b[4:8, 4:8] = 1
    union = a | b
    both = {"exp": "the two boxes", "anno_id": [1, 2], "obj_id": [1, 2], "type_id": 0}
    meta = {"videos": {"v": {"vid_id": 0, "height": 10, "width": 10, "frames": ["00000"], "expressions": {
        "0": both, "3": both,
        "1": {"exp": "the box that came first", "anno_id": [1], "obj_id": [1], "type_id": 1},
        "2": {"exp": "the cat", "anno_id": [], "obj_id": [], "type_id": 2}}}}}
    root.mkdir(parents=True)
    (root / "meta_expressions_valid_.json").write_text(json.dumps(meta))
    (root / "mask_dict.json").write_text(json.dumps({"1": [encode_rle(a)], "2": [encode_rle(b)]}))
    (root / "mask_dict_foreground.json").write_text(json.dumps({"v": {"masks_rle": [encode_rle(union)]}}))
    import cv2

    with_false_positive = union.copy()
    with_false_positive[0, 9] = 1
    for exp_id, mask in (("0", union * 255), ("3", with_false_positive), ("1", a), ("2", np.zeros_like(a))):
        (pred / "v" / exp_id).mkdir(parents=True)
        cv2.imwrite(str(pred / "v" / exp_id / "00000.png"), mask)


def test_hand_calculation_official_and_fixed(tmp_path):
    _hand_set(tmp_path / "gt", tmp_path / "pred")
    official, _ = evaluate_cli(tmp_path / "gt", tmp_path / "pred", tmp_path / "o.json", workers=1,
                               extra=("--csv", str(tmp_path / "units.csv")))
    import csv

    with open(tmp_path / "units.csv", newline="") as handle:
        rows = {row["exp_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"0", "1", "2", "3"}
    assert rows["0"]["type"] == "referring" and rows["2"]["type"] == "no-target"
    assert float(rows["0"]["A-Mean (%)"]) == pytest.approx(72.0)  # the CSV is in percent, like the table
    assert rows["0"]["quirks"] == "non-binary-prediction;overlapping-instances"
    fixed, stderr = evaluate_cli(tmp_path / "gt", tmp_path / "pred", tmp_path / "f.json", "revos-fixed", 1)
    units = {u["exp_id"]: u for u in official["units"]}
    # expression 0, exact 0/255 prediction: J = 1; A: 255 never equals 1 or 2, right only
    # where both are 0 (72 pixels); R: (1 - gt) * pred in uint8 is 0 where gt = 1 and
    # (1 - 2 = 255) * 255 = 65025 = 1 mod 256 on each of the 4 overlap pixels: neg = 4
    assert units["0"]["J-Mean"] == 1.0
    assert units["0"]["A-Mean"] == pytest.approx(0.72, abs=1e-15)
    assert units["0"]["R-Mean"] == pytest.approx(1 - 4 / (28 + 1e-6), abs=1e-15)
    # expression 3, 0/1 with one false positive: J = 28/29; A wrong on the false positive
    # and the 4 overlap pixels (2 != 1); R: neg = 1 + 4 * 255 > 28, clipped to 0
    assert units["3"]["J-Mean"] == pytest.approx(28 / 29, abs=1e-15)
    assert units["3"]["A-Mean"] == pytest.approx(0.95, abs=1e-15)
    assert units["3"]["R-Mean"] == 0.0
    assert units["0"]["quirks"] == ["non-binary-prediction", "overlapping-instances"]
    assert units["3"]["quirks"] == ["overlapping-instances"]
    assert units["2"]["quirks"] == ["no-target-dropped"]
    m = official["metrics"]
    # per-expression percentages rounded to 2 decimals (96.55, 85.71), groups their means,
    # overall the mean of the referring and reasoning groups (reasoning is all 100)
    assert m["J-Mean"] == pytest.approx(((100 + 96.55) / 2 + 100) / 2 / 100, abs=1e-12)
    assert m["A-Mean"] == pytest.approx(((72 + 95) / 2 + 100) / 2 / 100, abs=1e-12)
    assert m["R-Mean"] == pytest.approx(((85.71 + 0) / 2 + 100) / 2 / 100, abs=1e-12)
    assert m["groups"]["no-target"] == {"n_units": 1, "J&F-Mean": 1.0, "J-Mean": 1.0, "F-Mean": 1.0,
                                        "A-Mean": 1.0, "R-Mean": 1.0}

    fixed_units = {u["exp_id"]: u for u in fixed["units"]}
    assert fixed_units["0"]["A-Mean"] == 1.0 and fixed_units["0"]["R-Mean"] == 1.0
    assert fixed_units["3"]["A-Mean"] == pytest.approx(0.99, abs=1e-15)  # only the false positive is wrong
    r3 = 1 - 1 / (28 + 1e-6)
    assert fixed_units["3"]["R-Mean"] == pytest.approx(r3, abs=1e-15)
    fm = fixed["metrics"]
    # no rounding; overall over all four expressions
    assert fm["J-Mean"] == pytest.approx((28 / 29 + 3) / 4, abs=1e-15)
    assert fm["A-Mean"] == pytest.approx((0.99 + 3) / 4, abs=1e-15)
    assert fm["R-Mean"] == pytest.approx((r3 + 3) / 4, abs=1e-15)
    assert all(not q["reproduced"] for q in fixed["quirks"])
    assert "corrected by revos-fixed" in stderr


def test_fixed_scores_0_1_and_0_255_alike(generated, tmp_path):
    gt, pred = generated["pred-0-1"]
    scaled = tmp_path / "pred255"
    shutil.copytree(pred, scaled)
    import cv2

    for png in scaled.rglob("*.png"):
        cv2.imwrite(str(png), (cv2.imread(str(png), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8) * 255)
    a, _ = evaluate_cli(gt, pred, tmp_path / "a.json", "revos-fixed")
    b, _ = evaluate_cli(gt, scaled, tmp_path / "b.json", "revos-fixed")
    assert a["metrics"] == b["metrics"]
    official_a, _ = evaluate_cli(gt, pred, tmp_path / "c.json")
    official_b, _ = evaluate_cli(gt, scaled, tmp_path / "d.json")
    assert official_b["metrics"]["A-Mean"] < official_a["metrics"]["A-Mean"]


# -- validation: named, exit 2, nothing scored ----------------------------------

def test_missing_video_expression_and_frame_are_all_named(generated, tmp_path):
    gt, pred = generated["pred-0-1"]
    broken = tmp_path / "pred"
    shutil.copytree(pred, broken)
    shutil.rmtree(broken / "revos-002")
    shutil.rmtree(broken / "revos-003" / "1")
    os.remove(broken / "revos-004" / "0" / "00005.png")
    done = cli("evaluate", "--protocol", "revos", "--gt", str(gt), "--split", "valid", "--pred", str(broken),
               "--json", str(tmp_path / "out.json"))
    assert done.returncode == 2
    assert "revos-002/: missing video" in done.stderr
    assert "revos-003/1/: missing unit" in done.stderr
    assert "revos-004/0/00005.png: missing frame" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.json").exists()


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _shrink_a_later_mask(mask_dict: dict) -> None:
    # a mask after the first present one (the index reads the first only; the worker checks the rest)
    for frames in mask_dict.values():
        present = [m for m in frames if m]
        if len(present) > 1:
            present[-1]["size"] = [5, 5]
            return
    raise AssertionError("no instance with two masks")


@pytest.mark.parametrize("breakage, message", [
    (lambda gt: (gt / "mask_dict_foreground.json").unlink(), "mask_dict_foreground.json: missing"),
    (lambda gt: _edit_json(gt / "mask_dict_foreground.json", lambda d: d.pop("revos-001")),
     "mask_dict_foreground.json: video 'revos-001': missing"),
    (lambda gt: _edit_json(gt / "mask_dict.json", lambda d: d.pop("0")), "mask_dict.json: 1 anno_id(s)"),
    (lambda gt: _edit_json(gt / "meta_expressions_valid_.json",
                           lambda d: d["videos"]["revos-001"]["expressions"]["0"].update(type_id=3)),
     "'type_id' must be 0 (referring), 1 (reasoning) or 2 (no target)"),
    (lambda gt: _edit_json(gt / "mask_dict_foreground.json",
                           lambda d: d["revos-001"]["masks_rle"].pop()), "'masks_rle' entries"),
    (lambda gt: _edit_json(gt / "mask_dict_foreground.json",
                           lambda d: d["revos-001"]["masks_rle"][0].update(counts="0~~")),
     "mask_dict_foreground.json: video revos-001, frame 00000"),
    (lambda gt: _edit_json(gt / "mask_dict.json", _shrink_a_later_mask), "size 5x5, the video is"),
])
def test_bad_ground_truth_is_one_line_exit_2(generated, tmp_path, breakage, message):
    gt, pred = generated["pred-0-1"]
    broken = tmp_path / "gt"
    shutil.copytree(gt, broken)
    breakage(broken)
    done = cli("evaluate", "--protocol", "revos", "--gt", str(broken), "--split", "valid", "--pred", str(pred))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


# -- opt-in: the official scorer itself, run now ---------------------------------

@pytest.mark.upstream
def test_live_official_scorer_matches_stored_outputs(tmp_path):
    """INSTRACK_UPSTREAM=DIR with DIR/cilinyan/VISA a checkout (tests/upstream.py);
    INSTRACK_UPSTREAM_PYTHON names an interpreter with the official scorer's
    imports (numpy, opencv-python, pycocotools, scikit-image), default this one."""
    sys.path.insert(0, str(Path(__file__).parent))
    from official_revos import make_case, run_official
    from upstream import checkout

    visa = checkout("cilinyan/VISA")
    gt, pred, _ = make_case("pred-0-255", tmp_path)
    live = run_official(visa, os.environ.get("INSTRACK_UPSTREAM_PYTHON", sys.executable), gt, pred)
    stored = OFFICIAL["cases"]["pred-0-255"]
    assert live["per_expression"] == stored["per_expression"]
    for group, values in stored["results"].items():
        for key, value in values.items():
            assert abs(live["results"][group][key] - value) < 1e-9


def test_rle_json_submission_scores_as_the_folder(generated, tmp_path):
    import cv2

    gt, pred = generated["pred-0-1"]
    entries = []
    for png in sorted(pred.rglob("*.png")):
        video, exp_id = png.parent.parent.name, png.parent.name
        entries.append({"video": video, "exp_id": exp_id, "frame": png.stem,
                        "segmentation": encode_rle(cv2.imread(str(png), cv2.IMREAD_GRAYSCALE))})
    (tmp_path / "pred.json").write_text(json.dumps(entries))
    folder, _ = evaluate_cli(gt, pred, tmp_path / "a.json")
    rle, _ = evaluate_cli(gt, tmp_path / "pred.json", tmp_path / "b.json")
    assert rle["metrics"] == folder["metrics"]
    assert [q["id"] for q in rle["quirks"]] == [q["id"] for q in folder["quirks"]]


def test_zip_submission_reads_palette_pngs_as_the_official(generated, tmp_path):
    # palette PNGs in a zip: the official values (luminance) come from the zip's bytes too
    gt, pred = generated["pred-mixed-palette"]
    archive = shutil.make_archive(str(tmp_path / "pred"), "zip", pred)
    folder, _ = evaluate_cli(gt, pred, tmp_path / "a.json")
    zipped, _ = evaluate_cli(gt, archive, tmp_path / "b.json")
    assert zipped["metrics"] == folder["metrics"]


def test_fixed_lists_the_quirks_it_corrected(generated, tmp_path):
    # palette PNGs hold index 1, which revos-fixed reads as such; the official reads luminance
    gt, pred = generated["pred-mixed-palette"]
    official, _ = evaluate_cli(gt, pred, tmp_path / "a.json")
    fixed, _ = evaluate_cli(gt, pred, tmp_path / "b.json", "revos-fixed")
    assert [(q["id"], q["n_units"]) for q in fixed["quirks"]] == [(q["id"], q["n_units"]) for q in official["quirks"]]


# -- the ground-truth reader against anything a meta file may hold ---------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                     max_leaves=12)
_expression = st.fixed_dictionaries({"anno_id": _json | st.lists(st.integers(-1, 5), max_size=3),
                                     "type_id": _json | st.integers(-1, 3)}, optional={"exp": _json})
_video = st.fixed_dictionaries({"frames": _json | st.lists(st.text(max_size=3), max_size=3),
                                "expressions": _json | st.dictionaries(st.text(max_size=2), _expression, max_size=3)},
                               optional={"height": _json, "width": _json})
_meta = _json | st.fixed_dictionaries({"videos": _json | st.dictionaries(st.text(max_size=3), _video, max_size=3)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=_meta)
def test_meta_reader_accepts_or_names_the_problem(tmp_path, meta):
    from instrack.dataset.sources.revos_layout import read_revos_split
    from instrack.errors import DataError

    (tmp_path / "meta_expressions_valid_.json").write_text(json.dumps(meta))
    (tmp_path / "mask_dict.json").write_text("{}")
    (tmp_path / "mask_dict_foreground.json").write_text("{}")
    try:
        split = read_revos_split(tmp_path, "valid")
    except DataError as err:
        assert "meta_expressions_valid_.json" in str(err)
        return
    for video in split.videos:
        assert video.frames and all(isinstance(f, str) for f in video.frames)
        assert all(e.type_id in (0, 1, 2) for e in video.expressions)


def test_split_without_referring_expressions(generated, tmp_path):
    # the official overall is the mean of the referring and reasoning means: NaN without one
    gt, pred = generated["pred-0-1"]
    reasoning_only = tmp_path / "gt"
    shutil.copytree(gt, reasoning_only)

    def to_reasoning(meta):
        for video in meta["videos"].values():
            for expression in video["expressions"].values():
                expression["type_id"] = 1 if expression["type_id"] == 0 else expression["type_id"]

    _edit_json(reasoning_only / "meta_expressions_valid_.json", to_reasoning)
    done = cli("evaluate", "--protocol", "revos", "--gt", str(reasoning_only), "--split", "valid",
               "--pred", str(pred), "--json", str(tmp_path / "out.json"), "--plot", str(tmp_path / "plots"))
    assert done.returncode == 0, done.stderr
    assert "n/a" in done.stdout
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["metrics"]["J-Mean"] is None and result["metrics"]["groups"]["referring"]["n_units"] == 0
    assert "empty-group" in {q["id"] for q in result["quirks"]}
    fixed, _ = evaluate_cli(reasoning_only, pred, tmp_path / "fixed.json", "revos-fixed")
    assert 0 < fixed["metrics"]["J-Mean"] < 1
