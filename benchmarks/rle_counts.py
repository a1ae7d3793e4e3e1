"""RLE counts-string check: time against length, against pycocotools' C parser.

    python benchmarks/rle_counts.py                 # 200k, 400k, 800k characters
    python benchmarks/rle_counts.py --previous      # also the previous check (slow: quadratic)

Two kinds of string per length: one number of that many digits (the worst
case of the previous check, which decoded with unbounded Python integers, so
each digit cost as much as the number was long), and the real encoding of a
noise mask (many short numbers). For each, the time of InsTrack's check
(coco_rle.runs_of: parse as pycocotools does and sum), of pycocotools' own C
parser on the same string in the same run (mask.area: parse and sum; the
baseline), and with --previous of the previous check (reimplemented below).
Best of 3 runs each.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def previous_check(counts: str) -> int:
    """The counts check of release 0.1.0 (commit e86ec44, rle.py): unbounded integers."""
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value = shift = 0
        more = True
        while more:
            char = ord(counts[position]) - 48
            value |= (char & 0x1F) << (5 * shift)
            more = bool(char & 0x20)
            position += 1
            shift += 1
            if not more and char & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return sum(runs)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def noise_encoding(length: int) -> tuple[str, int, int]:
    """The first `length` characters (cut after a whole number) of the encoding
    of a noise mask; the size is a 1 x N frame covering exactly those runs."""
    from pycocotools import mask as mask_utils

    side = int(np.sqrt(3 * length)) + 8  # noise takes about 0.4 characters a pixel
    mask = (np.random.default_rng(0).random((side, side)) > 0.5).astype(np.uint8)
    counts = mask_utils.encode(np.asfortranarray(mask))["counts"].decode("ascii")[:length]
    while (ord(counts[-1]) - 48) & 0x20:  # do not end inside a number
        counts = counts[:-1]
    low, high = 0, side * side  # the exact cover, asked of pycocotools (bisection)
    while low < high:
        middle = (low + high) // 2
        try:
            mask_utils.decode({"size": [1, middle], "counts": counts.encode()})
            high = middle
        except ValueError:
            low = middle + 1
    return counts, 1, low


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[200_000, 400_000, 800_000])
    parser.add_argument("--previous", action="store_true", help="also time the previous (quadratic) check")
    args = parser.parse_args()

    from pycocotools import mask as mask_utils

    from instrack import coco_rle
    from instrack.masks import MaskError

    def ours(counts, height, width):
        try:
            coco_rle.runs_of(counts, height, width)
        except MaskError:
            pass  # a refusal costs the same parse

    print(f"{'string':<28}{'chars':>10}{'instrack s':>12}{'pycocotools s':>15}{'ratio':>8}"
          + (f"{'previous s':>12}" if args.previous else ""))
    for length in args.lengths:
        noise, height, width = noise_encoding(length)
        cases = [("one number of n digits", "o" * (length - 1) + "1", 1, 1),
                 ("noise mask encoding", noise, height, width)]
        for name, counts, h, w in cases:
            encoded = counts.encode("ascii")
            t_ours = best_of(lambda: ours(counts, h, w))
            t_coco = best_of(lambda: mask_utils.area({"size": [h, w], "counts": encoded}))
            row = f"{name:<28}{len(counts):>10}{t_ours:>12.4f}{t_coco:>15.4f}{t_ours / t_coco:>8.1f}"
            if args.previous:
                row += f"{best_of(lambda: previous_check(counts), repeat=1):>12.2f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
