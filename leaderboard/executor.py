"""Where evaluation work runs: one interface, two places.

* LocalExecutor: each job in its own child process (forkserver with the
  evaluator preloaded, so a fork is cheap). A child that dies (killed, out of
  memory, segfault) is reported as JobCrashed; one over its time is killed.
* DaskExecutor: jobs go to a Dask distributed scheduler at an address
  (`--scheduler tcp://host:port`). Its workers must see the same paths for the
  ground truth and the uploads (a shared filesystem).

`Executor.start(fn, *args)` returns a handle; `handle.wait(seconds)` returns
the value, or raises TimeoutError while it is still running, so the caller can
renew its lease between waits.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import traceback
from abc import ABC, abstractmethod
from typing import Any, Callable

from instrack.errors import InsTrackError
from instrack_leaderboard.sanitize import one_line


class JobCrashed(Exception):
    """The job's process or Dask worker died, or the job raised a bug."""


class Handle(ABC):
    @abstractmethod
    def wait(self, seconds: float) -> Any:
        """The job's value; TimeoutError if not done within `seconds`; JobCrashed."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the job (kill its process)."""


class Executor(ABC):
    name: str

    @abstractmethod
    def start(self, fn: Callable, *args: Any) -> Handle: ...

    def close(self) -> None:
        pass


# -- local processes --------------------------------------------------------------

def _end_when_nobody_listens(conn) -> None:  # noqa: ANN001
    """Exit as soon as the worker's end of the result pipe is closed: the worker
    died (even kill -9) or cancelled the job. Without this the evaluation runs
    on, orphaned, for up to --eval-timeout-s. (Its parent is the forkserver,
    which lives as long as any child does, so a parent-death signal would not
    fire; the pipe is what ties the child to its worker.)"""
    import select
    import threading

    def watch() -> None:
        poller = select.poll()
        poller.register(conn.fileno(), 0)  # POLLERR/POLLHUP are always reported: the reader is gone
        while True:
            for _fd, events in poller.poll():
                if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    os._exit(0)

    if hasattr(select, "poll"):
        threading.Thread(target=watch, name="worker-watch", daemon=True).start()


def _child(conn, fn, args) -> None:  # noqa: ANN001
    _end_when_nobody_listens(conn)
    try:
        value = ("ok", fn(*args))
    except BaseException as err:  # a bug in the job: one line for the row, the traceback for the log
        traceback.print_exc(limit=12)  # the worker's stderr: the admin's log
        value = ("error", one_line(f"{type(err).__name__}: {err}"))
    try:
        conn.send_bytes(pickle.dumps(value))
    except OSError:
        # BrokenPipeError & co: the worker is gone or cancelled us; nobody
        # is listening, and a traceback here would only clutter the log
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


class _ProcessHandle(Handle):
    def __init__(self, ctx, fn: Callable, args: tuple):  # noqa: ANN001
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
        self._proc.start()
        send.close()  # only the child writes; EOF then means it died

    def wait(self, seconds: float) -> Any:
        if not self._recv.poll(seconds):
            raise TimeoutError
        try:
            status, value = pickle.loads(self._recv.recv_bytes())
        except EOFError:
            self._proc.join(5)
            raise JobCrashed(f"evaluation process died (exit code {self._proc.exitcode})") from None
        finally:
            self._proc.join(5)
        if status == "error":
            raise JobCrashed(value)
        return value

    def cancel(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)


class LocalExecutor(Executor):
    name = "local processes"

    def __init__(self, preload: tuple[str, ...] = ("instrack.evaluation", "instrack_leaderboard.scoring")):
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(list(preload))

    def start(self, fn: Callable, *args: Any) -> Handle:
        return _ProcessHandle(self._ctx, fn, args)


# -- Dask distributed ---------------------------------------------------------------

class _DaskHandle(Handle):
    def __init__(self, future):  # noqa: ANN001
        self._future = future

    def wait(self, seconds: float) -> Any:
        from distributed import TimeoutError as DaskTimeout
        from distributed.scheduler import KilledWorker

        try:
            return self._future.result(timeout=seconds)
        except (DaskTimeout, TimeoutError):
            raise TimeoutError from None
        except KilledWorker as err:
            raise JobCrashed(f"Dask worker died while scoring ({err})") from err
        except Exception as err:  # the job raised: a bug, reported with its type
            raise JobCrashed(one_line(f"{type(err).__name__}: {err}")) from err

    def cancel(self) -> None:
        self._future.cancel()


class DaskExecutor(Executor):
    def __init__(self, address: str, connect_timeout: float = 20):
        try:
            from distributed import Client
        except ModuleNotFoundError as err:
            raise InsTrackError("--scheduler needs Dask: pip install 'dask[distributed]'") from err
        self.name = f"Dask scheduler {address}"
        try:
            self._client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise InsTrackError(f"--scheduler {address}: cannot connect ({err})") from err

    def start(self, fn: Callable, *args: Any) -> Handle:
        # pure=False: two uploads of the same file are two jobs, never one cached result
        return _DaskHandle(self._client.submit(fn, *args, pure=False))

    def close(self) -> None:
        self._client.close()


def make_executor(scheduler: str | None) -> Executor:
    return DaskExecutor(scheduler) if scheduler else LocalExecutor()
