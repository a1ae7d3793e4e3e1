"""Run a user's checkout of an official referring-VOS code on an InsTrack split:
export -> their inference script (a subprocess in their repository) -> convert.

    run_baseline("onlinerefer", data=ROOT, split="test", repo="~/OnlineRefer",
                 checkpoint="~/ckpt/online_swinl.pth", work="runs/onlinerefer", out="preds/onlinerefer")

The command is the baseline's template (specs.py) unless `command` replaces it;
it runs with the repository as working directory, its output streams through,
and a non-zero exit stops before conversion with the log's path in the message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from instrack.errors import InsTrackError, UsageError
from instrack_baselines.rvos.convert import ConvertSummary, convert_predictions
from instrack_baselines.rvos.export import ExportSummary, export_ytvos
from instrack_baselines.rvos.specs import RvosBaseline, get_baseline


@dataclass(frozen=True)
class RunResult:
    baseline: RvosBaseline
    export: ExportSummary
    command: str
    log: Path
    convert: ConvertSummary


def format_command(baseline: RvosBaseline, template: str | None, **values: str | int | Path | None) -> str:
    fields = {k: shlex.quote(str(v)) for k, v in values.items() if v is not None}
    fields.setdefault("python", shlex.quote(sys.executable))
    fields.setdefault("backbone", shlex.quote(baseline.backbone))
    fields.setdefault("ngpu", "1")
    template = template or baseline.command
    try:
        return template.format(**fields)
    except KeyError as err:
        raise UsageError(f"--command: placeholder {{{err.args[0]}}} has no value "
                         f"(known: {', '.join(sorted(fields))}; pass --checkpoint for {{checkpoint}})") from err


def run_baseline(name: str, *, data: str | Path, split: str, repo: str | Path, work: str | Path,
                 out: str | Path, checkpoint: str | Path | None = None, command: str | None = None,
                 python: str | None = None, ngpu: int = 1, backbone: str | None = None,
                 env: dict[str, str] | None = None, progress: bool = True) -> RunResult:
    baseline = get_baseline(name)
    repo = Path(repo).expanduser()
    if not repo.is_dir():
        raise UsageError(f"--repo {repo}: not a folder (a checkout of {baseline.repo_url})")
    if command is None and not (repo / baseline.script).is_file():
        raise UsageError(f"--repo {repo}: no {baseline.script} here (a checkout of {baseline.repo_url}?)")
    if checkpoint is not None and not Path(checkpoint).expanduser().is_file():
        raise UsageError(f"--checkpoint {checkpoint}: file not found")
    work = Path(work).resolve()
    ytvos, output = work / "ref-youtube-vos", work / "output"
    exported = export_ytvos(data, split, ytvos)
    output.mkdir(parents=True, exist_ok=True)
    line = format_command(baseline, command, python=python, repo=repo.resolve(), ytvos=ytvos, output=output,
                          checkpoint=Path(checkpoint).expanduser().resolve() if checkpoint else None,
                          ngpu=ngpu, backbone=backbone)
    log = work / "inference.log"
    print(f"{baseline.method}: {exported.videos} videos, {exported.expressions} instructions exported to "
          f"{ytvos}\n$ (cd {shlex.quote(str(repo))} && {line})  # log: {log}", file=sys.stderr)
    with open(log, "ab") as handle:
        proc = subprocess.Popen(line, shell=True, cwd=repo, env={**os.environ, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for chunk in iter(proc.stdout.readline, b""):
            handle.write(chunk)
            if progress:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
        status = proc.wait()
    if status != 0:
        raise InsTrackError(f"{baseline.method}: the inference command exited with status {status}; "
                            f"see {log} (if it asserts 202 videos, comment out `{baseline.patch}` in "
                            f"{repo / baseline.script}: cd {repo} && {baseline.edit})")
    try:
        converted = convert_predictions(output, data, split, out, progress=progress)
    except InsTrackError as err:
        # Their scripts run the network in multiprocessing workers: a worker that dies
        # leaves the exit status at 0 and only a traceback in the log.
        failure = _worker_failure(log)
        if failure is None:
            raise
        raise InsTrackError(f"{baseline.method}: the inference command exited with status 0 but a worker failed "
                            f"({failure}); nothing was converted; see {log}") from err
    return RunResult(baseline, exported, line, log, converted)


def _worker_failure(log: Path) -> str | None:
    """The last line of the last traceback in `log`, if any."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    starts = [i for i, text in enumerate(lines) if text.startswith("Traceback (most recent call last)")]
    if not starts:
        return None
    tail = [text for text in lines[starts[-1]:] if text and not text.startswith((" ", "Traceback"))]
    return tail[0].strip() if tail else "a traceback"

