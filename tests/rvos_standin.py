"""A stand-in for the official referring-VOS inference scripts (ReferFormer's
inference_ytvos.py and its descendants), for the adapter tests.

It accepts their command line (unknown flags ignored), reads the Ref-YouTube-VOS
layout the way they do (meta_expressions/{valid,test}, valid/JPEGImages) and
writes one 0/255 mode-L PNG per frame the way they do, under
<output_dir>/<STANDIN_LAYOUT>/<video>/<exp_id>/<frame>.png (`valid` for
ReferFormer, R²-VOS, OnlineRefer; `Annotations` for SgMg).

Its "model": with STANDIN_GT=<InsTrack split folder> it copies the ground truth
(so a correct export + convert scores exactly 1); without it, a centred box.
STANDIN_VALUES=1 writes 0/1 instead of 0/255; STANDIN_FAIL=1 exits with 3.
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ytvos_path", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--resume")
    parser.add_argument("--split", default="valid")
    args, _unknown = parser.parse_known_args()
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
