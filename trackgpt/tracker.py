"""Algorithm 1: online tracking with rethinking, for all instructions of a video.

Per frame t (constant memory; one frame in flight):
  1. the frame is encoded once (SAM's set_image, in effect) for all K units;
  2. the brain runs for every unit at t = 0 and, with rethinking on, for each unit
     whose purport score S_p on frame t-1 fell below tau (Alg. 1, lines 8-10);
     those calls are batched on the frame;
  3. one decoder call for all K units gives m_t, S_p and (with propagation) Q_{t+1}.

tau = tau_ratio x the unit's first-frame S_p (0.5 in the paper). S_p estimates an
IoU, so it is clamped to [0, 1] before it is compared or used for tau. After a
rethink the online query restarts from the new Q_R, since the old one carries
the drift that triggered it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Sequence


from instrack.errors import UsageError
from instrack.dataset.model import Unit, Video
from instrack.tracking.base import FrameOutput, Tracker, iter_frames


@dataclass(frozen=True)
class TrackingConfig:
    rethinking: bool = True
    propagation: bool = True
    tau_ratio: float = 0.5
    #: an absolute threshold instead of tau_ratio x first score
    tau: float | None = None
    #: generate the text answer (False: the template answer, one pass cheaper)
    generate_answer: bool = True
    #: "instruction" (InsTrack) or "referring" (Ref-YouTube-VOS / Ref-DAVIS descriptions)
    prompt_style: str = "instruction"
    #: "authors" ("<instruction> Please track the object.", as the authors put it) or "ours"
    instruction_form: str = "authors"

    def __post_init__(self) -> None:
        if not 0.0 <= self.tau_ratio <= 1.0:
            raise UsageError(f"--tau-ratio {self.tau_ratio}: must lie in [0, 1]")
        from trackgpt.data.templates import STYLES

        if self.prompt_style not in STYLES:
            raise UsageError(f"prompt style {self.prompt_style!r}: use one of {', '.join(STYLES)}")
        from trackgpt.data.templates import INSTRUCTION_FORMS

        if self.instruction_form not in INSTRUCTION_FORMS:
            raise UsageError(f"--instruction-form {self.instruction_form!r}: use one of {', '.join(INSTRUCTION_FORMS)}")


@dataclass
class _UnitState:
    question: str
    q_r: Any = None
    q_p: Any = None
    q_t: Any = None
    tau: float | None = None
    last_score: float = 1.0
    rethought: list[int] = field(default_factory=list)


class TrackGPTTracker(Tracker):
    name = "trackgpt"

    def __init__(self, model, config: TrackingConfig = TrackingConfig(), weights: dict[str, Any] | None = None):
        self.model = model.eval()
        self.config = config
        #: where the weights came from (build_tracker): llava, sam, checkpoint paths or None,
        #: and random_weights, the parts left randomly initialised
        self.weights = weights or {}
        #: frame indices at which the brain ran, per (video, exp_id): frame 0 and rethinks
        self.brain_frames: dict[tuple[str, str], list[int]] = {}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "preset": self.model.preset.name, **self.weights, **asdict(self.config)}

    def track(self, video: Video, units: Sequence[Unit]) -> Iterator[FrameOutput]:
        import torch

        from trackgpt.data.templates import TemplateOptions, question

        model, config = self.model, self.config
        options = TemplateOptions(instruction_form=config.instruction_form)
        states = {u.instruction.exp_id: _UnitState(question(u.instruction.text, config.prompt_style, options=options))
                  for u in units}
        ids = list(states)
        for key in ids:
            self.brain_frames[(video.name, key)] = []
        with torch.inference_mode(), model.autocast():
            for t, frame, image in iter_frames(video):
                pixels, geometry = model.perception.encoder.preprocess(image)
                features = model.perception.encode(pixels[None])
                due = [k for k in ids if t == 0 or (config.rethinking and states[k].last_score < states[k].tau)]
                answers = {}
                if due:
                    out = model.brain.reason(image, [states[k].question for k in due], generate=config.generate_answer)
                    for i, k in enumerate(due):
                        s = states[k]
                        s.q_r, s.q_p = out.q_r[i], out.q_p[i]
                        s.q_t = s.q_r  # Q_0 = Q_R; restarted on rethinking
                        answers[k] = out.answers[i]
                        self.brain_frames[(video.name, k)].append(t)
                q_r = torch.stack([states[k].q_r for k in ids])
                q_p = torch.stack([states[k].q_p for k in ids])
                q_t = torch.stack([states[k].q_t for k in ids]) if config.propagation else None
                decoded = model.perception.decode(features, q_r, q_p, q_t)
                logits = model.perception.masks(decoded.low_res, geometry)
                masks = (logits > 0).cpu().numpy()
                scores = decoded.score.float().clamp(0.0, 1.0).cpu().tolist()
                for i, k in enumerate(ids):
                    s = states[k]
                    s.last_score = scores[i]
                    if t == 0:
                        s.tau = config.tau if config.tau is not None else config.tau_ratio * scores[i]
                    if decoded.next_query is not None:
                        s.q_t = decoded.next_query[i]
                yield FrameOutput(
                    index=t,
                    frame=frame,
                    masks={k: masks[i] for i, k in enumerate(ids)},
                    scores={k: scores[i] for i, k in enumerate(ids)},
                    reasoned=frozenset(due),
                    answers=answers,
                )


def build_tracker(
    preset: str = "tiny",
    checkpoint: str | Path | None = None,
    llava: str | Path | None = None,
    sam: str | Path | None = None,
    device: str | None = None,
    dtype: str | None = None,
    seed: int = 0,
    **tracking: Any,
) -> TrackGPTTracker:
    """The registry's factory for `instrack track --tracker trackgpt`."""
    known = {f.name for f in fields(TrackingConfig)}
    unknown = sorted(set(tracking) - known)
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise UsageError(f"tracker 'trackgpt' does not take {flags}")
    config = TrackingConfig(**tracking)
    from trackgpt.model import build_model
    from trackgpt.presets import get_preset

    preset = get_preset(preset)
    if not preset.builtin_tokenizer and (llava is None or sam is None):
        # Random full-size weights only make sense for timing (benchmarks/trackgpt.py).
        raise UsageError(f"--preset {preset.name} needs --llava and --sam (local weights), and --checkpoint "
                         "for trained TrackGPT weights")
    weights = weights_record(llava, sam, checkpoint, seed)
    if weights["random_weights"]:
        import sys

        print(f"trackgpt: preset {preset.name} with RANDOM weights ({', '.join(weights['random_weights'])}: "
              "no --llava/--sam/--checkpoint): its masks check the plumbing and are not a result; "
              "this is recorded in --report", file=sys.stderr)
    model = build_model(preset, llava=llava, sam=sam, checkpoint=checkpoint, device=device, dtype=dtype, seed=seed)
    return TrackGPTTracker(model, config, weights)


def weights_record(llava, sam, checkpoint, seed: int) -> dict[str, Any]:
    """What the weights are, for --report: files given, and the parts left random
    (a TrackGPT checkpoint holds the trained parts; without one they are random)."""
    random_parts = [name for name, path in (("llava", llava), ("sam", sam), ("checkpoint", checkpoint))
                    if path is None]
    return {"llava": None if llava is None else str(llava), "sam": None if sam is None else str(sam),
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "random_weights": random_parts, "seed": seed if random_parts else None}
