"""Conversation templates (paper §4.1) and the conversations of each data kind.

The paper gives one template, for Ref-YouTube-VOS (stage 2):

    USER: <image> Can you track the {text description} in the video?
    ASSISTANT: Sure, I track the object. <TK>, <PO>

Everything else here is our choice, marked as such (docs/trackgpt.md, "paper
says / we do"):

* InsTrack instructions name the target only implicitly; the authors' own
  figure and README put them as "<instruction> Please track the object."
  ("Who will win the race? Please track the object."), which is the default
  `INSTRUCTION` form. `INSTRUCTION_OURS` is the wording used before.
* Stage-1 image data (class names, referring expressions) go through the same
  referring template: an image is a one-frame video.
* `REFERRING_VARIANTS` adds three more wordings in training only (not the
  paper's); `TemplateOptions(paper_only=True)` keeps the paper's one.
* ReasonSeg keeps its free-form answer after the tokens ("Sure, I track the
  object. <TK>, <PO> {explanation}"), as LISA's "[SEG] + explanation" answers.
* LLaVA-Instruct-150k conversations are used as they are (text loss only).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Sequence

from trackgpt.tokenizer import IMAGE, PO, TK

Style = Literal["referring", "instruction"]
STYLES: tuple[str, ...] = ("referring", "instruction")

REFERRING = "Can you track the {text} in the video?"  # the paper's (§4.1)
# Our addition, training only, so the brain does not bind to one wording.
REFERRING_VARIANTS = (
    REFERRING,
    "Please track the {text} in this video.",
    "Could you follow the {text} through the video?",
    "Track the {text}.",
)
#: the authors' instruction form (Fig. 1 and the TrackGPT README)
INSTRUCTION = "{text} Please track the object."
#: our earlier wording, kept as an alternative (`instruction_form="ours"`)
INSTRUCTION_OURS = "{text} Please track the target of this instruction in the video."
INSTRUCTION_FORMS = {"authors": INSTRUCTION, "ours": INSTRUCTION_OURS}
ANSWER = f"Sure, I track the object. {TK}, {PO}"  # the paper's (§4.1)


@dataclass(frozen=True)
class TemplateOptions:
    """Which of our template choices are on (defaults: the faithful ones where the
    paper or the authors give one; variants on for referring training data)."""

    #: only the paper's referring template, no training variants
    paper_only: bool = False
    #: "authors" ("<instruction> Please track the object.") or "ours"
    instruction_form: str = "authors"

    def __post_init__(self) -> None:
        if self.instruction_form not in INSTRUCTION_FORMS:
            raise ValueError(f"instruction form {self.instruction_form!r}: use one of {', '.join(INSTRUCTION_FORMS)}")


DEFAULT_OPTIONS = TemplateOptions()


def question(text: str, style: Style = "instruction", rng: random.Random | None = None,
             options: TemplateOptions = DEFAULT_OPTIONS) -> str:
    """The user's question for a target description (referring) or an instruction.
    `rng` is given in training only: it picks a referring variant unless
    `options.paper_only`."""
    text = " ".join(text.split())
    if style == "referring":
        variants = (REFERRING,) if options.paper_only else REFERRING_VARIANTS
        template = rng.choice(variants) if rng is not None else REFERRING
        return template.format(text=text.rstrip(".?! "))
    if style == "instruction":
        return INSTRUCTION_FORMS[options.instruction_form].format(text=text)
    raise ValueError(f"unknown prompt style {style!r} (known: {', '.join(STYLES)})")


def prompt(question_text: str) -> str:
    """The user turn up to the assistant's answer (LLaVA's USER/ASSISTANT format)."""
    return f"USER: {IMAGE}\n{question_text} ASSISTANT:"


def follow_up(question_text: str) -> str:
    """A later user turn of a multi-turn conversation (no image)."""
    return f" USER: {question_text} ASSISTANT:"


def answer(explanation: str | None = None) -> str:
    """The assistant's answer with <TK>, <PO>; a free-form explanation (ReasonSeg)
    follows the tokens."""
    text = " " + ANSWER
    if explanation:
        text += " " + " ".join(explanation.split())
    return text


Turn = tuple[str, str]  # (user text, assistant text); the first user turn carries the image


def conversation(text: str, style: Style, rng: random.Random | None = None, *, explanation: str | None = None,
                 options: TemplateOptions = DEFAULT_OPTIONS) -> list[Turn]:
    """One segmentation turn: the question about `text` and the answer with <TK>, <PO>."""
    return [(question(text, style, rng, options), answer(explanation))]


def vqa_turns(turns: Sequence[Turn]) -> list[Turn]:
    """A visual question-answering conversation as training turns: the image
    placeholder of the source is dropped (ours goes before the first question),
    answers keep their leading space so they tokenise as in the template."""
    out = []
    for user, assistant in turns:
        user = " ".join(user.replace(IMAGE, " ").split())
        out.append((user, " " + assistant.strip()))
    return out
