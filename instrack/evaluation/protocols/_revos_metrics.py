"""ReVOS's per-frame A and R, and the grouping of its results, both as
cilinyan/VISA `tools/eval_revos.py` computes them (protocol `revos`) and
corrected (`revos-fixed`).

What the official scorer does, read from its code (cilinyan/VISA @ ec158fd,
tools/eval_revos.py and tools/metrics.py), and reproduced here by default:

* The expression's ground truth in a frame is the *sum* of its instances'
  masks in uint8 (`gt_masks[t] += decode(rle)`), so where instances overlap it
  holds 2 (or more). J and F cast it to bool (the union: unaffected).
* The prediction is the PNG as `cv2.imread(path, cv2.IMREAD_GRAYSCALE)` reads
  it: a 0/255 mask holds 255, a palette PNG the luminance of its colours.
  J and F cast it to bool (unaffected).
* A (accuracy) = mean over pixels of `gt == pred` on those raw values: a
  foreground pixel counts as right only where both hold exactly the same
  number, so a 0/255 prediction's foreground is always wrong and so is every
  overlap pixel (2 != 1).
* R (robustness) = max(1 - neg / (pos + 1e-6), 0) with neg = sum of
  `(1 - gt) * pred` in uint8 and pos = the pixels of the video's foreground
  (`mask_dict_foreground.json`). In uint8, 1 - 2 wraps to 255, so an overlap
  pixel that the prediction covers counts as 255 false positives (255 * 255
  wraps to 1 for a 0/255 prediction), and with a 0/255 prediction every false
  positive pixel counts 255 times.
* Per expression, J, F, (J + F) / 2, A and R are each the mean over frames,
  multiplied by 100 and rounded to 2 decimals (numpy's rounding) before any
  averaging.
* A group's J, F, A, R are means of those rounded values; its J&F is
  (J + F) / 2 of the group's means. "overall" is the mean of the referring
  (type_id 0) and the reasoning (type_id 1) group values, whatever their sizes;
  no-target expressions (type_id 2) are scored but reported nowhere.

`revos-fixed` uses binary masks (instances' union, prediction != 0), counts
the foreground's pixels once, keeps full precision, and reports overall as the
mean over every expression of the three types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instrack.evaluation.metrics import score_frame

#: the epsilon of R's denominator in the official code (kept by revos-fixed:
#: it decides R of a frame without foreground, 1 without false positives, 0 with)
R_EPSILON = 1e-6

TYPE_NAMES = {0: "referring", 1: "reasoning", 2: "no-target"}
METRIC_KEYS = ("J&F-Mean", "J-Mean", "F-Mean", "A-Mean", "R-Mean")

#: quirks of the official scorer that a submission or data set can trigger;
#: the id is what the result's "quirks" lists, the text what the docs explain
QUIRKS = {
    "non-binary-prediction": (
        "predicted masks hold values other than 0 and 1 (e.g. 0/255 PNGs): the official A counts their "
        "foreground as wrong and R counts each false-positive pixel 255 times"
    ),
    "overlapping-instances": (
        "instances of one expression overlap: the official scorer adds them in uint8, so A counts the "
        "overlap as wrong (2 != 1) and R's 1 - gt wraps to 255 there"
    ),
    "no-target-dropped": (
        "the split has no-target expressions (type_id 2): the official overall ignores them "
        "(see the no-target group)"
    ),
    "empty-group": (
        "the split has no referring or no reasoning expression: the official overall (the mean of the two "
        "group means) is NaN, reported as null"
    ),
    "overlapping-foreground": (
        "mask_dict_foreground.json gives a frame as several overlapping masks: the official R counts "
        "their overlap twice in its denominator"
    ),
}


@dataclass(frozen=True)
class FrameScores:
    j: float
    f: float
    a: float
    r: float


def robustness(neg: int, pos: int) -> float:
    return max(1.0 - float(neg) / (float(pos) + R_EPSILON), 0.0)


def official_frame(gt_sum: np.ndarray, pred: np.ndarray, foreground_pixels: int) -> FrameScores:
    """One frame as eval_revos.py scores it. `gt_sum` is the uint8 sum of the
    expression's instance masks, `pred` the prediction as cv2 reads it (uint8),
    `foreground_pixels` the sum of the foreground mask as the official reads it."""
    j, f = score_frame(gt_sum, pred)  # non-zero = inside, as the official astype(bool)
    a = np.count_nonzero(gt_sum == pred) / gt_sum.size
    # (1 - gt) * pred in uint8, wrapping, as numpy computes it for uint8 arrays
    neg = int(np.sum((np.uint8(1) - gt_sum) * pred, dtype=np.uint64))
    return FrameScores(j, f, a, robustness(neg, foreground_pixels))


def fixed_frame(gt: np.ndarray, pred: np.ndarray, foreground_pixels: int) -> FrameScores:
    """One frame on binary masks: `gt` the union of the instances, `pred` the
    predicted pixels, `foreground_pixels` the union of the video's foreground."""
    j, f = score_frame(gt, pred)
    a = np.count_nonzero(gt == pred) / gt.size
    neg = np.count_nonzero(pred & ~gt)
    return FrameScores(j, f, a, robustness(neg, foreground_pixels))


def expression_values(j: np.ndarray, f: np.ndarray, a: np.ndarray, r: np.ndarray) -> dict:
    """Per-expression means over frames (fractions), as `np.mean` of the per-frame arrays."""
    jm, fm = np.mean(j), np.mean(f)
    return {"J-Mean": float(jm), "F-Mean": float(fm), "J&F-Mean": float((jm + fm) / 2),
            "A-Mean": float(np.mean(a)), "R-Mean": float(np.mean(r))}


def official_rounded(unit: dict) -> dict:
    """The per-expression percentages the official CSV holds: round(100 * x, 2)
    with numpy's rounding (its values are numpy floats)."""
    j, f = np.float64(unit["J-Mean"]), np.float64(unit["F-Mean"])
    return {
        "J": float(round(100 * j, 2)),
        "F": float(round(100 * f, 2)),
        "JF": float(round(100 * (j + f) / 2, 2)),
        "A": float(round(100 * np.float64(unit["A-Mean"]), 2)),
        "R": float(round(100 * np.float64(unit["R-Mean"]), 2)),
    }


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def official_groups(units: list[dict]) -> tuple[dict, dict]:
    """(overall, groups) as eval_revos.py reports them, as fractions: groups'
    J, F, A, R are means of the rounded per-expression percentages / 100, J&F
    their (J + F) / 2; overall the mean of referring and reasoning. A group
    without expressions is None (the official prints nan)."""
    groups: dict[str, dict] = {}
    raw: dict[str, dict] = {}
    for type_id, name in TYPE_NAMES.items():
        members = [official_rounded(u) for u in units if u["type_id"] == type_id]
        if members:
            values = {k: np.array([m[k] for m in members]).mean() for k in ("J", "F", "A", "R")}
        else:
            values = {k: math.nan for k in ("J", "F", "A", "R")}
        values["JF"] = (values["J"] + values["F"]) / 2
        raw[name] = values
        groups[name] = {"n_units": len(members), **_fractions(values)}
    overall = {k: (raw["referring"][k] + raw["reasoning"][k]) / 2 for k in ("J", "F", "A", "R", "JF")}
    return _fractions(overall), groups


def _fractions(percent: dict) -> dict:
    return {
        "J&F-Mean": _nan_to_none(float(percent["JF"]) / 100),
        "J-Mean": _nan_to_none(float(percent["J"]) / 100),
        "F-Mean": _nan_to_none(float(percent["F"]) / 100),
        "A-Mean": _nan_to_none(float(percent["A"]) / 100),
        "R-Mean": _nan_to_none(float(percent["R"]) / 100),
    }


def fixed_groups(units: list[dict]) -> tuple[dict, dict]:
    """(overall, groups) at full precision: each group's values are means over
    its expressions; overall the mean over every expression."""

    def means(members: list[dict]) -> dict:
        if not members:
            return {k: None for k in METRIC_KEYS}
        out = {k: float(np.mean([u[k] for u in members])) for k in ("J-Mean", "F-Mean", "A-Mean", "R-Mean")}
        return {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2, **out}

    groups = {}
    for type_id, name in TYPE_NAMES.items():
        members = [u for u in units if u["type_id"] == type_id]
        groups[name] = {"n_units": len(members), **means(members)}
    return means(units), groups


def quirk_report(units: list[dict], official: bool) -> list[dict]:
    """The `quirks` of the result: each official quirk some expression
    triggered, with how many and the first few (units are sorted, so this does
    not depend on the order workers finish). `reproduced` says whether the
    numbers include it (revos) or correct it (revos-fixed)."""
    found: dict[str, list[str]] = {}
    for unit in units:
        for quirk in unit.get("quirks", ()):
            found.setdefault(quirk, []).append(f"{unit['video']}/{unit['exp_id']}")
    present = {unit["type_id"] for unit in units}
    if not {0, 1} <= present:
        found["empty-group"] = []
    return [{"id": quirk, "effect": QUIRKS[quirk], "reproduced": official, "n_units": len(where),
             "examples": where[:5]} for quirk, where in sorted(found.items())]


def quirk_line(quirks: list[dict], protocol: str) -> str | None:
    """The one line the CLI prints when a submission triggered quirks."""
    if not quirks:
        return None
    listed = ", ".join(f"{q['id']} ({q['n_units']} expression(s))" if q["n_units"] else q["id"] for q in quirks)
    if quirks[0]["reproduced"]:
        return (f"note: official eval_revos.py quirks reproduced for comparability: {listed}; "
                f"see the result's 'quirks', or --protocol revos-fixed for corrected values")
    return f"note: official eval_revos.py quirks corrected by {protocol}: {listed}"
