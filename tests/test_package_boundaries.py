"""The house's one-way data flow: `instrack` imports none of the suite's other
packages; they plug their verbs and trackers in through entry points."""

from __future__ import annotations

import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

import instrack
from instrack.cli.main import VERB_GROUP, VERBS, all_verbs
from instrack.tracking import TRACKER_GROUP, TRACKERS

SIBLINGS = {"instrack_annotation", "instrack_leaderboard", "instrack_baselines", "trackgpt"}
PACKAGE = Path(instrack.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_instrack_imports_no_sibling_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[0] in SIBLINGS:
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_the_dataset_tooling_does_not_import_the_evaluator():
    offenders = []
    for path in sorted((PACKAGE / "dataset").rglob("*.py")):
        for module in _imported_modules(path):
            if module.startswith("instrack.evaluation"):
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_evaluator_and_dataset_are_subpackages():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    # shared by both halves: errors, files, masks (and their PNG decoder), and the
    # readers of untrusted COCO RLE and zip archives (submissions and dataset releases alike)
    assert top <= {"__init__", "errors", "fileio", "masks", "png_decode", "coco_rle", "archives"}, top
    for sub in ("evaluation", "evaluation/protocols", "evaluation/submission", "dataset", "dataset/sources"):
        assert (PACKAGE / sub / "__init__.py").is_file(), sub


def test_every_contributed_verb_imports_and_defines_the_verb_interface():
    contributed = {e.name for e in entry_points(group=VERB_GROUP)}
    assert {"leaderboard", "serve", "reproduce", "train", "rephrase", "annotate", "instructions"} <= contributed
    for verb, module_name in all_verbs().items():
        module = importlib.import_module(module_name)
        assert isinstance(module.HELP, str) and callable(module.add_arguments) and callable(module.run), verb
    assert set(VERBS) <= set(all_verbs())


def test_every_contributed_tracker_resolves_without_building_it():
    contributed = {e.name for e in entry_points(group=TRACKER_GROUP)}
    assert {"trackgpt", "lisa", "empty", "full", "first-frame-oracle"} <= contributed
    for name in contributed:
        assert name in TRACKERS
        assert callable(TRACKERS.target(name)), name
