"""docs/trackers.md's "bring your own tracker" example, run as a reader would:
the tracker file, the two commands, and the Python snippet."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "trackers.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_example_tracker_runs_and_is_scored(tmp_path):
    tracker_file, snippet = _blocks("python")[:2]
    assert 15 <= len(tracker_file.strip().splitlines()) <= 20  # the size for a first example
    (tmp_path / "my_tracker.py").write_text(tracker_file)
    outputs = []
    for line in _blocks("bash")[0].strip().splitlines():
        assert line.startswith("instrack ")
        args = line.split()[1:]
        done = subprocess.run([sys.executable, "-m", "instrack.cli.main", *args], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        outputs.append(done)
    assert "middle: rank 0/1: wrote 30 unit(s)" in outputs[0].stderr
    assert len(list((tmp_path / "pred").rglob("*.png"))) == 480
    scored = outputs[1].stdout
    assert scored.startswith(f"SAMPLE RESULT: scored submission pred/ on the bundled sample")
    overall = next(line for line in scored.splitlines() if line.startswith("all units"))
    jf = float(overall.split()[2])
    assert 0 < jf < 60, overall  # a box in the middle overlaps the targets, but poorly
    (tmp_path / "try_it.py").write_text(snippet)
    done = subprocess.run([sys.executable, "try_it.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\S+ 0 .+\? \d+ masks\n", done.stdout), done.stdout
