"""The background worker: claims queued submissions and scores them.

Runs as its own process (started by `instrack serve`, or alone with
`instrack serve --worker-only`), so the web server and the worker can each be
restarted without the other; the queue lives in the database (queue.py).

Outcomes: a scored submission becomes an entry ("done"); the evaluator's
rejection is stored with every problem ("rejected"); bad ground truth or
arguments are "failed" with the reason; a crashed evaluation (its process died,
or the job hit a bug) is retried up to max_attempts, then "failed" with the
reason. A worker that dies itself stops renewing its lease, and the next
worker's reaper puts the row back in the queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable

from instrack_leaderboard.config import ServerSettings
from instrack_leaderboard.executor import Executor, JobCrashed, make_executor
from instrack_leaderboard.queue import Queue
from instrack_leaderboard.results import ResultError, parse_result
from instrack_leaderboard.scoring import score_upload
from instrack_leaderboard.store import Store

log = logging.getLogger("instrack.leaderboard.worker")
#: set by `instrack serve` for the worker it supervises: stop when that process is gone
PARENT_ENV = "INSTRACK_LEADERBOARD_PARENT"


class Worker:
    def __init__(self, settings: ServerSettings, store: Store | None = None, executor: Executor | None = None,
                 job: Callable[[str, str, str, str], dict] = score_upload):
        self.settings = settings
        self.job = job  # (gt, split, protocol, path) -> outcome dict; see scoring.py
        self.store = store or Store(settings.db)
        self.queue = Queue(self.store)
        self.executor = executor or make_executor(settings.scheduler)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        log.info("worker %s scoring with %s, %d job(s) at once", self.name, self.executor.name, self.settings.jobs)
        threads = [threading.Thread(target=self._loop, name=f"job-{i}", daemon=True)
                   for i in range(self.settings.jobs)]
        for t in threads:
            t.start()
        parent = int(os.environ.get(PARENT_ENV, "0") or 0)
        try:
            while not self._stop.is_set():
                if parent and os.getppid() != parent:
                    log.info("instrack serve (pid %d) is gone; stopping", parent)
                    break
                self.queue.reap(self.settings.max_attempts)
                self._stop.wait(max(self.settings.lease_s / 3, 0.2))
        finally:
            self._stop.set()
            for t in threads:
                t.join(10)
            self.executor.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.run_once():
                    self._stop.wait(self.settings.poll_s)
            except Exception:  # the database went away for a moment: keep serving
                log.exception("worker loop error; retrying")
                self._stop.wait(self.settings.poll_s * 5)

    def run_once(self) -> bool:
        """Claim and score one submission; False when the queue was empty."""
        s = self.settings
        sub = self.queue.claim(self.name, s.lease_s)
        if sub is None:
            return False
        log.info("scoring submission %d (attempt %d)", sub["id"], sub["attempts"])
        handle = self.executor.start(self.job, str(s.gt_root), sub["split"], sub["protocol"], sub["stored_path"])
        deadline = time.monotonic() + s.eval_timeout_s
        try:
            while True:
                try:
                    outcome = handle.wait(max(min(s.lease_s / 3, deadline - time.monotonic()), 0.05))
                    break
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        handle.cancel()
                        self.queue.finish(sub["id"], self.name, "failed",
                                          f"the evaluation took longer than {s.eval_timeout_s:g} s and was stopped")
                        return True
                    if self._stop.is_set():
                        handle.cancel()
                        self.queue.release(sub["id"], self.name)  # shutting down: back to the queue
                        return True
                    if not self.queue.renew(sub["id"], self.name, s.lease_s):
                        handle.cancel()  # reaped (we stalled past the lease): another worker has it
                        return True
        except JobCrashed as err:
            self._crashed(sub, str(err))
            return True
        self._record(sub, outcome)
        return True

    def _crashed(self, sub: dict, reason: str) -> None:
        if sub["attempts"] >= self.settings.max_attempts:
            self.queue.finish(sub["id"], self.name, "failed",
                              f"the evaluation crashed {sub['attempts']} time(s); last: {reason}")
        else:
            self.queue.finish(sub["id"], self.name, "queued", f"retrying after a crash: {reason}")

    def _record(self, sub: dict, outcome: dict) -> None:
        uploaded = sub["filename"]
        stored = sub["stored_path"]

        def shown(text: str) -> str:
            # messages name the file as the submitter knows it, not our storage path
            return text.replace(stored, uploaded)

        if outcome["status"] == "done":
            try:
                result = parse_result(outcome["result"], f"result of submission {sub['id']}")
            except ResultError as err:
                self.queue.finish(sub["id"], self.name, "failed", f"the evaluator's result is malformed: {err}")
                return
            try:
                self.queue.finish_scored(sub, self.name, result)
            except ResultError as err:  # e.g. a sample result queued for an InsTrack board: never stored there
                self.queue.finish(sub["id"], self.name, "failed", str(err))
        elif outcome["status"] == "rejected":
            problems = [{"where": shown(p["where"]), "reason": shown(p["reason"])} for p in outcome["problems"]]
            self.queue.finish(sub["id"], self.name, "rejected", outcome["message"], problems)
        else:
            self.queue.finish(sub["id"], self.name, "failed", shown(outcome["message"]))


def run_worker(settings: ServerSettings) -> int:
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    worker = Worker(settings)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        worker.stop()
    return 0
