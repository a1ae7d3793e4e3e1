"""TrackGPT speed: perception frames/s, brain-call latency, end-to-end frames/s at
the paper's 3% rethink rate, peak GPU memory.

    python benchmarks/trackgpt.py                      # GPU: 7B preset, bf16; CPU: tiny only
    python benchmarks/trackgpt.py --preset 13b --frames 100 --json out.json

Weights are random (built directly on the GPU): timings do not depend on weight
values, except that a random brain never stops generating early, so generation
always runs --max-new-tokens (an upper bound on the answer's cost). Random
weights never trigger rethinking on their own, so the purport score is forced
below tau on a deterministic --rethink-rate fraction of (frame, instruction)
pairs. Frames are 480p JPEGs read from disk, as `instrack track` reads them.

"Video frames/s" counts frames with all --instructions answered (InsTrack's 6
per video, one encoding per frame); "unit frames/s" counts (frame, instruction)
pairs, i.e. frames of a submission.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="default: 7b on a GPU; the CPU always runs tiny")
    parser.add_argument("--frames", type=int, default=60, help="frames of the end-to-end video")
    parser.add_argument("--instructions", type=int, default=6)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--rethink-rate", type=float, default=0.03)
    parser.add_argument("--max-new-tokens", type=int, help="answer tokens generated per brain call (default: preset)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    from instrack.dataset.layout import read_split
    from instrack.tracking.synthetic import write_synthetic_split
    from trackgpt.model import build_model
    from trackgpt.tracker import TrackGPTTracker, TrackingConfig

    gpu = torch.cuda.is_available()
    preset = args.preset or ("7b" if gpu else "tiny")
    if not gpu and preset != "tiny":
        print(f"no GPU: reporting the tiny preset, not {preset}", file=sys.stderr)
        preset = "tiny"
    device = torch.device("cuda" if gpu else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(preset, device=device, dtype="bfloat16" if gpu else "float32")
    model.eval()
    if args.max_new_tokens is not None:
        model.brain.max_new_tokens = args.max_new_tokens
    build_s = time.perf_counter() - t0
    if gpu:
        torch.cuda.reset_peak_memory_stats(device)

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(args.height, args.width, 3), dtype=np.uint8)
    k = args.instructions
    results: dict = {"preset": preset, "device": torch.cuda.get_device_name(device) if gpu else "cpu",
                     "dtype": "bfloat16" if gpu else "float32", "frame_size": [args.height, args.width],
                     "instructions": k, "build_seconds": round(build_s, 1),
                     "max_new_tokens": model.brain.max_new_tokens}

    with torch.inference_mode(), model.autocast():
        perception = model.perception
        pixels, geometry = perception.encoder.preprocess(image)
        features = perception.encode(pixels[None])
        thought = model.brain.reason(image, ["Which player is about to score?"] * k, generate=False)

        def encode():
            p, _ = perception.encoder.preprocess(image)
            perception.encode(p[None])

        def decode():
            d = perception.decode(features, thought.q_r, thought.q_p, thought.q_r)
            (perception.masks(d.low_res, geometry) > 0).cpu()

        encode(), decode()
        enc = statistics.median(_timed(encode, device, args.repeat))
        dec = statistics.median(_timed(decode, device, args.repeat))
        results["perception"] = {
            "encoder_ms": round(enc * 1e3, 2),
            "decoder_ms_all_instructions": round(dec * 1e3, 2),
            "video_frames_per_s": round(1.0 / (enc + dec), 2),
        }
        brain = {}
        for batch in (1, k):
            questions = ["Which player is about to score?"] * batch
            for mode, generate in (("generate", True), ("forced", False)):
                model.brain.reason(image, questions, generate=generate)
                times = _timed(lambda: model.brain.reason(image, questions, generate=generate), device,
                               max(3, args.repeat // 3))
                brain[f"batch{batch}_{mode}_ms"] = round(statistics.median(times) * 1e3, 1)
        results["brain"] = brain

    # End to end through the tracker, frames read from JPEG files.
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_split(tmp, videos=1, frames=args.frames, size=(args.height, args.width),
                                     instructions=k, seed=1)
        video = next(iter(read_split(root).videos.values()))
        units = list(video.units())
        ids = [u.instruction.exp_id for u in units]
        pick = random.Random(0)
        forced = {(t, e) for t in range(1, args.frames) for e in ids if pick.random() < args.rethink_rate}
        decode_real = perception.decode
        frame = {"t": -1}

        def decode_with_forced_purport(features, q_r, q_p, q_t):
            frame["t"] += 1
            out = decode_real(features, q_r, q_p, q_t)
            score = torch.ones_like(out.score)
            for i, e in enumerate(ids):
                if (frame["t"], e) in forced:
                    score[i] = 0.0
            out.score = score
            return out

        perception.decode = decode_with_forced_purport
        tracker = TrackGPTTracker(model, TrackingConfig())
        _sync(device)
        start = time.perf_counter()
        outputs = list(tracker.track(video, units))
        _sync(device)
        seconds = time.perf_counter() - start
        perception.decode = decode_real
    rethinks = sum(len(o.reasoned) for o in outputs[1:])
    results["end_to_end"] = {
        "frames": args.frames,
        "seconds": round(seconds, 2),
        "video_frames_per_s": round(args.frames / seconds, 2),
        "unit_frames_per_s": round(args.frames * k / seconds, 2),
        "rethink_rate": round(rethinks / max(1, (args.frames - 1) * k), 4),
        "brain_calls": sum(len(o.reasoned) for o in outputs),
        "target_unit_frames_per_s": 10.0,
    }
    if gpu:
        results["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
