"""`instrack train`: one TrackGPT training stage (paper §4.1).

    instrack train --preset 7b --stage refytvos --data refytvos=/data/ref-youtube-vos \\
        --llava /weights/llava-1.5-7b-hf --sam /weights/sam_vit_h_4b8939.pth \\
        --init runs/image/trackgpt.safetensors --out runs/refytvos

Several GPUs: `accelerate launch -m instrack.cli.main train ...` (same flags).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from instrack.cli.common import at_least

HELP = "train TrackGPT (one stage: image, refytvos, instrack) and write a safetensors checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="tiny", help="tiny, 7b, 13b, or 7b-v1 / 13b-v1 (LLaVA v1, as the paper) (default tiny)")
    parser.add_argument("--stage", required=True, help="image, refytvos, instrack or instrack-seed")
    parser.add_argument("--data", action="append", default=[], metavar="KIND=PATH[:SPLIT][@WEIGHT],...",
                        help="datasets, comma-separated or repeated. Stage image: ade20k, cocostuff, partimagenet, "
                             "pascal_part, paco_lvis, refcoco, refcoco+, refcocog, llava_instruct, reasonseg (released "
                             "layouts; default mix LISA's 9:3:3:1), images (JSONL); refytvos; instrack")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints and train_config.json")
    parser.add_argument("--llava", type=Path, help="local LLaVA folder (transformers format)")
    parser.add_argument("--sam", type=Path, help="local SAM .pth")
    parser.add_argument("--init", type=Path, help="start from this TrackGPT checkpoint (the previous stage's)")
    parser.add_argument("--epochs", type=int, help="override the stage's epochs")
    parser.add_argument("--steps-per-epoch", type=int, help="override the stage's optimizer steps per epoch")
    parser.add_argument("--batch-size", type=int, default=2, help="clips per device and micro-step (default 2)")
    parser.add_argument("--grad-accum", type=int, help="micro-steps per optimizer step (default: reach --total-batch)")
    parser.add_argument("--total-batch", type=int, default=16, help="clips per optimizer step over all devices (default 16)")
    parser.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate (default 3e-4)")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], help="default: bf16 on GPUs")
    parser.add_argument("--no-propagation", dest="propagation", action="store_false",
                        help="train without cross-frame referring propagation")
    parser.add_argument("--paper-template-only", action="store_true",
                        help="only the paper's referring template (no training variants of our own)")
    parser.add_argument("--instruction-form", choices=["authors", "ours"], default="authors",
                        help="authors: '<instruction> Please track the object.' (default); ours: the older wording")
    parser.add_argument("--shared-projection", action="store_true",
                        help="one MLP phi for <TK> and <PO>, as the paper's Eq. 1 text (default: one each)")
    parser.add_argument("--device", help="cpu to force the CPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=at_least(0), default=2, help="data loader workers per process")
    parser.add_argument("--no-progress", dest="progress", action="store_false")


def run(args: argparse.Namespace) -> int:
    from instrack.errors import require

    require("torch", "trackgpt")
    from trackgpt.train import TrainConfig, parse_data_args, train

    config = TrainConfig(
        preset=args.preset, stage=args.stage, data=parse_data_args(args.data), out=args.out,
        llava=args.llava, sam=args.sam, init=args.init, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size, grad_accum=args.grad_accum, total_batch=args.total_batch, lr=args.lr,
        warmup_steps=args.warmup_steps, mixed_precision=args.mixed_precision, propagation=args.propagation,
        seed=args.seed, device=args.device, workers=args.workers, progress=args.progress,
        paper_template_only=args.paper_template_only, instruction_form=args.instruction_form,
        shared_projection=args.shared_projection,
    )
    result = train(config)
    last = result.history[-1] if result.history else {}
    print(f"trained {result.steps} step(s); last loss {last.get('loss', float('nan')):.4f}, "
          f"IoU {last.get('iou', float('nan')):.3f} -> {result.checkpoint}", file=sys.stderr)
    return 0
