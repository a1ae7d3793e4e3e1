"""What the model is asked, and the shape of its answers.

PROMPT_VERSION names the wording; PROMPT_SHA256 is a digest of the templates and
the response schemas, recorded in every rephrasing's provenance, so a changed
prompt is visible in the data even if someone forgets to bump the version.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

PROMPT_VERSION = "rephrase-v1"
N_REPHRASINGS = 5


class Rephrasings(BaseModel):
    """The structured answer to a rephrase request: exactly five texts."""

    model_config = ConfigDict(extra="forbid")
    rephrasings: list[str] = Field(min_length=N_REPHRASINGS, max_length=N_REPHRASINGS)


class Judgement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int
    same_target: bool
    implicit: bool
    reason: str


class Judgements(BaseModel):
    """The judge's answer: one judgement per candidate, by index."""

    model_config = ConfigDict(extra="forbid")
    judgements: list[Judgement]


SYSTEM = """\
You write instructions for a video object tracking benchmark. An instruction \
points at one target object in a video without naming what kind of object it is: \
the tracker has to reason about the scene to find it (for example "Who will win \
the race?" instead of "the fastest runner").

Rewrite the given instruction {n} times. Every rewrite must:
- point at exactly the same target and keep its meaning;
- stay implicit: never use any of these words: {forbidden};
- differ clearly from the original and from the other rewrites (new wording or \
structure, not just synonyms swapped);
- be one sentence or question of {min_words} to {max_words} words.
Answer in JSON with the key "rephrasings" holding exactly {n} strings."""

USER = 'Instruction: "{seed}"'

RETRY = """\
These rewrites were rejected; write {n} new ones that avoid the problems:
{rejected}"""

JUDGE_SYSTEM = """\
You check rewrites of an instruction for a video object tracking benchmark. The \
original instruction points at one target (a {category}) without naming it. For \
each numbered rewrite decide: same_target (does it point at the same target, with \
the same meaning?) and implicit (does it avoid naming the target's kind of \
object?). Give a short reason. Answer in JSON with the key "judgements"."""

JUDGE_USER = """\
Original: "{seed}"
Rewrites:
{candidates}"""


def response_format(model: type[BaseModel]) -> dict:
    """The OpenAI `response_format` for a pydantic model (strict JSON schema)."""
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "strict": True, "schema": model.model_json_schema()},
    }


def _digest() -> str:
    payload = {
        "version": PROMPT_VERSION,
        "templates": [SYSTEM, USER, RETRY, JUDGE_SYSTEM, JUDGE_USER],
        "schemas": [Rephrasings.model_json_schema(), Judgements.model_json_schema()],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


PROMPT_SHA256 = _digest()


def rephrase_messages(
    seed: str,
    forbidden: tuple[str, ...],
    min_words: int,
    max_words: int,
    rejected: list[tuple[str, str]],
) -> list[dict]:
    """The messages of one rephrase request; `rejected` are earlier (text, reason)
    pairs, so each regeneration sends something new (and is cached separately)."""
    system = SYSTEM.format(
        n=N_REPHRASINGS,
        forbidden=", ".join(f'"{t}"' for t in forbidden) if forbidden else "(none given)",
        min_words=min_words,
        max_words=max_words,
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": USER.format(seed=seed)}]
    if rejected:
        lines = "\n".join(f'- "{text}": {reason}' for text, reason in rejected)
        messages.append({"role": "user", "content": RETRY.format(n=N_REPHRASINGS, rejected=lines)})
    return messages


def judge_messages(seed: str, category: str | None, candidates: list[str]) -> list[dict]:
    listing = "\n".join(f"{i}. {text}" for i, text in enumerate(candidates))
    return [
        {"role": "system", "content": JUDGE_SYSTEM.format(category=category or "object")},
        {"role": "user", "content": JUDGE_USER.format(seed=seed, candidates=listing)},
    ]
