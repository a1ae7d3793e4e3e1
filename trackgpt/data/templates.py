"""Conversation templates (paper §4.1).

Referring data (Ref-YouTube-VOS, image referring sets) names the target
explicitly and uses the paper's template:

    USER: <image> Can you track the {text description} in the video?
    ASSISTANT: Sure, I track the object. <TK>, <PO>

InsTrack instructions are questions or requests that name the target only
implicitly ("Who is the fastest in this race?"), so they are put to the model
as they are, followed by the request to track their target.
"""

from __future__ import annotations

import random
from typing import Literal

from trackgpt.tokenizer import IMAGE, PO, TK

Style = Literal["referring", "instruction"]
STYLES: tuple[str, ...] = ("referring", "instruction")

REFERRING = "Can you track the {text} in the video?"
# Variants used in training only, so the brain does not bind to one wording.
REFERRING_VARIANTS = (
    REFERRING,
    "Please track the {text} in this video.",
    "Could you follow the {text} through the video?",
    "Track the {text}.",
)
INSTRUCTION = "{text} Please track the target of this instruction in the video."
ANSWER = f"Sure, I track the object. {TK}, {PO}"


def question(text: str, style: Style = "instruction", rng: random.Random | None = None) -> str:
    text = " ".join(text.split())
    if style == "referring":
        template = rng.choice(REFERRING_VARIANTS) if rng is not None else REFERRING
        return template.format(text=text.rstrip(".?! "))
    if style == "instruction":
        return INSTRUCTION.format(text=text)
    raise ValueError(f"unknown prompt style {style!r} (known: {', '.join(STYLES)})")


def prompt(question_text: str) -> str:
    """The user turn up to the assistant's answer (LLaVA's USER/ASSISTANT format)."""
    return f"USER: {IMAGE}\n{question_text} ASSISTANT:"


def answer() -> str:
    return " " + ANSWER
