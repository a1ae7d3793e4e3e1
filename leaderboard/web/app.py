"""The web leaderboard: server-rendered pages and a small JSON API.

Pages: the board (sortable by any column through links, filtered by origin),
an entry (metrics, breakdowns, per-unit table, plots), the upload form, a
submission's status. API: POST /api/submissions, GET /api/submissions/{id},
GET /api/entries. Uploads are checked at once with the evaluator's own checks
(instrack.evaluation.validate) and scored later by the worker (worker.py).

HTTP statuses: 400 a malformed request, 401 a wrong or missing token, 403 not
an admin, 404 nothing there, 413 too large, 422 a submission the evaluator
rejects (with every problem), 429 too many requests, 503 queue full. No public
page or API answer carries a traceback: a failure is one line, the traceback
goes to the server's log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from instrack.errors import InsTrackError
from instrack_leaderboard import plots
from instrack_leaderboard.config import ServerSettings
from instrack_leaderboard.queue import Queue, QueueFull, QuotaExceeded
from instrack_leaderboard.reported import BENCHMARKS
from instrack_leaderboard.schema import METRIC_COLUMNS, UNIT_METRICS
from instrack_leaderboard.sanitize import is_http_link, one_line
from instrack_leaderboard.scoring import check_upload
from instrack_leaderboard.store import LOWER_IS_BETTER, SORTABLE, Store, utcnow
from instrack_leaderboard.tables import SHORT, competition_marks, percent
from instrack_leaderboard.web.limits import BodySizeLimit, BodyTooLarge, RateLimiter, SecurityHeaders
from instrack_leaderboard.web.pages import environment
from instrack_leaderboard.web.plotcache import PlotCache, digest

log = logging.getLogger("instrack.leaderboard.web")

TITLES = {k: v[0] for k, v in BENCHMARKS.items()}
# multipart overhead on top of the file itself (boundaries, the other fields)
FORM_SLACK = 64 << 10
#: ids are 64-bit signed integers in both databases; larger ones name nothing
MAX_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Refusal(Exception):
    """An upload refused with an HTTP status and the messages to show."""

    def __init__(self, status: int, headline: str, messages: list[str] | None = None,
                 problems: list[dict] | None = None, retry_after: float | None = None):
        super().__init__(headline)
        self.status, self.headline = status, headline
        self.messages = messages or []
        self.problems = problems or []
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(int(self.retry_after) + 1, 1))} if self.retry_after is not None else {}


def _token_from(request: Request, form_token: str | None) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return (form_token or "").strip() or None


def _sniff_suffix(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ".zip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return ".json"
    return None


def create_app(settings: ServerSettings, store: Store | None = None) -> FastAPI:
    store = store or Store(settings.db)
    queue = Queue(store)
    env = environment()
    post_limiter = RateLimiter(settings.posts_per_minute, 60.0)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)

    plot_cache = PlotCache()
    app = FastAPI(title="InsTrack leaderboard", docs_url="/api/docs", redoc_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + FORM_SLACK)
    app.add_middleware(SecurityHeaders)  # outermost: the 413 answers carry the headers too
    app.state.store, app.state.queue, app.state.settings = store, queue, settings
    app.state.plot_cache = plot_cache

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(titles=TITLES, settings=settings, **context)
        return HTMLResponse(html, status_code=status)

    def error_page(status: int, title: str, messages: list[str]) -> HTMLResponse:
        return page("error", status, status_code=status, title=title, messages=messages)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        return error_page(exc.status_code, "error", [str(exc.detail)])

    @app.exception_handler(InsTrackError)
    async def input_error(request: Request, exc: InsTrackError):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": one_line(str(exc))}, status_code=400)
        return error_page(400, "bad request", [one_line(str(exc))])

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception):
        # a bug of ours: one line for the visitor, the traceback for the log
        # (Starlette re-raises after this answer, so uvicorn logs it)
        message = "internal error; the server's log has the details"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=500)
        return error_page(500, "internal error", [message])

    # -- the board ---------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def board(benchmark: str = settings.benchmark, origin: str = "all", sort: str = "jf_mean",
                    order: str | None = None):
        if sort not in SORTABLE:
            sort = "jf_mean"
        _plain_parameters(benchmark=benchmark, origin=origin)
        descending = None if order not in ("asc", "desc") else order == "desc"
        origins = None if origin == "all" else [origin]
        entries = await run_in_threadpool(store.entries, benchmark, origins, False, sort, descending)
        if descending is None:
            descending = sort not in LOWER_IS_BETTER and sort not in {"method", "variant", "origin", "setting"}
        metric_columns = [(METRIC_COLUMNS[m], SHORT[m]) for m in METRIC_COLUMNS
                          if any(e[METRIC_COLUMNS[m]] is not None for e in entries)]
        marks = {col: dict(zip((e["id"] for e in entries),
                               competition_marks([e[col] for e in entries], col in LOWER_IS_BETTER)))
                 for col, _ in metric_columns}

        def marked(e: dict, col: str) -> str:
            text, mark = percent(e[col]), marks[col].get(e["id"])
            return f"<strong>{text}</strong>" if mark == 1 else f"<u>{text}</u>" if mark == 2 else text

        def sort_link(key: str) -> str:
            flip = "asc" if key == sort and descending else "desc"
            return f"?benchmark={benchmark}&origin={origin}&sort={key}&order={flip}"

        # the board this server scores into is always selectable, even before its first entry
        benchmarks = sorted({*await run_in_threadpool(store.benchmarks), settings.benchmark})
        return page("board", entries=entries, benchmark=benchmark, benchmarks=benchmarks, origin=origin,
                    sort=sort, order="desc" if descending else "asc", marked=marked, sort_link=sort_link,
                    metric_columns=metric_columns,
                    lead_columns=[("method", "Method"), ("origin", "Origin"), ("year", "Year"),
                                  ("setting", "Online/Offline"), ("created_at", "Added")])

    def png_response(request: Request, key: str, draw) -> Response:  # noqa: ANN001
        etag = f'"{key}"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(plot_cache.get(key, draw), media_type="image/png", headers=headers)

    @app.get("/plot/methods.png")
    async def methods_plot(request: Request, benchmark: str = settings.benchmark):
        # a board with entries, a known one, or this server's own (empty until its first score):
        # any other name would let anyone make the server draw empty plots without end
        if benchmark not in {settings.benchmark, *TITLES} and benchmark not in await run_in_threadpool(
                store.benchmarks):
            raise StarletteHTTPException(404, f"benchmark {benchmark[:80]!r}: no such board")
        data = await run_in_threadpool(plots.methods_data, store, benchmark)
        key = digest("methods", benchmark, data)
        return await run_in_threadpool(png_response, request, key, lambda: plots.methods_png_of(data, benchmark))

    # -- an entry ------------------------------------------------------------------

    def visible_entry(entry_id: int) -> dict:
        e = store.entry(entry_id) if 0 < entry_id <= MAX_ID else None
        if e is None or e["hidden"]:
            raise StarletteHTTPException(404, f"entry {entry_id}: no such entry (or hidden by an admin)")
        return e

    @app.get("/entry/{entry_id}", response_class=HTMLResponse)
    async def entry_page(entry_id: int):
        e = await run_in_threadpool(visible_entry, entry_id)
        units = await run_in_threadpool(store.units, entry_id)
        return page("entry", e=e, units=units, cols=METRIC_COLUMNS, metric_names=list(METRIC_COLUMNS),
                    unit_metrics=list(UNIT_METRICS), pct=percent, fmt=_fmt, breakdowns=_breakdown_tables(e))

    @app.get("/entry/{entry_id}/plot/{kind}.png")
    async def entry_plot(request: Request, entry_id: int, kind: str):
        if kind not in ("per-video", "robustness"):
            raise StarletteHTTPException(404, f"plot {kind[:40]!r}: expected per-video or robustness")
        e = await run_in_threadpool(visible_entry, entry_id)
        units = await run_in_threadpool(store.units, entry_id)
        if kind == "per-video":
            def draw() -> bytes:
                return plots.per_video_png({e["display_name"]: units})
        else:
            def draw() -> bytes:
                return plots.robustness_png(units)
        # an entry's units never change once written; its name is part of the figure
        key = digest(kind, entry_id, e["display_name"], len(units))
        return await run_in_threadpool(png_response, request, key, draw)

    # -- submissions -------------------------------------------------------------------

    async def accept(request: Request) -> dict:
        """Check, store and enqueue an upload; raises Refusal."""
        client = request.client.host if request.client else "?"
        wait = post_limiter.allow(client)
        if wait is not None:
            raise Refusal(429, f"too many requests from {client}: at most {settings.posts_per_minute} per minute",
                          retry_after=wait)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise Refusal(400, "expected a multipart/form-data upload with a 'file' field "
                               f"(got {request.headers.get('content-type') or 'no content type'})")
        try:
            form = await request.form(max_files=1, max_fields=16)
        except BodyTooLarge:
            raise  # BodySizeLimit answers 413 (a chunked body went over the limit while read)
        except Exception as err:  # a body that is not multipart/form-data
            detail = getattr(err, "detail", None) or err
            raise Refusal(400, f"expected a multipart/form-data upload with a 'file' field ({one_line(detail)})"
                          ) from err
        fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}
        values = {"method": fields.get("method") or "", "variant": fields.get("variant") or "",
                  "paper": fields.get("paper") or "", "link": fields.get("link") or ""}
        request.state.form_values = {k: v if isinstance(v, str) else "" for k, v in values.items()}
        token = _token_from(request, fields.get("token") if isinstance(fields.get("token"), str) else None)
        submitter = await run_in_threadpool(store.submitter_for_token, token)
        if submitter is None:
            raise Refusal(401, "wrong or missing submitter token" if token else "a submitter token is required",
                          ["Ask the leaderboard's admin for a token (instrack leaderboard token add NAME)."])
        if not isinstance(values["method"], str) or not values["method"]:
            raise Refusal(400, "the field 'method' is required (the name your entry is listed under)")
        for key, value in values.items():
            if not isinstance(value, str) or len(value) > 500:
                raise Refusal(400, f"the field {key!r} must be text of at most 500 characters")
            if _CONTROL.search(value):  # PostgreSQL refuses NUL in text; newlines would break one-line lists
                raise Refusal(400, f"the field {key!r} must be one line of text, without control characters")
        if values["link"] and not is_http_link(values["link"]):
            raise Refusal(400, "the field 'link' must be an http:// or https:// URL (or left empty)")
        upload = fields.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Refusal(400, "the field 'file' is required: a .zip of the PNG masks or an RLE .json")
        def over_quota(recent: int) -> Refusal:
            return Refusal(429, f"submitter {submitter.name!r} has made {recent} submissions in the last hour "
                                f"(limit {settings.submissions_per_hour}); try again later", retry_after=600)

        def queue_full() -> Refusal:
            return Refusal(503, "the queue is full; try again in a few minutes", retry_after=120)

        # early answers, before the upload is stored and checked; the binding
        # check is the one made under a lock when the row is inserted (enqueue)
        since = utcnow() - timedelta(hours=1)
        recent = await run_in_threadpool(queue.count_since, submitter.id, since)
        if recent >= settings.submissions_per_hour:
            raise over_quota(recent)
        if await run_in_threadpool(queue.pending) >= settings.max_pending:
            raise queue_full()
        filename = _CONTROL.sub("?", Path(upload.filename.replace("\\", "/")).name)[:200] or "upload"
        stored, size, sha = await run_in_threadpool(_store_upload, upload, settings.upload_dir)
        queued = False
        try:
            try:
                problems = await run_in_threadpool(check_upload, str(settings.gt_root), settings.split,
                                                   settings.protocol, str(stored))
            except Exception as err:  # a reader's bug on hostile input: still the upload's fault, said in one line
                log.exception("checking upload %s (%s) raised", stored, filename)
                problems = [{"where": str(stored), "reason": f"could not be read ({type(err).__name__}: "
                                                             f"{one_line(str(err), 300)})"}]
            if problems:
                shown = [{"where": one_line(p["where"].replace(str(stored), filename)),
                          "reason": one_line(p["reason"].replace(str(stored), filename))} for p in problems]
                raise Refusal(422, f"{filename}: {len(shown)} problem(s); nothing was queued", problems=shown)
            try:
                sub_id = await run_in_threadpool(lambda: queue.enqueue(
                    submitter_id=submitter.id, benchmark=settings.benchmark, split=settings.split,
                    protocol=settings.protocol, filename=filename, stored_path=str(stored), size_bytes=size,
                    sha256=sha, per_hour=settings.submissions_per_hour, max_pending=settings.max_pending, **values))
            except QuotaExceeded as err:
                raise over_quota(err.recent) from None
            except QueueFull:
                raise queue_full() from None
            queued = True
        finally:
            if not queued:  # refused or failed: nothing of it stays on disk
                stored.unlink(missing_ok=True)
        return {"id": sub_id, "status": "queued", "url": f"/submission/{sub_id}",
                "api": f"/api/submissions/{sub_id}", "sha256": sha}

    @app.get("/submit", response_class=HTMLResponse)
    async def submit_form():
        return page("submit", errors=[], headline="", form={"method": "", "variant": "", "paper": "", "link": ""},
                    max_mb=settings.max_upload_bytes // 1_000_000)

    @app.post("/submit")
    async def submit(request: Request):
        try:
            accepted = await accept(request)
        except Refusal as refusal:
            errors = refusal.messages + [f"{p['where']}: {p['reason']}" for p in refusal.problems]
            form = getattr(request.state, "form_values", None) or {"method": "", "variant": "", "paper": "",
                                                                    "link": ""}
            response = page("submit", refusal.status, errors=errors, headline=refusal.headline, form=form,
                            max_mb=settings.max_upload_bytes // 1_000_000)
            response.headers.update(refusal.headers())
            return response
        return RedirectResponse(accepted["url"], status_code=303)

    @app.post("/api/submissions")
    async def api_submit(request: Request):
        try:
            accepted = await accept(request)
        except Refusal as refusal:
            return JSONResponse({"error": refusal.headline, "messages": refusal.messages,
                                 "problems": refusal.problems}, status_code=refusal.status,
                                headers=refusal.headers())
        return JSONResponse(accepted, status_code=202)

    def public_submission(sub_id: int) -> dict:
        sub = queue.get(sub_id) if 0 < sub_id <= MAX_ID else None
        if sub is None:
            raise StarletteHTTPException(404, f"submission {sub_id}: no such submission")
        stored = sub.pop("stored_path", None) or "\0"  # the server's own paths stay private
        sub.pop("worker", None)
        # stored as one line since the worker writes it so; rows an older
        # release wrote may hold a traceback: never shown
        sub["message"] = one_line(sub["message"].replace(stored, sub["filename"]))
        if not is_http_link(sub["link"]):
            sub["link"] = ""
        return sub

    @app.get("/submission/{sub_id}", response_class=HTMLResponse)
    async def submission_page(sub_id: int):
        return page("submission", sub=await run_in_threadpool(public_submission, sub_id))

    @app.get("/submissions", response_class=HTMLResponse)
    async def submissions_page():
        subs = await run_in_threadpool(queue.list)
        return page("submissions", subs=subs)

    @app.get("/api/submissions/{sub_id}")
    async def api_submission(sub_id: int):
        sub = await run_in_threadpool(public_submission, sub_id)
        for key in ("created_at", "updated_at", "lease_until"):
            sub[key] = sub[key].isoformat() if sub[key] else None
        return sub

    @app.get("/api/entries")
    async def api_entries(benchmark: str = settings.benchmark, origin: str = "all"):
        _plain_parameters(benchmark=benchmark, origin=origin)
        entries = await run_in_threadpool(store.entries, benchmark, None if origin == "all" else [origin])
        return [{**{k: v for k, v in e.items() if k not in ("dataset", "breakdowns")},
                 "link": e["link"] if is_http_link(e["link"]) else "",
                 "created_at": e["created_at"].isoformat()} for e in entries]

    # -- admin ------------------------------------------------------------------------------

    @app.post("/admin/entries/{entry_id}/hidden")
    async def set_hidden(request: Request, entry_id: int):
        client = request.client.host if request.client else "?"
        if post_limiter.allow(client) is not None:
            raise StarletteHTTPException(429, "too many requests")
        form = await request.form(max_files=0, max_fields=4)
        token = _token_from(request, form.get("token") if isinstance(form.get("token"), str) else None)
        who = await run_in_threadpool(store.submitter_for_token, token)
        if who is None:
            raise StarletteHTTPException(401, "wrong or missing admin token")
        if not who.is_admin:
            raise StarletteHTTPException(403, f"{who.name} is not an admin")
        hidden = str(form.get("hidden", "1")) not in ("0", "false", "")
        if not 0 < entry_id <= MAX_ID or await run_in_threadpool(store.entry, entry_id) is None:
            raise StarletteHTTPException(404, f"entry {entry_id}: no such entry")
        await run_in_threadpool(store.set_hidden, entry_id, hidden)
        if request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", ""):
            return {"id": entry_id, "hidden": hidden}
        return RedirectResponse("/" if hidden else f"/entry/{entry_id}", status_code=303)

    @app.get("/healthz")
    async def healthz():
        return {"ok": True, "pending": await run_in_threadpool(queue.pending), "plots_drawn": plot_cache.rendered}

    return app


def _store_upload(upload: UploadFile, folder: Path) -> tuple[Path, int, str]:
    """Copy the upload into `folder` under a name of ours, atomically; returns
    (path, size, sha256). The suffix comes from the content, not the name."""
    src = upload.file
    src.seek(0)
    head = src.read(64)
    suffix = _sniff_suffix(head)
    if suffix is None:
        raise Refusal(422, f"{Path(upload.filename or 'upload').name}: not a zip archive or a JSON file",
                      ["Upload a .zip of VIDEO/EXP_ID/FRAME.png (the files, or one folder holding them) "
                       "or a COCO RLE .json list (SPEC §2)."])
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=suffix)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            chunk = head
            while chunk:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                chunk = src.read(1 << 20)
            out.flush()
            os.fsync(out.fileno())
        final = folder / f"{digest.hexdigest()[:16]}-{os.urandom(4).hex()}{suffix}"
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final, size, digest.hexdigest()


def _plain_parameters(**params: str) -> None:
    """Query parameters that go into a query: short, no control characters
    (PostgreSQL refuses NUL in text: a 500 otherwise)."""
    for name, value in params.items():
        if len(value) > 200 or _CONTROL.search(value):
            raise StarletteHTTPException(400, f"parameter {name!r}: expected a short name without control characters")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value * 100:.1f}" if -1.5 <= value <= 1.5 else f"{value:.3g}"
    return "" if value is None else str(value)


def _breakdown_tables(entry: dict) -> list[tuple[str, list[tuple[str, dict]], list[str]]]:
    """The evaluator's breakdowns as (title, rows, columns): every mapping of
    label -> {metric: number} found in them, so new breakdowns show up unasked."""
    out = []

    def walk(title: str, node: Any) -> None:
        if not isinstance(node, dict) or not node:
            return
        if all(isinstance(v, dict) for v in node.values()) and all(
                any(isinstance(x, (int, float)) for x in v.values()) for v in node.values()):
            columns: list[str] = []
            for v in node.values():
                columns += [k for k, x in v.items() if isinstance(x, (int, float)) and k not in columns]
            out.append((title, [(str(k), v) for k, v in node.items()], columns))
            return
        if all(isinstance(v, (int, float)) for v in node.values()):
            out.append((title, [("all", node)], list(node)))
            return
        for key, value in node.items():
            walk(f"{title} / {key}" if title else str(key), value)

    walk("", entry.get("breakdowns") or {})
    return [(f"Breakdown: {t}", rows, cols) for t, rows, cols in out]
