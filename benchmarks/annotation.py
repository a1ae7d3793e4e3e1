"""Rephrasing benchmark: calls and seconds per 100 seeds against a local
OpenAI-compatible server (the one the tests use: real sockets, real openai client).

    python benchmarks/annotation.py                      # 100 seeds
    python benchmarks/annotation.py --seeds 500 --latency 0.5

Reports, for one run on one machine: requests and wall time for a clean run
(every answer passes), for a run where a share of first answers name the
target's category (rejected and regenerated), with --judge (a second call per
seed), a rerun (all from the cache), and the effect of --concurrency when the
model takes --latency seconds per answer. The server answers instantly unless
--latency is given, so the clean numbers are the pipeline's own overhead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the scripted server lives with the tests that need it

from test_annotation_rephrase import GOOD, LocalOpenAI, chat_model, completion, make_root  # noqa: E402

from instrack_annotation.rephrase.pipeline import RephraseOptions, rephrase_split  # noqa: E402

CATEGORIES = ["dog", "horse", "person", "car", "cat"]


def seeds(n: int) -> dict:
    return {f"v{i:04d}": (f"Which one will reach the goal number {i} first?", CATEGORIES[i % len(CATEGORIES)])
            for i in range(n)}


def one_run(label: str, n: int, workdir: Path, options: RephraseOptions, latency: float = 0.0,
            bad_share: float = 0.0, root: Path | None = None, server: LocalOpenAI | None = None):
    root = root or make_root(workdir / label, seeds(n))
    own = server is None
    server = server or LocalOpenAI().__enter__()
    try:
        server.delay = latency
        if bad_share:
            naming = json.dumps({"rephrasings": ["The dog, the horse, the person, the car or the cat?"] + GOOD[1:]})
            # The next answers name the category, whichever request they answer
            # (a first call or a regeneration): some seeds get several in a row.
            server.script = [lambda body: (200, completion(naming))] * int(n * bad_share)
        before = len(server.chat_bodies)
        started = time.perf_counter()
        report = rephrase_split(root, "test", chat_model(server, root, backoff_s=0.01, batch_poll_s=0.05), options, progress=False)
        seconds = time.perf_counter() - started
        sent = len(server.chat_bodies) - before
    finally:
        if own:
            server.__exit__(None, None, None)
    per100 = 100 / n
    print(f"{label:<34} requests {sent:>5} ({sent * per100:6.1f} per 100 seeds)  "
          f"{seconds:7.2f} s ({seconds * per100:6.2f} s per 100 seeds)  accepted {report.accepted}, "
          f"review {report.needs_review}, failed {len(report.failed)}")
    return root, server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="model latency for the concurrency rows (s)")
    args = parser.parse_args()
    n = args.seeds
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        flush = RephraseOptions(flush_s=5.0)
        with LocalOpenAI() as server:
            root, _ = one_run("clean, concurrency 4", n, work, flush, server=server)
            one_run("rerun (cache)", n, work, flush, root=root, server=server)
        one_run("20 answers per 100 name category", n, work, flush, bad_share=0.2)
        one_run("clean + --judge", n, work, RephraseOptions(flush_s=5.0, judge=True))
        one_run("--batch", n, work, RephraseOptions(flush_s=5.0, batch=True))
        for concurrency in (1, 8):
            one_run(f"latency {args.latency}s, concurrency {concurrency}", n, work,
                    RephraseOptions(flush_s=5.0, concurrency=concurrency), latency=args.latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
