"""`instrack rephrase ROOT`: five rephrasings per seed instruction from a chat model.

    instrack rephrase ROOT --model gpt-4o-mini [--base-url URL] [--judge] [--batch]

Any OpenAI-compatible server works (OpenAI, vLLM, Ollama). Calls are cached under
ROOT/.annotation/llm-cache (a rerun sends nothing; a killed run resumes).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HELP = "write 5 checked rephrasings per seed instruction with an OpenAI-compatible chat model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, metavar="ROOT", help="dataset root (SPEC §1 layout)")
    parser.add_argument("--split", default="test", help="split folder under ROOT (default: test)")
    model = parser.add_argument_group("model")
    model.add_argument("--model", default=os.environ.get("INSTRACK_REPHRASE_MODEL"),
                       help="chat model name (default: $INSTRACK_REPHRASE_MODEL)")
    model.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
                       help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL or OpenAI's)")
    model.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                       help="environment variable holding the API key (default: OPENAI_API_KEY)")
    model.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default: 0.7)")
    model.add_argument("--judge", action="store_true",
                       help="a second call judges each candidate: same target, still implicit")
    model.add_argument("--judge-model", help="model for --judge (default: --model)")
    run = parser.add_argument_group("run")
    run.add_argument("--concurrency", type=int, default=4, help="seeds in flight at once (default: 4)")
    run.add_argument("--batch", action="store_true", help="send each round through the Batch API")
    run.add_argument("--batch-poll", type=float, default=30.0, metavar="S",
                     help="seconds between Batch API status checks (default: 30)")
    run.add_argument("--max-attempts", type=int, default=3,
                     help="generate calls per seed before the rest is left for review (default: 3)")
    run.add_argument("--max-retries", type=int, default=6, help="retries per call on 429/5xx (default: 6)")
    run.add_argument("--backoff", type=float, default=1.0, metavar="S",
                     help="first backoff delay in seconds, doubled per retry (default: 1)")
    run.add_argument("--redo-review", action="store_true",
                     help="regenerate rephrasings an earlier run left for review")
    run.add_argument("--replace", action="store_true",
                     help="regenerate the rephrasings videos already have (by default they are left as they are, "
                          "never added to)")
    run.add_argument("--cache", type=Path, metavar="DIR", help="call cache (default: ROOT/.annotation/llm-cache)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    checks = parser.add_argument_group("checks")
    checks.add_argument("--synonyms", type=Path, metavar="JSON",
                        help='extra category synonyms: {"category": ["word", ...]}')
    checks.add_argument("--min-words", type=int, default=3, help="shortest rephrasing in words (default: 3)")
    checks.add_argument("--max-words", type=int, default=40, help="longest rephrasing in words (default: 40)")
    checks.add_argument("--max-similarity", type=float, default=0.85,
                        help="similarity at which two texts are near-duplicates (default: 0.85)")


def run(args: argparse.Namespace) -> int:
    from instrack.errors import InsTrackError, UsageError
    from instrack_annotation.categories import load_synonyms
    from instrack_annotation.meta import WORK_DIR
    from instrack_annotation.rephrase.checks import CheckConfig
    from instrack_annotation.rephrase.llm import CallCache, ChatModel, LLMConfig, check_base_url
    from instrack_annotation.rephrase.pipeline import RephraseOptions, rephrase_split

    if not args.model:
        raise UsageError("--model is missing (or set INSTRACK_REPHRASE_MODEL): the model is part of the data's provenance")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise UsageError(f"${args.api_key_env} is not set: put the API key there (any value for a local server)")
    for flag, value, low in (("--concurrency", args.concurrency, 1), ("--max-attempts", args.max_attempts, 1),
                             ("--max-retries", args.max_retries, 0), ("--min-words", args.min_words, 1)):
        if value < low:
            raise UsageError(f"{flag} must be at least {low}, not {value}")
    if args.max_words < args.min_words:
        raise UsageError(f"--max-words {args.max_words} is below --min-words {args.min_words}")
    base_url = check_base_url(args.base_url)
    cache = CallCache(args.cache or args.root / WORK_DIR / "llm-cache")

    def chat(model_name: str) -> ChatModel:
        return ChatModel(LLMConfig(
            model=model_name, base_url=base_url, api_key=api_key, temperature=args.temperature,
            max_retries=args.max_retries, backoff_s=args.backoff, batch_poll_s=args.batch_poll,
        ), cache)

    model = chat(args.model)
    judge = chat(args.judge_model) if args.judge and args.judge_model else None
    options = RephraseOptions(
        max_attempts=args.max_attempts,
        judge=args.judge,
        checks=CheckConfig(min_words=args.min_words, max_words=args.max_words, max_similarity=args.max_similarity),
        synonyms=load_synonyms(args.synonyms),
        concurrency=args.concurrency,
        batch=args.batch,
        redo_review=args.redo_review,
        replace=args.replace,
    )
    report = rephrase_split(args.root, args.split, model, options, judge=judge, progress=args.progress)
    print(report.summary())
    if report.already_done and not args.replace:
        print(f"{report.already_done} videos already have their rephrasings: left as they are "
              "(--replace regenerates them)")
    elif report.replaced:
        print(f"{report.replaced} videos had their rephrasings replaced")
    if report.without_category:
        print(f"warning: {report.without_category} videos have no \"category\" in their meta entry: "
              "the category check was skipped for them", file=sys.stderr)
    if report.failed:
        video, error = report.failed[0]
        raise InsTrackError(
            f"{len(report.failed)} seeds failed (first: {video}: {error}); rerun to retry them, "
            "finished calls are cached"
        )
    return 0
