"""Deterministic checks of candidate rephrasings, before any judge call.

Each candidate gets a verdict: which checks it passed and, if it failed, why
(a short reason that is fed back to the model when regenerating and shown in
the review project).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from instrack_annotation.categories import names_category, words

CATEGORY, DISTINCT, LENGTH, JUDGE = "category", "distinct", "length", "judge"


@dataclass(frozen=True)
class CheckConfig:
    """Bounds of an acceptable rephrasing.

    min_words / max_words: length in words (a seed like "Who will win the race?"
    has 5). max_similarity: SequenceMatcher ratio on normalised text at or above
    which two texts count as near-duplicates.
    """

    min_words: int = 3
    max_words: int = 40
    max_similarity: float = 0.85


@dataclass
class Verdict:
    text: str
    passed: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(self.passed.values())

    def fail(self, check: str, reason: str) -> None:
        self.passed[check] = False
        self.reasons.append(reason)


def normalised(text: str) -> str:
    return " ".join(words(text))


def similarity(a: str, b: str) -> float:
    """1.0 for the same words in any order, else the character-level ratio."""
    na, nb = normalised(a), normalised(b)
    if na == nb or (na and sorted(na.split()) == sorted(nb.split())):
        return 1.0
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio()


def check_candidates(
    seed: str,
    candidates: list[str],
    kept: list[str],
    terms: tuple[str, ...],
    config: CheckConfig,
) -> list[Verdict]:
    """Check each candidate against the seed, the rephrasings already kept and
    the candidates before it that passed (so of two near-duplicates the first stays)."""
    verdicts: list[Verdict] = []
    others = list(kept)
    for text in candidates:
        verdict = Verdict(text=text.strip())
        verdict.passed = {CATEGORY: True, DISTINCT: True, LENGTH: True}
        term = names_category(verdict.text, terms)
        if term is not None:
            verdict.fail(CATEGORY, f"names the target's category ({term!r})")
        n = len(words(verdict.text))
        if n < config.min_words:
            verdict.fail(LENGTH, f"too short ({n} words, at least {config.min_words})")
        elif n > config.max_words:
            verdict.fail(LENGTH, f"too long ({n} words, at most {config.max_words})")
        if similarity(verdict.text, seed) >= config.max_similarity:
            verdict.fail(DISTINCT, "near-duplicate of the seed")
        else:
            for other in others:
                if similarity(verdict.text, other) >= config.max_similarity:
                    verdict.fail(DISTINCT, f"near-duplicate of {other!r}")
                    break
        if verdict.ok:
            others.append(verdict.text)
        verdicts.append(verdict)
    return verdicts
