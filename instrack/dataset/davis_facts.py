"""DAVIS-2017 object categories shipped with instrack (data/davis2017_categories.json,
transcribed from davis_semantics.json; its `about` says where from), and the
check that a manifest's DAVIS entries agree with them.

A DAVIS entry says what it tracks twice, as `category` and at the start of its
`why` ("person: two riders ..."), and how many other objects of that category
the sequence has (`same_category_distractors`). All three are checked against
the facts, so an id that points at the kite instead of the person is caught
before anyone curates anything.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from instrack.dataset.manifest import Manifest

NO_DISTRACTOR = "no same-category distractor"


def categories_path() -> Path:
    return Path(str(resources.files("instrack.dataset") / "data" / "davis2017_categories.json"))


@lru_cache(maxsize=1)
def davis_categories() -> dict[str, dict[str, str]]:
    """{sequence: {"1": category, ...}} for the sequences the facts file covers."""
    return json.loads(categories_path().read_text(encoding="utf-8"))["sequences"]


@lru_cache(maxsize=1)
def davis_sequence_names() -> frozenset[str]:
    """Every DAVIS-2017 sequence name (train, val, test-dev, test-challenge)."""
    return frozenset(json.loads(categories_path().read_text(encoding="utf-8"))["sequence_names"])


def category_problems(manifest: Manifest, facts: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Every way a DAVIS entry disagrees with the object categories; [] when none."""
    facts = davis_categories() if facts is None else facts
    problems = []
    for entry in manifest.entries:
        if entry.source != "davis2017" or entry.target.obj_id is None:
            continue
        where = f"{manifest.path}: {entry.name}"
        objects = facts.get(entry.source_sequence)
        if objects is None:
            problems.append(f"{where}: no category facts for DAVIS sequence {entry.source_sequence!r}")
            continue
        obj = str(entry.target.obj_id)
        if obj not in objects:
            problems.append(f"{where}: {entry.source_sequence} has no object {obj} (objects: {', '.join(objects)})")
            continue
        actual = objects[obj]
        stated = entry.extra.get("category")
        why = str(entry.extra.get("why", ""))
        distractors = sum(1 for k, c in objects.items() if c == actual and k != obj)
        if stated != actual:
            problems.append(f"{where}: object {obj} is a {actual!r}, the manifest says {stated!r}")
        if not why.startswith(f"{actual}:"):
            problems.append(f"{where}: its why {why!r} does not start with the object's category {actual!r}")
        if entry.extra.get("same_category_distractors") != distractors:
            problems.append(
                f"{where}: {distractors} other {actual!r} object(s) in the sequence, the manifest says "
                f"{entry.extra.get('same_category_distractors')!r}"
            )
        if (NO_DISTRACTOR in why) != (distractors == 0):
            claim = "claims none" if NO_DISTRACTOR in why else "does not say there is none"
            problems.append(f"{where}: {distractors} same-category distractor(s) but its why {claim}")
    return problems
