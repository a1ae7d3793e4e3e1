"""A stand-in for the official referring-VOS inference scripts (ReferFormer's
inference_ytvos.py and its descendants), for the adapter tests.

It parses the command line strictly, with exactly the flags of the script it stands
in for (STANDIN_BASELINE=referformer|sgmg|r2vos|onlinerefer; the table is
rvos_upstream_flags.json, checked against the real parsers by the upstream
conformance test): an unknown flag exits with status 2 as argparse does. It reads the Ref-YouTube-VOS
layout the way they do (meta_expressions/{valid,test}, valid/JPEGImages) and
writes one 0/255 mode-L PNG per frame the way they do, under
<output_dir>/<STANDIN_LAYOUT>/<video>/<exp_id>/<frame>.png (`valid` for
ReferFormer, R²-VOS, OnlineRefer; `Annotations` for SgMg).

Its "model": with STANDIN_GT=<InsTrack split folder> it copies the ground truth
(so a correct export + convert scores exactly 1); without it, a centred box.
STANDIN_VALUES=1 writes 0/1 instead of 0/255; STANDIN_FAIL=1 exits with 3;
STANDIN_WORKER_FAIL=1 prints a traceback and exits 0 (as their scripts do when a worker dies).
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image


def build_parser(baseline: str) -> argparse.ArgumentParser:
    table = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rvos_upstream_flags.json")
    if not os.path.isfile(table):  # copied into a fake checkout: the table lives beside the original
        table = os.environ["STANDIN_FLAGS"]
    with open(table) as f:
        flags = json.load(f)["flags"][baseline]
    parser = argparse.ArgumentParser(f"stand-in for {baseline}")
    for flag, takes_value in flags.items():
        if takes_value:
            parser.add_argument(flag)
        else:
            parser.add_argument(flag, action="store_true")
    parser.set_defaults(split="valid", output_dir="output")
    return parser


def main() -> int:
    baseline = os.environ.get("STANDIN_BASELINE")
    if not baseline:  # the fake checkout says which script it fakes
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".standin-baseline")) as f:
            baseline = f.read().strip()
    args = build_parser(baseline).parse_args()
    if not args.ytvos_path:
        raise SystemExit("stand-in: --ytvos_path is required")
    if os.environ.get("STANDIN_WORKER_FAIL"):  # a dead multiprocessing worker: traceback, exit 0
        print("Traceback (most recent call last):\n  File \"x.py\", line 1\nAssertionError", file=sys.stderr)
        return 0
    if os.environ.get("STANDIN_FAIL"):
        print("stand-in: failing as asked", file=sys.stderr)
        return 3
    if args.resume and not os.path.isfile(args.resume):
        raise SystemExit(f"no checkpoint {args.resume}")
    root = args.ytvos_path
    with open(os.path.join(root, "meta_expressions", args.split, "meta_expressions.json")) as f:
        data = json.load(f)["videos"]
    with open(os.path.join(root, "meta_expressions", "test", "meta_expressions.json")) as f:
        test_videos = set(json.load(f)["videos"])
    layout = os.environ.get("STANDIN_LAYOUT", args.split)
    scale = 1 if os.environ.get("STANDIN_VALUES") == "1" else 255
    gt_root = os.environ.get("STANDIN_GT")
    for video in sorted(set(data) - test_videos):
        frames = data[video]["frames"]
        for exp_id in data[video]["expressions"]:
            save = os.path.join(args.output_dir, layout, video, exp_id)
            os.makedirs(save, exist_ok=True)
            for frame in frames:
                with Image.open(os.path.join(root, args.split, "JPEGImages", video, frame + ".jpg")) as img:
                    w, h = img.size
                if gt_root:
                    gt = np.asarray(Image.open(os.path.join(gt_root, "Annotations", video, frame + ".png")))
                    mask = (gt == 1).astype(np.float32)
                else:
                    mask = np.zeros((h, w), np.float32)
                    mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
                Image.fromarray(mask * scale).convert("L").save(os.path.join(save, frame + ".png"))
    print(f"stand-in: wrote {len(data)} videos to {args.output_dir}/{layout}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
