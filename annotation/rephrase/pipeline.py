"""The rephrasing run: plan one job per seed, drive each job through
generate -> check -> (judge) -> regenerate, and write the results into
meta_expressions.json as they finish.

A job never decides anything from the clock or from randomness: given the same
answers it sends the same requests, so with the call cache a rerun (or the run
after a kill) replays the finished calls for free and continues where it stopped.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instrack.dataset.model import REPHRASE
from instrack_annotation import meta as m
from instrack_annotation.categories import category_terms
from instrack_annotation.rephrase import prompt
from instrack_annotation.rephrase.checks import JUDGE, CheckConfig, Verdict, check_candidates, similarity
from instrack_annotation.rephrase.llm import Answer, ChatModel, LLMError, LLMRefused

GOOD = (m.ACCEPTED, m.KEPT, m.FIXED)
MAX_FEEDBACK = 10  # rejected examples fed back per request; bounds the prompt length


@dataclass(frozen=True)
class RephraseOptions:
    """max_attempts: generate calls per seed before the rest is left for review.
    judge: ask a second call whether each candidate keeps the target and stays implicit.
    concurrency: seeds in flight at once (direct calls). batch: use the Batch API instead.
    redo_review: regenerate rephrasings left as needs_review by an earlier run.
    replace: drop a video's existing rephrasings (also those without a `seed` link,
    as the bundled sample has) and write five new ones.
    flush_s: how often finished seeds are written to meta_expressions.json."""

    max_attempts: int = 3
    judge: bool = False
    checks: CheckConfig = CheckConfig()
    synonyms: dict[str, tuple[str, ...]] | None = None
    concurrency: int = 4
    batch: bool = False
    redo_review: bool = False
    flush_s: float = 5.0
    #: regenerate the rephrasings a video already has (never added to otherwise)
    replace: bool = False


@dataclass
class Candidate:
    verdict: Verdict
    answer: Answer
    attempt: int
    judge: Answer | None = None


@dataclass
class Step:
    model: ChatModel
    body: dict[str, Any]
    schema: type


@dataclass
class SeedJob:
    video: str
    seed_id: str
    seed_text: str
    obj_ids: list[int]
    category: str | None
    terms: tuple[str, ...]
    kept: list[str]  # rephrasings already in the data that count towards the five
    need: int
    avoid: list[tuple[str, str]]  # rejected by reviewers earlier: fed back to the model
    remove: list[str] = field(default_factory=list)  # stale rephrasings to drop
    accepted: list[Candidate] = field(default_factory=list)
    failed_candidates: list[Candidate] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    pending: list[Candidate] = field(default_factory=list)  # waiting for the judge
    attempt: int = 0
    state: str = "generate"  # generate | judge | done | failed
    error: str | None = None

    def step(self, model: ChatModel, judge: ChatModel | None, options: RephraseOptions) -> Step | None:
        if self.state == "generate":
            messages = prompt.rephrase_messages(
                self.seed_text, self.terms, options.checks.min_words, options.checks.max_words,
                (self.avoid + self.rejected)[-MAX_FEEDBACK:],
            )
            return Step(model, model.body(messages, prompt.Rephrasings), prompt.Rephrasings)
        if self.state == "judge":
            assert judge is not None
            texts = [c.verdict.text for c in self.pending]
            messages = prompt.judge_messages(self.seed_text, self.category, texts)
            # The judge runs at temperature 0: its verdict should not be a sample.
            return Step(judge, judge.body(messages, prompt.Judgements, temperature=0.0), prompt.Judgements)
        return None

    def apply(self, answer: Answer, options: RephraseOptions) -> None:
        if self.state == "generate":
            texts = list(answer.parsed.rephrasings)
            verdicts = check_candidates(
                self.seed_text, texts, self.kept + [c.verdict.text for c in self.accepted],
                self.terms, options.checks,
            )
            passed = []
            for verdict in verdicts:
                candidate = Candidate(verdict, answer, self.attempt)
                if verdict.ok:
                    passed.append(candidate)
                else:
                    self._reject(candidate)
            if options.judge and passed:
                self.pending, self.state = passed, "judge"
                return
            self.accepted.extend(passed)
        elif self.state == "judge":
            by_index = {j.index: j for j in answer.parsed.judgements}
            for i, candidate in enumerate(self.pending):
                candidate.judge = answer
                verdict = by_index.get(i)
                if verdict is None:
                    candidate.verdict.fail(JUDGE, "the judge gave no verdict")
                elif not verdict.same_target:
                    candidate.verdict.fail(JUDGE, f"judge: not the same target ({verdict.reason})")
                elif not verdict.implicit:
                    candidate.verdict.fail(JUDGE, f"judge: names the target ({verdict.reason})")
                else:
                    candidate.verdict.passed[JUDGE] = True
                (self.accepted if candidate.verdict.ok else self.failed_candidates).append(candidate)
                if not candidate.verdict.ok:
                    self.rejected.append((candidate.verdict.text, "; ".join(candidate.verdict.reasons)))
            self.pending = []
        self._advance(options)

    def _reject(self, candidate: Candidate) -> None:
        self.failed_candidates.append(candidate)
        self.rejected.append((candidate.verdict.text, "; ".join(candidate.verdict.reasons)))

    def _advance(self, options: RephraseOptions) -> None:
        if len(self.accepted) >= self.need or self.attempt + 1 >= options.max_attempts:
            self.state = "done"
        else:
            self.attempt += 1
            self.state = "generate"

    def results(self) -> list[tuple[Candidate, str]]:
        """(candidate, status) for the rephrasings to write: accepted first, then the
        least bad failures for a reviewer, up to `need`."""
        out = [(c, m.ACCEPTED) for c in self.accepted[: self.need]]
        chosen = [c.verdict.text for c, _ in out]
        for candidate in sorted(self.failed_candidates, key=lambda c: (len(c.verdict.reasons), c.attempt)):
            if len(out) >= self.need:
                break
            if any(similarity(candidate.verdict.text, t) >= 0.99 for t in chosen):
                continue  # the same text rejected twice: offer it once
            out.append((candidate, m.NEEDS_REVIEW))
            chosen.append(candidate.verdict.text)
        return out


@dataclass
class RunReport:
    seeds: int = 0
    already_done: int = 0
    #: of already_done: videos whose rephrasings came without a `seed` link (from elsewhere)
    unlinked: int = 0
    replaced: int = 0
    without_seed: int = 0
    without_category: int = 0
    completed: int = 0
    accepted: int = 0
    needs_review: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        calls = ", ".join(f"{k} {v}" for k, v in self.calls.items())
        return (
            f"{self.seeds} seeds to rephrase ({self.already_done} already done, {self.without_seed} videos "
            f"without a seed): {self.completed} done, {self.accepted} rephrasings accepted, "
            f"{self.needs_review} left for review, {len(self.failed)} failed; calls: {calls}; "
            f"{self.seconds:.1f} s"
        )


def plan(meta: m.MetaFile, options: RephraseOptions, report: RunReport) -> list[SeedJob]:
    jobs = []
    for name, video in meta.videos.items():
        found = m.seed_of(video)
        if found is None or not str(found[1].get("exp", "")).strip():
            report.without_seed += 1
            continue
        seed_id, seed = found
        seed_text = seed["exp"].strip()
        seed_hash = m.text_sha256(seed_text)
        category = m.category_of(video)
        if category is None:
            report.without_category += 1
        remove, kept, waiting = [], [], 0
        # Rephrasings without a `seed` link (made elsewhere, as the bundled sample's are)
        # belong to the video's only seed: they are never added to, only replaced.
        unlinked = [exp_id for exp_id, exp in m.expressions(video).items()
                    if exp.get("kind") == REPHRASE and "seed" not in exp] if len(list(m.seeds(video))) == 1 else []
        if unlinked and not options.replace:
            report.already_done += 1
            report.unlinked += 1
            continue
        if options.replace:
            linked = list(m.rephrasings_of(video, seed_id))
            if unlinked or linked:
                report.replaced += 1
            remove = unlinked + linked
        for exp_id, exp in m.rephrasings_of(video, seed_id).items():
            if exp_id in remove:
                continue
            provenance = exp.get("provenance") or {}
            stale = provenance.get("seed_sha256") not in (None, seed_hash)
            status = exp.get("status", m.ACCEPTED)
            if stale or (status == m.NEEDS_REVIEW and options.redo_review):
                remove.append(exp_id)
            elif status == m.NEEDS_REVIEW:
                waiting += 1
            else:
                kept.append(exp["exp"])
        need = prompt.N_REPHRASINGS - len(kept) - waiting
        if need <= 0 and not remove:
            report.already_done += 1
            continue
        avoid = [
            (r["exp"], "rejected by a reviewer")
            for r in video.get("rejected_rephrasings", [])
            if isinstance(r, dict) and str(r.get("seed")) == seed_id and isinstance(r.get("exp"), str)
        ]
        jobs.append(SeedJob(
            video=name, seed_id=seed_id, seed_text=seed_text,
            obj_ids=list(seed.get("obj_id", [1])), category=category,
            terms=category_terms(category, options.synonyms) if category else (),
            kept=kept, need=max(need, 0), avoid=avoid, remove=remove,
        ))
        if need <= 0:
            jobs[-1].state = "done"
    report.seeds = len(jobs) + report.already_done
    return jobs


def _provenance(job: SeedJob, candidate: Candidate, model: ChatModel, judge: ChatModel | None) -> dict[str, Any]:
    record = candidate.answer.record
    out = {
        "model": model.config.model,
        "base_url": model.config.base_url,
        "prompt_version": prompt.PROMPT_VERSION,
        "prompt_sha256": prompt.PROMPT_SHA256,
        "temperature": record["body"].get("temperature"),
        "attempt": candidate.attempt,
        "request_sha256": candidate.answer.key,
        "response_model": record.get("response_model"),
        "generated_at": record.get("received_at"),
        "seed_sha256": m.text_sha256(job.seed_text),
        "checks": dict(candidate.verdict.passed),
    }
    if candidate.judge is not None and judge is not None:
        out["judge"] = {"model": judge.config.model, "request_sha256": candidate.judge.key}
    return out


def write_job(meta: m.MetaFile, job: SeedJob, model: ChatModel, judge: ChatModel | None, report: RunReport) -> None:
    video = meta.videos[job.video]
    expressions = m.expressions(video)
    for exp_id in job.remove:
        expressions.pop(exp_id, None)
    results = job.results()
    for (candidate, status), exp_id in zip(results, m.free_exp_ids(video, len(results))):
        entry: dict[str, Any] = {
            "exp": candidate.verdict.text,
            "obj_id": job.obj_ids,
            "kind": REPHRASE,
            "seed": job.seed_id,
            "status": status,
            "provenance": _provenance(job, candidate, model, judge),
        }
        if status == m.NEEDS_REVIEW:
            entry["problems"] = list(candidate.verdict.reasons)
            report.needs_review += 1
        else:
            report.accepted += 1
        expressions[exp_id] = entry
    report.completed += 1


def rephrase_split(
    root: str | Path,
    split: str,
    model: ChatModel,
    options: RephraseOptions,
    judge: ChatModel | None = None,
    progress: bool = True,
) -> RunReport:
    """Rephrase every seed of ROOT/<split> that lacks its five rephrasings."""
    from tqdm import tqdm

    started = time.monotonic()
    report = RunReport()
    meta = m.MetaFile(root, split)
    jobs = plan(meta, options, report)
    if options.judge and judge is None:
        judge = model
    bar = tqdm(total=len(jobs), desc="rephrase", unit="seed", disable=not progress, file=sys.stderr)
    writer = _Writer(meta, model, judge, report, options.flush_s, bar)
    try:
        if options.batch:
            _run_batched(jobs, model, judge, options, writer)
        else:
            _run_direct(jobs, model, judge, options, writer)
    finally:
        writer.flush()
        bar.close()
        report.calls = _merged_stats(model, judge)
        report.seconds = time.monotonic() - started
    return report


class _Writer:
    """Writes finished jobs into the meta file, flushing at most every `flush_s`."""

    def __init__(self, meta, model, judge, report, flush_s, bar):
        self.meta, self.model, self.judge, self.report = meta, model, judge, report
        self.flush_s, self.bar = flush_s, bar
        self.dirty, self.last = False, time.monotonic()

    def finished(self, job: SeedJob) -> None:
        if job.state == "failed":
            self.report.failed.append((job.video, job.error or "unknown error"))
        elif job.state == "done":
            write_job(self.meta, job, self.model, self.judge, self.report)
            self.dirty = True
        self.bar.update(1)
        if self.dirty and time.monotonic() - self.last >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if self.dirty:
            self.meta.save()
            self.dirty, self.last = False, time.monotonic()


def _drive(job: SeedJob, model, judge, options, stop: threading.Event) -> SeedJob:
    try:
        while not stop.is_set() and (step := job.step(model, judge, options)) is not None:
            job.apply(step.model.complete(step.body, step.schema), options)
    except LLMRefused:
        raise
    except LLMError as err:
        job.state, job.error = "failed", str(err)
    return job


def _run_direct(jobs, model, judge, options, writer: _Writer) -> None:
    stop = threading.Event()
    done_now = [j for j in jobs if j.state == "done"]
    for job in done_now:
        writer.finished(job)
    todo = [j for j in jobs if j.state != "done"]
    pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="rephrase")
    error: BaseException | None = None
    try:
        futures = {pool.submit(_drive, job, model, judge, options, stop) for job in todo}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                if future.cancelled():
                    continue
                try:
                    job = future.result()
                except Exception as err:  # LLMRefused, or a bug: stop, but keep what finished
                    error = error or err
                    stop.set()
                    continue
                if error is None or job.state == "done":
                    writer.finished(job)
            if error is not None:
                futures = {f for f in futures if not f.cancel()}
        if error is not None:
            raise error
    finally:
        stop.set()  # workers stop after their call in flight; that call is cached
        pool.shutdown(wait=True, cancel_futures=True)


def _run_batched(jobs, model, judge, options, writer: _Writer) -> None:
    """Rounds: every active job's next request goes into one batch per model."""
    malformed: dict[int, int] = {}
    for job in [j for j in jobs if j.state == "done"]:
        writer.finished(job)
    active = [j for j in jobs if j.state != "done"]
    while active:
        steps = [(job, job.step(model, judge, options)) for job in active]
        # One batch per (model, answer schema): rephrase and judge requests differ.
        groups: dict[tuple[int, type], list[tuple[SeedJob, Step]]] = {}
        for job, s in steps:
            groups.setdefault((id(s.model), s.schema), []).append((job, s))
        for group in groups.values():
            chat, schema = group[0][1].model, group[0][1].schema
            try:
                chat.run_batch([s.body for _, s in group], schema)
            except LLMRefused:
                raise
            except LLMError as err:
                for job, _ in group:
                    job.state, job.error = "failed", str(err)
        still = []
        for job, s in steps:
            if job.state == "failed":
                writer.finished(job)
                continue
            answer = s.model.cached(s.body, s.schema)
            if answer is None:  # malformed or failed line: sent again next round, boundedly
                malformed[id(job)] = malformed.get(id(job), 0) + 1
                if malformed[id(job)] > model.config.max_malformed:
                    job.state, job.error = "failed", "no valid answer in the batch output"
                    writer.finished(job)
                else:
                    still.append(job)
                continue
            job.apply(answer, options)
            if job.state == "done":
                writer.finished(job)
            else:
                still.append(job)
        active = still


def _merged_stats(model: ChatModel, judge: ChatModel | None) -> dict[str, int]:
    stats = model.stats.as_dict()
    if judge is not None and judge is not model:
        for key, value in judge.stats.as_dict().items():
            stats[key] += value
    return stats
