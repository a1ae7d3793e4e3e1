"""Errors a user can cause. The CLI prints them as one line and exits with 2."""

from __future__ import annotations

from dataclasses import dataclass


class InsTrackError(Exception):
    """Base of every error caused by input (files, flags), not by a bug."""


class DataError(InsTrackError):
    """The ground-truth dataset is missing, malformed or inconsistent."""


class UsageError(InsTrackError):
    """A flag or argument combination that cannot work."""


# Line breaks and other control characters, as Python writes them in a string
# literal: a file named "a\nb.png" (zip members can be) must not break the
# one line per problem that the CLI prints and the web board shows.
_ESCAPED = {c: repr(chr(c))[1:-1] for c in (*range(32), 127, 0x85, 0x2028, 0x2029)}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: where, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}".translate(_ESCAPED)


class SubmissionError(InsTrackError):
    """A submission with one or more problems; all are listed, none is scored."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        first = str(self.problems[0]) if self.problems else "unknown problem"
        more = f" (and {n - 1} more)" if n > 1 else ""
        super().__init__(f"invalid submission {source}: {first}{more}")


class MissingExtraError(InsTrackError):
    """An optional part (torch, a server client) is not installed."""


def require(module: str, extra: str):
    """Import an optional dependency or explain which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise MissingExtraError(
            f"this needs the optional package {module!r}: pip install -e '.[{extra}]' (in your clone of instrack)"
        ) from err
