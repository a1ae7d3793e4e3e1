"""Run a command and measure the peak memory of its whole process tree.

Peak = the largest sum, over the command and all its descendants, of their
proportional set size (PSS, /proc/<pid>/smaps_rollup), sampled every 50 ms:
pages that forked workers share are counted once, not once per worker (which
a sum of RSS would do). Linux only."""

from __future__ import annotations

import os
import subprocess
import threading
import time


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(root: int) -> float:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kb(pid)
        stack.extend(tree.get(pid, ()))
    return total / 1024


def run_measured(command: list[str], cwd=None, timeout: float | None = None):
    """(CompletedProcess or None on timeout, peak tree PSS in MB)."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_mb(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # the whole session this run started, nothing else
        process.communicate()
        done.set()
        return None, peak[0]
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), peak[0]
