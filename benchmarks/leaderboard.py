"""A bounded load test of the web leaderboard on loopback.

Starts `instrack serve` (web + worker) on the bundled sample, then:
 1. page latency at rest: GET / and GET /entry/ID, sequentially;
 2. a burst of N sample submissions from C concurrent clients, while one more
    client keeps loading the board; reports uploads accepted per minute, how
    long until every one was scored (submissions scored per minute), and the
    board's latency under that load;
 3. checks that every submission ended "done" with the same J&F;
 4. a plot flood: P clients request the plots without pause (unauthenticated,
    as anyone can) while one more loads the board; the baseline, in the same
    run, is the same flood of GET /healthz. Plots are drawn once per change of
    their data, so a plot request should cost about what any request costs:
    the ratio of the board's p50 under the two floods should be near 1.

    python benchmarks/leaderboard.py [--submissions 40] [--clients 4] [--jobs 1] [--limit-s 300]
                                     [--plot-clients 60] [--plot-seconds 5]

Prints one JSON object. The machine's cores are shared by the server, the
worker's evaluation processes and these clients: read the numbers as a floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from instrack.dataset.sample import example_submission
from instrack_leaderboard.testing import ServeProcess, free_port, zip_folder


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def timed_get(client: httpx.Client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    r.raise_for_status()
    return time.perf_counter() - t


def _flood(base: str, urls: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads GET `urls` in turn without pause for `seconds` while one
    more loads the board; the board's latency and how many were served."""
    stop = threading.Event()
    served = [0]
    board: list[float] = []

    def hammer(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            k = i
            while not stop.is_set():
                c.get(urls[k % len(urls)]).raise_for_status()
                served[0] += 1
                k += 1

    def browse() -> None:
        with httpx.Client(timeout=60) as c:
            while not stop.is_set():
                board.append(timed_get(c, f"{base}/"))

    threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(clients)]
    threads.append(threading.Thread(target=browse, daemon=True))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    return {"served": served[0], "board_p50": pct(board, .5), "board_p95": pct(board, .95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=1, help="evaluations at once in the worker")
    parser.add_argument("--page-requests", type=int, default=200)
    parser.add_argument("--limit-s", type=float, default=300, help="give up after this long")
    parser.add_argument("--plot-clients", type=int, default=60)
    parser.add_argument("--plot-seconds", type=float, default=5.0)
    args = parser.parse_args()

    token = "load-test-token"
    with tempfile.TemporaryDirectory(prefix="instrack-lb-load-") as tmp:
        tmp = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = ServeProcess(["--port", str(port), "--data-dir", str(tmp / "data"), "--poll-s", "0.1",
                               "--jobs", str(args.jobs), "--submissions-per-hour", "1000000",
                               "--posts-per-minute", "1000000", "--max-pending", "100000"],
                              tmp / "serve.log", env={"INSTRACK_ADMIN_TOKEN": token}).start()
        upload = zip_folder(example_submission(), tmp / "sample.zip").read_bytes()
        out: dict = {"submissions": args.submissions, "clients": args.clients, "worker_jobs": args.jobs,
                     "upload_bytes": len(upload)}
        try:
            server.wait_http(base)
            with httpx.Client(timeout=60) as client:
                first = client.post(f"{base}/api/submissions", headers={"Authorization": f"Bearer {token}"},
                                    data={"method": "warm-up"}, files={"file": ("s.zip", upload)}).json()
                while (sub := client.get(f"{base}/api/submissions/{first['id']}").json())["status"] != "done":
                    time.sleep(0.1)
                entry = sub["entry_id"]
                board = [timed_get(client, f"{base}/") for _ in range(args.page_requests)]
                entry_page = [timed_get(client, f"{base}/entry/{entry}") for _ in range(args.page_requests // 4)]
            out["at_rest_ms"] = {"board_p50": pct(board, .5), "board_p95": pct(board, .95),
                                 "entry_p50": pct(entry_page, .5), "entry_p95": pct(entry_page, .95)}

            stop = threading.Event()
            under_load: list[float] = []

            def browse() -> None:
                with httpx.Client(timeout=60) as c:
                    while not stop.is_set():
                        under_load.append(timed_get(c, f"{base}/"))

            def submit(i: int) -> tuple[int, float]:
                with httpx.Client(timeout=120) as c:
                    t = time.perf_counter()
                    r = c.post(f"{base}/api/submissions", headers={"Authorization": f"Bearer {token}"},
                               data={"method": f"load-{i}"}, files={"file": (f"s{i}.zip", upload)})
                    r.raise_for_status()
                    return r.json()["id"], time.perf_counter() - t

            browser = threading.Thread(target=browse, daemon=True)
            browser.start()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                accepted = list(pool.map(submit, range(args.submissions)))
            t_accepted = time.perf_counter() - t0
            ids = [i for i, _ in accepted]
            deadline = time.monotonic() + args.limit_s
            with httpx.Client(timeout=60) as client:
                pending = set(ids)
                while pending and time.monotonic() < deadline:
                    for i in list(pending):
                        if client.get(f"{base}/api/submissions/{i}").json()["status"] in ("done", "rejected",
                                                                                           "failed"):
                            pending.discard(i)
                    time.sleep(0.25)
                t_scored = time.perf_counter() - t0
                stop.set()
                browser.join()
                final = [client.get(f"{base}/api/submissions/{i}").json() for i in ids]
                submitted = client.get(f"{base}/api/entries?origin=submitted").json()
                scores = {round(e["jf_mean"], 12) for e in submitted}
            statuses = {s["status"] for s in final}
            out["burst"] = {
                "accepted_in_s": round(t_accepted, 2),
                "uploads_accepted_per_min": round(60 * len(ids) / t_accepted, 1),
                "upload_latency_ms_p50": pct([d for _, d in accepted], .5),
                "upload_latency_ms_p95": pct([d for _, d in accepted], .95),
                "all_scored_in_s": round(t_scored, 2),
                "submissions_scored_per_min": round(60 * len(ids) / t_scored, 1),
                "statuses": sorted(statuses), "unfinished": len(pending),
                "board_under_load_ms_p50": pct(under_load, .5), "board_under_load_ms_p95": pct(under_load, .95),
                "board_requests_under_load": len(under_load),
                "distinct_jf": len(scores),
            }
            out["burst"]["entries_on_board"] = len(submitted)
            ok = statuses == {"done"} and not pending and len(scores) == 1

            plot_urls = [f"{base}/plot/methods.png?benchmark=instrack-sample", f"{base}/plot/methods.png",
                         f"{base}/entry/{entry}/plot/per-video.png", f"{base}/entry/{entry}/plot/robustness.png"]
            # the baseline, in the same run: the same flood of the cheapest request there is
            baseline = _flood(base, [f"{base}/healthz"], args.plot_clients, args.plot_seconds)
            with httpx.Client(timeout=60) as client:
                drawn_before = client.get(f"{base}/healthz").json().get("plots_drawn")
            plots = _flood(base, plot_urls, args.plot_clients, args.plot_seconds)
            with httpx.Client(timeout=60) as client:
                drawn_after = client.get(f"{base}/healthz").json().get("plots_drawn")
            out["plot_flood"] = {
                "clients": args.plot_clients, "seconds": args.plot_seconds,
                "plots_served": plots["served"],
                "plots_drawn": None if drawn_before is None else drawn_after - drawn_before,
                "board_p50_ms": plots["board_p50"], "board_p95_ms": plots["board_p95"],
                "healthz_flood_board_p50_ms": baseline["board_p50"], "healthz_served": baseline["served"],
                "board_p50_ratio_plots_to_healthz_flood": round(plots["board_p50"] / baseline["board_p50"], 2),
            }
        finally:
            server.stop()
        for section in ("at_rest_ms", "burst", "plot_flood"):
            for key, value in out.get(section, {}).items():
                if isinstance(value, float):
                    out[section][key] = round(value, 1)
        print(json.dumps(out, indent=2))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
