"""LISA* (paper §4.2): LISA applied to video by computing the [SEG] embedding on
the first frame and segmenting every frame with it. The LLM runs once per video
(for all its instructions at once); each frame costs SAM's encoder and decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

from instrack.errors import UsageError
from instrack.dataset.model import Unit, Video
from instrack.tracking.base import FrameOutput, Tracker, iter_frames


class LisaStarTracker(Tracker):
    name = "lisa"

    def __init__(self, model, prompt_style: str = "instruction", generate_answer: bool = True):
        from instrack_baselines.lisa.presets import QUESTIONS

        if prompt_style not in QUESTIONS:
            raise UsageError(f"prompt style {prompt_style!r}: use one of {', '.join(QUESTIONS)}")
        self.model = model.eval()
        self.prompt_style = prompt_style
        self.generate_answer = generate_answer

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "preset": self.model.preset.name, "prompt_style": self.prompt_style,
                "seg_embedding": "first frame, reused for every frame"}

    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        import torch

        ids = [u.instruction.exp_id for u in units]
        seg = None
        with torch.inference_mode():
            for t, frame, image in iter_frames(video):
                answers = {}
                if seg is None:  # frame 0 only: the <SEG> embedding is computed once per video
                    seg, texts = self.model.seg_embeddings(image, [u.instruction.text for u in units],
                                                           style=self.prompt_style, generate=self.generate_answer)
                    answers = dict(zip(ids, texts))
                features, geometry = self.model.encode(image)
                logits = self.model.segment(features, seg, geometry)
                masks = (logits > 0).cpu().numpy()
                yield FrameOutput(index=t, frame=frame, masks={k: masks[i] for i, k in enumerate(ids)},
                                  reasoned=frozenset(ids) if t == 0 else frozenset(), answers=answers)


def build_tracker(preset: str = "tiny", lisa: str | Path | None = None, clip: str | Path | None = None,
                  device: str | None = None, dtype: str | None = None, seed: int = 0,
                  prompt_style: str = "instruction", **unknown: Any) -> LisaStarTracker:
    """The registry's factory for `instrack track --tracker lisa`."""
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(unknown))
        raise UsageError(f"tracker 'lisa' does not take {flags} (it takes --preset, --device, --dtype, --seed; "
                         "weights: LISA_CHECKPOINT and CLIP_CHECKPOINT, see docs/baselines.md)")
    from instrack_baselines.lisa.model import build_lisa

    return LisaStarTracker(build_lisa(preset, lisa=lisa, clip=clip, device=device, dtype=dtype, seed=seed),
                           prompt_style=prompt_style)
