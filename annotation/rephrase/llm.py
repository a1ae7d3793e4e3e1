"""One chat-model call, made at most once.

Every call is keyed by a SHA-256 of everything sent (the base URL and the
request body: model, messages, temperature, response schema). A valid answer is
stored under that key before the caller sees it, so a rerun sends nothing and a
run killed midway resumes with the calls it had finished. Answers that do not
match the response schema are not stored: they are retried.

Transport errors, 429 and 5xx are retried with exponential backoff and jitter
(honouring Retry-After); other 4xx are the user's problem (key, model name) and
stop the run. For large runs, `run_batch` sends the uncached calls of a round
through the Batch API and fills the same cache from its output file.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from instrack.errors import InsTrackError, UsageError, require
from instrack.fileio import atomic_write_json
from instrack_annotation.meta import now_iso


class LLMError(InsTrackError):
    """A call that could not be completed (after retries) or was refused."""


class LLMRefused(LLMError):
    """The server refused a request (a 4xx other than 429: key, model name, quota):
    retrying cannot help, so the whole run stops."""


class MalformedResponse(Exception):
    """An answer that does not match the response schema; retried, never cached."""


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the model.

    base_url: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, ...).
    api_key: never stored in the cache or in provenance.
    max_retries: retries of one call on 429 / 5xx / connection errors.
    backoff_s, backoff_max_s: first delay and cap of the exponential backoff.
    max_malformed: answers not matching the schema tolerated per call.
    """

    model: str
    base_url: str
    api_key: str
    temperature: float = 0.7
    timeout_s: float = 120.0
    max_retries: int = 6
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    max_malformed: int = 2
    batch_poll_s: float = 10.0


def request_key(base_url: str, body: dict[str, Any]) -> str:
    canonical = json.dumps({"base_url": base_url.rstrip("/"), "body": body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CallCache:
    """One JSON file per call under DIR/<2 hex>/<key>.json, written atomically."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return None  # unreadable entry: treated as absent and rewritten

    def put(self, key: str, record: dict[str, Any]) -> None:
        atomic_write_json(self._path(key), record, indent=None)


@dataclass
class CallStats:
    """Counters for the run summary (thread-safe)."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    malformed: int = 0
    batches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("requests", "cache_hits", "retries", "malformed", "batches")}


@dataclass(frozen=True)
class Answer:
    parsed: BaseModel
    key: str
    record: dict[str, Any]
    cached: bool


class ChatModel:
    """Cached, retried chat completions with a structured (pydantic) answer."""

    def __init__(self, config: LLMConfig, cache: CallCache, sleep: Callable[[float], None] = time.sleep):
        openai = require("openai", "annotation")
        self.config = config
        self.cache = cache
        self.stats = CallStats()
        self._openai = openai
        self._sleep = sleep
        # Retries are ours (counted, bounded by our config), not the client's.
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=config.api_key, max_retries=0, timeout=config.timeout_s
        )

    def body(self, messages: list[dict], schema: type[BaseModel], temperature: float | None = None) -> dict[str, Any]:
        from instrack_annotation.rephrase.prompt import response_format

        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature if temperature is None else temperature,
            "response_format": response_format(schema),
        }

    def key(self, body: dict[str, Any]) -> str:
        return request_key(self.config.base_url, body)

    def cached(self, body: dict[str, Any], schema: type[BaseModel]) -> Answer | None:
        key = self.key(body)
        record = self.cache.get(key)
        if record is None:
            return None
        try:
            parsed = schema.model_validate_json(record["content"])
        except (KeyError, TypeError, ValidationError):
            return None
        self.stats.add("cache_hits")
        return Answer(parsed=parsed, key=key, record=record, cached=True)

    def complete(self, body: dict[str, Any], schema: type[BaseModel]) -> Answer:
        """The answer to `body`, from the cache or from the model."""
        hit = self.cached(body, schema)
        if hit is not None:
            return hit
        key = self.key(body)
        for bad in range(self.config.max_malformed + 1):
            try:
                return self._store(key, body, self._send(body), schema)
            except MalformedResponse as err:
                self.stats.add("malformed")
                if bad == self.config.max_malformed:
                    raise LLMError(
                        f"{self.config.base_url}: {self.config.max_malformed + 1} answers in a row "
                        f"did not match the {schema.__name__} schema ({err})"
                    ) from err
        raise AssertionError("unreachable")

    def _store(self, key: str, body: dict[str, Any], completion: dict[str, Any], schema: type[BaseModel]) -> Answer:
        try:
            content = completion["choices"][0]["message"]["content"]
            parsed = schema.model_validate_json(content or "")
        except (KeyError, IndexError, TypeError, ValidationError) as err:
            raise MalformedResponse(str(err).splitlines()[0]) from err
        record = {
            "request_sha256": key,
            "base_url": self.config.base_url,
            "body": body,
            "content": content,
            "response_model": completion.get("model"),
            "usage": completion.get("usage"),
            "received_at": now_iso(),
        }
        self.cache.put(key, record)
        return Answer(parsed=parsed, key=key, record=record, cached=False)

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        openai = self._openai
        for attempt in range(self.config.max_retries + 1):
            self.stats.add("requests")
            try:
                completion = self._client.chat.completions.create(**body)
                return completion.model_dump()
            except (json.JSONDecodeError, openai.APIResponseValidationError) as err:
                # a body cut off or garbled on the way: as bad as an answer off the schema
                raise MalformedResponse(f"the server's answer is not valid JSON ({str(err).splitlines()[0]})") from err
            except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as err:
                # InternalServerError is every status >= 500; APIConnectionError includes timeouts.
                if attempt == self.config.max_retries:
                    raise LLMError(
                        f"{self.config.base_url}: gave up after {attempt + 1} tries ({_describe(err)})"
                    ) from err
                self.stats.add("retries")
                self._sleep(self._delay(attempt, err))
            except openai.APIStatusError as err:
                raise LLMRefused(f"{self.config.base_url}: the model server refused the request ({_describe(err)})") from err
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, err: Exception) -> float:
        response = getattr(err, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                return min(float(retry_after), self.config.backoff_max_s)
            except ValueError:
                pass  # an HTTP date; fall back to our own schedule
        delay = min(self.config.backoff_s * (2**attempt), self.config.backoff_max_s)
        return delay * (0.5 + random.random() / 2)  # jitter: concurrent workers do not retry in step

    # -- Batch API -------------------------------------------------------------

    def run_batch(self, bodies: list[dict[str, Any]], schema: type[BaseModel], progress=None) -> int:
        """Send the uncached bodies as one batch job and cache its valid answers.
        Returns how many were sent. Malformed or failed lines stay uncached."""
        todo: dict[str, dict[str, Any]] = {}
        for body in bodies:
            key = self.key(body)
            if key not in todo and self.cache.get(key) is None:
                todo[key] = body
        if not todo:
            return 0
        lines = "".join(
            json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": body}) + "\n"
            for key, body in todo.items()
        )
        openai = self._openai
        try:
            upload = self._client.files.create(file=("instrack-rephrase.jsonl", io.BytesIO(lines.encode("utf-8"))), purpose="batch")
            batch = self._client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            self.stats.add("requests", 2)
            self.stats.add("batches")
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                if progress is not None:
                    progress(batch)
                self._sleep(self.config.batch_poll_s)
                batch = self._client.batches.retrieve(batch.id)
                self.stats.add("requests")
            if batch.status != "completed" or not batch.output_file_id:
                raise LLMError(f"{self.config.base_url}: batch {batch.id} ended as {batch.status!r}")
            output = self._client.files.content(batch.output_file_id).text
            self.stats.add("requests")
        except openai.APIError as err:
            raise LLMError(f"{self.config.base_url}: Batch API call failed ({_describe(err)})") from err
        for line in output.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = item.get("custom_id")
            response = item.get("response") or {}
            if key not in todo or response.get("status_code") != 200:
                continue
            try:
                self._store(key, todo[key], response.get("body") or {}, schema)
            except MalformedResponse:
                self.stats.add("malformed")
        return len(todo)


def _describe(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    return f"HTTP {status}: {message}" if status else message


def check_base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url {url!r}: expected an http:// or https:// URL")
    return url.rstrip("/")
