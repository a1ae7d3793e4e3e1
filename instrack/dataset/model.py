"""The data model: a split holds videos; a video holds frames and instructions;
a unit is one video with one instruction, the thing a tracker answers and the
evaluator scores (SPEC §1, §5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

SEED = "seed"
REPHRASE = "rephrase"
KINDS = (SEED, REPHRASE)


@dataclass(frozen=True)
class Instruction:
    """One instruction of a video: its text and the object ids it points at."""

    exp_id: str
    text: str
    obj_ids: tuple[int, ...] = (1,)
    kind: str = SEED
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        # the text: `print(unit.instruction)` and f-strings read as they did when
        # instrack.load() units held the text there
        return self.text

    def to_json(self) -> dict[str, Any]:
        out = {"exp": self.text, "obj_id": list(self.obj_ids), "kind": self.kind}
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Video:
    """A video of one split: ordered frame names and its instructions."""

    name: str
    frames: tuple[str, ...]
    instructions: tuple[Instruction, ...] = ()
    split: str = "test"
    root: Path | None = None  # the split folder, when the video lives on disk
    height: int | None = None
    width: int | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def image_path(self, frame: str) -> Path:
        return self._require_root() / "JPEGImages" / self.name / f"{frame}.jpg"

    def mask_path(self, frame: str) -> Path:
        return self._require_root() / "Annotations" / self.name / f"{frame}.png"

    def units(self) -> Iterator["Unit"]:
        for instruction in self.instructions:
            yield Unit(self, instruction)

    def instruction(self, exp_id: str) -> Instruction:
        for instruction in self.instructions:
            if instruction.exp_id == exp_id:
                return instruction
        raise KeyError(f"{self.name} has no instruction {exp_id!r}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frames": list(self.frames)}
        for key in ("height", "width", "source"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.extra)
        out["expressions"] = {i.exp_id: i.to_json() for i in self.instructions}
        return out

    def _require_root(self) -> Path:
        if self.root is None:
            raise ValueError(f"video {self.name} is not on disk")
        return self.root


@dataclass(frozen=True)
class Unit:
    """One video with one instruction: what a tracker answers and a protocol scores.

    The same type everywhere: trackers are given these, and instrack.load()
    yields them (with pixels: loading.LoadedUnit)."""

    video: Video
    instruction: Instruction

    @property
    def key(self) -> tuple[str, str]:
        return (self.video.name, self.instruction.exp_id)

    @property
    def name(self) -> str:
        """The video's name."""
        return self.video.name

    @property
    def exp_id(self) -> str:
        return self.instruction.exp_id

    @property
    def text(self) -> str:
        """The instruction's text."""
        return self.instruction.text

    @property
    def kind(self) -> str:
        """"seed" or "rephrase"."""
        return self.instruction.kind

    @property
    def obj_ids(self) -> tuple[int, ...]:
        return self.instruction.obj_ids

    @property
    def frame_names(self) -> tuple[str, ...]:
        return self.video.frames

    def __str__(self) -> str:
        return f"{self.video.name}/{self.instruction.exp_id}"


@dataclass(frozen=True)
class Split:
    """One split of a dataset in the layout of SPEC §1."""

    name: str
    root: Path | None
    videos: dict[str, Video]

    def units(self) -> Iterator[Unit]:
        for video in self.videos.values():
            yield from video.units()

    def __len__(self) -> int:
        return len(self.videos)

    def to_json(self) -> dict[str, Any]:
        return {"videos": {name: v.to_json() for name, v in self.videos.items()}}
