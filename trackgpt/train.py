"""Training (paper §3.5, §4.1): three stages as configurations over pluggable datasets.

    stage 1  image     ADE20K, COCO-Stuff, PartImageNet, PASCAL-Part, PACO-LVIS, RefCOCO/+/g,
                       LLaVA-Instruct-150k, ReasonSeg (released formats), mixed as LISA
    stage 2  refytvos  Ref-YouTube-VOS, referring template
    stage 3  instrack  InsTrack train split, instruction template, with rephrasings

Each stage: 10 epochs (500 / 500 / 100 steps), total batch 16, AdamW (the
paper's); lr, betas, warm-up and clipping are LISA's values (the paper gives
none); frozen SAM
encoder and LLaVA, trained LoRA + <TK>/<PO> rows + projections + decoder +
propagation; bf16 autocast with float32 masters on GPUs; several GPUs through
`accelerate launch` (DeepSpeed through an accelerate config, optional). A stage
starts from the previous stage's checkpoint (--init).
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from instrack.errors import UsageError


@dataclass(frozen=True)
class DataSpec:
    kind: str  # a key of trackgpt.data.readers.READERS
    path: Path
    split: str = "train"
    weight: float | None = None  # None: the default mix (trackgpt.data.mix: LISA's for stage 1)


@dataclass(frozen=True)
class StageConfig:
    name: str
    kinds: tuple[str, ...]  # dataset kinds the stage expects
    epochs: int
    steps_per_epoch: int
    rephrasings: bool = True


IMAGE_KINDS = ("ade20k", "cocostuff", "partimagenet", "pascal_part", "paco_lvis", "refcoco", "refcoco+", "refcocog",
               "llava_instruct", "reasonseg", "images")

STAGES: dict[str, StageConfig] = {
    "image": StageConfig("image", IMAGE_KINDS, epochs=10, steps_per_epoch=500),
    "refytvos": StageConfig("refytvos", ("refytvos",), epochs=10, steps_per_epoch=500),
    "instrack": StageConfig("instrack", ("instrack",), epochs=10, steps_per_epoch=100),
    # Table 4 ④: InsTrack instruction tuning without the ChatGPT rephrasings.
    "instrack-seed": StageConfig("instrack-seed", ("instrack",), epochs=10, steps_per_epoch=100, rephrasings=False),
}


@dataclass(frozen=True)
class TrainConfig:
    preset: str
    stage: str
    data: tuple[DataSpec, ...]
    out: Path
    llava: Path | None = None
    sam: Path | None = None
    init: Path | None = None  # checkpoint of the previous stage
    epochs: int | None = None  # None: the stage's
    steps_per_epoch: int | None = None
    batch_size: int = 2  # per device
    grad_accum: int | None = None  # None: reach total_batch over all devices
    total_batch: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 100
    mixed_precision: str | None = None  # None: bf16 on GPUs, no on CPU
    propagation: bool = True
    #: the paper's referring template only (no training variants of our own)
    paper_template_only: bool = False
    #: "authors" ("<instruction> Please track the object.") or "ours"
    instruction_form: str = "authors"
    #: one shared phi for <TK> and <PO> (the paper's Eq. 1 text)
    shared_projection: bool = False
    seed: int = 0
    device: str | None = None
    log_every: int = 10
    workers: int = 2
    progress: bool = True


@dataclass
class TrainResult:
    checkpoint: Path
    steps: int
    history: list[dict[str, float]] = field(default_factory=list)
    #: clips drawn per source dataset (this process), e.g. {"ade20k": 12, "llava_instruct": 5}
    drawn: dict[str, int] = field(default_factory=dict)


def parse_data_args(values: list[str]) -> tuple[DataSpec, ...]:
    """Every --data value; one value may list several datasets separated by commas
    (`ade20k=DIR,refcoco=DIR,llava_instruct=FILE`)."""
    import re

    specs = []
    for value in values:
        for part in re.split(r",(?=[A-Za-z0-9_+]+=)", value):
            specs.append(parse_data_arg(part))
    return tuple(specs)


def parse_data_arg(value: str) -> DataSpec:
    """--data KIND=PATH[:SPLIT][@WEIGHT]"""
    kind, sep, rest = value.partition("=")
    if not sep or not rest:
        raise UsageError(f"--data {value!r}: expected KIND=PATH (e.g. instrack=/data/instrack)")
    weight = None
    if "@" in rest:
        rest, _, w = rest.rpartition("@")
        try:
            weight = float(w)
        except ValueError as err:
            raise UsageError(f"--data {value!r}: weight {w!r} is not a number") from err
    split = "train"
    if ":" in rest and not Path(rest).exists():
        rest, _, split = rest.rpartition(":")
    return DataSpec(kind, Path(rest), split, weight)


def _lr_lambda(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def train(config: TrainConfig) -> TrainResult:
    import torch
    from accelerate import Accelerator, PartialState
    from accelerate.utils import DistributedDataParallelKwargs

    from trackgpt.checkpoints import save_checkpoint
    from trackgpt.data.mix import default_weights
    from trackgpt.data.readers import read_dataset
    from trackgpt.data.samplers import ClipDataset, collate_clips
    from trackgpt.data.templates import TemplateOptions
    from trackgpt.model import build_model
    from trackgpt.presets import get_preset

    if config.stage not in STAGES:
        raise UsageError(f"--stage {config.stage!r}: unknown (known: {', '.join(STAGES)})")
    stage = STAGES[config.stage]
    if not config.data:
        raise UsageError(f"--data is required (stage {stage.name} reads: {', '.join(stage.kinds)})")
    try:
        templates = TemplateOptions(paper_only=config.paper_template_only, instruction_form=config.instruction_form)
    except ValueError as err:
        raise UsageError(f"--instruction-form: {err}") from err
    for spec in config.data:
        if spec.kind not in stage.kinds:
            print(f"note: stage {stage.name} normally reads {', '.join(stage.kinds)}, not {spec.kind}", file=sys.stderr)
    epochs = config.epochs or stage.epochs
    steps_per_epoch = config.steps_per_epoch or stage.steps_per_epoch
    total_steps = epochs * steps_per_epoch

    cpu = config.device == "cpu" or not torch.cuda.is_available()
    mixed = config.mixed_precision or ("no" if cpu else "bf16")
    world = PartialState(cpu=cpu).num_processes  # known before accumulation is fixed
    accum = config.grad_accum or max(1, math.ceil(config.total_batch / (config.batch_size * world)))
    # Without propagation its module gets no gradient, nor does the decoder on a
    # batch of text-only turns; DDP must be told.
    text_only = any(d.kind in ("llava_instruct", "reasonseg") for d in config.data)
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not config.propagation or text_only)
    accelerator = Accelerator(cpu=cpu, mixed_precision=mixed, gradient_accumulation_steps=accum,
                              kwargs_handlers=[ddp])
    # Frozen weights in bf16 on GPU; trainable ones float32 (autocast by accelerate).
    preset = get_preset(config.preset, **({"shared_projection": True} if config.shared_projection else {}))
    model = build_model(preset, llava=config.llava, sam=config.sam, checkpoint=config.init,
                        device=accelerator.device, dtype=None if not cpu else "float32",
                        seed=config.seed, for_training=True)
    mix = default_weights([d.kind for d in config.data])
    sources = [(read_dataset(d.kind, d.path, d.split, stage.rephrasings), d.weight if d.weight is not None else w)
               for d, w in zip(config.data, mix)]
    dataset = ClipDataset(sources, length=total_steps * config.batch_size * accum * world,
                          seed=config.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=False,
                                         collate_fn=collate_clips, num_workers=config.workers if not cpu else 0)
    params = [p for _, p in model.trainable_named_parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.95))
    # accelerate steps a prepared scheduler once per process at each optimizer step.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config.warmup_steps * world, total_steps * world))
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    out = Path(config.out)
    rng = random.Random(config.seed + accelerator.process_index)
    history: list[dict[str, float]] = []
    from tqdm import tqdm

    bar = tqdm(total=total_steps, desc=f"train {stage.name}", file=sys.stderr,
               disable=not (config.progress and accelerator.is_main_process), dynamic_ncols=True)
    step, start = 0, time.perf_counter()
    model.train()
    drawn: dict[str, int] = {}
    for clips in loader:
        for clip in clips:
            key = clip.item.source or "?"
            drawn[key] = drawn.get(key, 0) + 1
        with accelerator.accumulate(model):
            losses = model(clips, propagation=config.propagation, rng=rng, templates=templates)
            accelerator.backward(losses["loss"])
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        if not accelerator.sync_gradients:
            continue
        step += 1
        record = {k: float(v.detach()) for k, v in losses.items()}
        record["step"] = step
        history.append(record)
        bar.update(1)
        if step % config.log_every == 0 or step == total_steps:
            bar.set_postfix(loss=f"{record['loss']:.3f}", iou=f"{record.get('iou', float('nan')):.2f}")
        if step % steps_per_epoch == 0 and accelerator.is_main_process and step < total_steps:
            save_checkpoint(accelerator.unwrap_model(model), out / f"epoch{step // steps_per_epoch:03d}.safetensors",
                            extra={"stage": stage.name, "step": step})
        if step >= total_steps:
            break
    bar.close()
    accelerator.wait_for_everyone()
    final = out / "trackgpt.safetensors"
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        save_checkpoint(unwrapped, final, extra={"stage": stage.name, "step": step})
        from instrack.fileio import atomic_write_json

        atomic_write_json(out / "train_config.json", {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k != "data"},
            "data": [{**asdict(d), "path": str(d.path), "weight": w} for d, (_, w) in zip(config.data, sources)],
            "grad_accum": accum, "world_size": world, "mixed_precision": mixed,
            "seconds": time.perf_counter() - start, "last": history[-1] if history else None,
            "drawn": dict(sorted(drawn.items())),
        })
    return TrainResult(final, step, history, drawn)


__all__ = ["DataSpec", "STAGES", "StageConfig", "TrainConfig", "TrainResult", "parse_data_arg", "parse_data_args",
           "train"]
