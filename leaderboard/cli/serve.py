"""instrack serve: the web leaderboard and its scoring worker.

    instrack serve                          # embedded SQLite, the bundled sample as test set
    instrack serve --gt ROOT --db postgresql://... --data-dir DIR --port 8000
    instrack serve --no-worker              # web only (run workers elsewhere)
    instrack serve --worker-only [--scheduler tcp://HOST:8786]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from instrack.errors import UsageError

HELP = "run the web leaderboard (board, entry pages, submissions) and its scoring worker"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", default="instrack-leaderboard", metavar="DIR",
                        help="uploads and the default SQLite database live here (default: ./instrack-leaderboard)")
    parser.add_argument("--db", metavar="URL_OR_PATH",
                        help="SQLAlchemy URL or SQLite file (default: $INSTRACK_LEADERBOARD_DB, "
                             "else DATA_DIR/leaderboard.sqlite)")
    parser.add_argument("--gt", metavar="ROOT", help="ground truth to score against (default: the bundled sample)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--protocol", default="instrack")
    parser.add_argument("--benchmark", help="the board submissions go to (default: instrack with --gt; "
                        "instrack-sample for the bundled sample, so sample scores never sit beside "
                        "InsTrack test numbers)")
    parser.add_argument("--max-upload-bytes", type=int, default=256 << 20)
    parser.add_argument("--submissions-per-hour", type=int, default=30, help="per submitter")
    parser.add_argument("--max-pending", type=int, default=500, help="queued submissions before 503")
    parser.add_argument("--posts-per-minute", type=int, default=60, help="per client address")
    parser.add_argument("--trusted-proxies", metavar="ADDRESSES",
                        help="comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
                             "(default: none; the client is the TCP peer)")
    parser.add_argument("--header-timeout-s", type=float, default=10.0,
                        help="close connections that have not sent a complete request head by then")
    parser.add_argument("--lease-s", type=float, default=30.0,
                        help="a worker silent this long loses its submission to another")
    parser.add_argument("--max-attempts", type=int, default=3, help="crashes before a submission is failed")
    parser.add_argument("--eval-timeout-s", type=float, default=3600.0)
    parser.add_argument("--jobs", type=int, default=1, help="evaluations at once per worker")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="score on a Dask distributed cluster at ADDRESS")
    parser.add_argument("--poll-s", type=float, default=1.0, help=argparse.SUPPRESS)
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--no-worker", action="store_true", help="web server only")
    role.add_argument("--worker-only", action="store_true", help="scoring worker only")
    parser.add_argument("--admin-token-file", metavar="FILE",
                        help="file holding the token for the admin created on first start (default: "
                             "$INSTRACK_ADMIN_TOKEN, else a random one, printed once)")
    # a token on the command line is readable by every user of the machine (ps):
    # refused with the way to do it instead
    parser.add_argument("--admin-token", help=argparse.SUPPRESS)


def settings_from(args: argparse.Namespace):
    from instrack_leaderboard.config import ServerSettings
    from instrack_leaderboard.db import ENV_DB

    data_dir = Path(args.data_dir).expanduser().resolve()
    if args.gt:
        gt = Path(args.gt)
        if not (gt / args.split).is_dir():
            raise UsageError(f"--gt {gt}: no split folder {args.split!r} there (SPEC §1 layout)")
    else:
        from instrack.dataset.sample import sample_root

        gt = sample_root()
    benchmark = _board(gt, args.split, args.benchmark)
    for name in ("port", "max_upload_bytes", "submissions_per_hour", "max_pending", "posts_per_minute",
                 "max_attempts", "jobs"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if not args.header_timeout_s > 0:
        raise UsageError(f"--header-timeout-s must be above 0, not {args.header_timeout_s}")
    db = args.db or os.environ.get(ENV_DB) or str(data_dir / "leaderboard.sqlite")
    return ServerSettings(
        db=db, data_dir=data_dir, gt_root=gt.resolve(), split=args.split, protocol=args.protocol,
        benchmark=benchmark, max_upload_bytes=args.max_upload_bytes,
        submissions_per_hour=args.submissions_per_hour, max_pending=args.max_pending,
        posts_per_minute=args.posts_per_minute, trusted_proxies=args.trusted_proxies or None,
        header_timeout_s=args.header_timeout_s, lease_s=args.lease_s, max_attempts=args.max_attempts,
        eval_timeout_s=args.eval_timeout_s, jobs=args.jobs, scheduler=args.scheduler, poll_s=args.poll_s,
    )


def _board(gt: Path, split: str, requested: str | None) -> str:
    """Scores against the bundled sample (or a copy) go to the sample board only."""
    import hashlib

    from instrack.dataset.sample import SAMPLE_BOARD, is_sample

    meta = gt / split / "meta_expressions.json"
    digest = hashlib.sha256(meta.read_bytes()).hexdigest() if meta.is_file() else None
    if is_sample(gt, digest):
        if requested not in (None, SAMPLE_BOARD):
            raise UsageError(f"--benchmark {requested}: {gt} is the bundled sample; its scores go only to the "
                             f"{SAMPLE_BOARD} board, never beside InsTrack numbers")
        return SAMPLE_BOARD
    return requested or "instrack"


def run(args: argparse.Namespace) -> int:
    from instrack.errors import require

    for module in ("sqlalchemy", "fastapi", "uvicorn", "multipart", "jinja2"):
        require(module, "leaderboard")
    settings = settings_from(args)
    token = admin_token(args)  # refused before anything starts
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.worker_only:
        from instrack_leaderboard.worker import run_worker

        return run_worker(settings)
    from instrack_leaderboard.server import serve

    if settings.db.startswith("sqlite") or "://" not in settings.db:
        print(f"instrack serve: data in {settings.data_dir}", file=sys.stderr)
    return serve(settings, args.host, args.port, with_worker=not args.no_worker, admin_token=token)


def admin_token(args: argparse.Namespace) -> str | None:
    """The first admin's token: from --admin-token-file or $INSTRACK_ADMIN_TOKEN,
    never from the command line (any user of the machine can read it there)."""
    if args.admin_token:
        raise UsageError("--admin-token: a token on the command line is visible to every user (ps); "
                         "put it in a file (--admin-token-file FILE) or in $INSTRACK_ADMIN_TOKEN")
    if args.admin_token_file:
        path = Path(args.admin_token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"--admin-token-file {path}: cannot read it ({err})") from err
        if not token or any(c.isspace() for c in token):
            raise UsageError(f"--admin-token-file {path}: expected one token on one line")
        return token
    return os.environ.get("INSTRACK_ADMIN_TOKEN") or None
