"""Checking a submission against what a protocol expects, before any scoring.

Every problem is collected (file and reason) and raised together as one
SubmissionError: a submitter fixes everything in one round, and a missing
unit is never scored as 0 without a word."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from instrack.errors import Problem
from instrack.masks import MaskError
from instrack.evaluation.submission.base import Submission, is_junk


@dataclass
class Expectation:
    """What a protocol needs: per video, per unit, the frame files and their size."""

    # video -> unit label -> list of relpaths
    layout: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # video -> (height, width)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    # files a submission may hold without being scored (DAVIS's first and last frames)
    allowed: set[str] = field(default_factory=set)

    def files(self) -> set[str]:
        return {p for units in self.layout.values() for paths in units.values() for p in paths}


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _where(submission: Submission, relpath: str) -> str:
    return f"{submission.source}/{submission.unwrapped}{relpath}"


def check_submission(submission: Submission, expected: Expectation, probe: bool = True) -> ValidationReport:
    report = ValidationReport()
    members = submission.members()
    wanted = expected.files()
    report.n_files = len(wanted)

    for video, units in expected.layout.items():
        video_paths = [p for paths in units.values() for p in paths]
        if not any(p in members for p in video_paths):
            report.problems.append(
                Problem(
                    _where(submission, video + "/"),
                    f"missing video ({len(units)} unit(s), {len(video_paths)} mask file(s) expected)",
                )
            )
            continue
        for unit, paths in units.items():
            missing = [p for p in paths if p not in members]
            if len(missing) == len(paths) and len(units) > 1:
                report.problems.append(
                    Problem(_where(submission, f"{video}/{unit}/"), f"missing unit ({len(paths)} frames expected)")
                )
                continue
            for path in missing:
                report.problems.append(Problem(_where(submission, path), "missing frame"))
            if not probe:
                continue
            height, width = expected.sizes[video]
            for path in paths:
                if path in missing:
                    continue
                try:
                    got = submission.probe(path)
                except (MaskError, OSError) as err:
                    report.problems.append(Problem(_where(submission, path), str(err)))
                    continue
                if got != (height, width):
                    report.problems.append(
                        Problem(
                            _where(submission, path),
                            f"size {got[0]}x{got[1]}, ground truth is {height}x{width}",
                        )
                    )

    extra_by_video: dict[str, int] = defaultdict(int)
    for member in sorted(members - wanted - expected.allowed):
        if is_junk(member):
            continue
        if not member.lower().endswith(".png"):
            report.problems.append(Problem(_where(submission, member), "not a PNG file"))
        else:
            extra_by_video[member.split("/", 1)[0]] += 1
    for video, count in sorted(extra_by_video.items()):
        where = "outside the split" if video not in expected.layout else "not expected"
        report.warnings.append(f"{_where(submission, video + '/')}: {count} PNG file(s) {where}; ignored")
    return report
