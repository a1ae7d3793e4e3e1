"""The sampling mix between training datasets.

§4.1 pretrains "following LISA" and gives no proportions, so the default mix is
LISA's (dvlab-research/LISA train_ds.py): a draw first picks a group with
`--sample_rates 9,3,3,1` (semantic segmentation, referring segmentation, VQA,
reasoning segmentation), then a dataset of that group uniformly. As
per-dataset weights: group rate / number of that group's datasets given. A
weight given with --data KIND=PATH@WEIGHT replaces the default; kinds outside
these groups (video data, our image manifests) weigh 1.
"""

from __future__ import annotations

from typing import Sequence

GROUPS: dict[str, tuple[str, ...]] = {
    "sem_seg": ("ade20k", "cocostuff", "partimagenet", "pascal_part", "paco_lvis"),
    "refer_seg": ("refcoco", "refcoco+", "refcocog"),
    "vqa": ("llava_instruct",),
    "reason_seg": ("reasonseg",),
}
#: LISA's --sample_rates default, per group
LISA_RATES: dict[str, float] = {"sem_seg": 9.0, "refer_seg": 3.0, "vqa": 3.0, "reason_seg": 1.0}


def group_of(kind: str) -> str | None:
    return next((g for g, kinds in GROUPS.items() if kind in kinds), None)


def default_weights(kinds: Sequence[str], rates: dict[str, float] = LISA_RATES) -> list[float]:
    """LISA's mix as one weight per dataset of `kinds` (in order)."""
    counts: dict[str, int] = {}
    for kind in kinds:
        group = group_of(kind)
        if group is not None:
            counts[group] = counts.get(group, 0) + 1
    weights = []
    for kind in kinds:
        group = group_of(kind)
        weights.append(1.0 if group is None else rates[group] / counts[group])
    return weights
