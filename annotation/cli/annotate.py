"""`instrack annotate`: seed instructions and rephrasing review in Label Studio.

    instrack annotate serve ROOT --data-dir LSDATA        # a server of our own, loopback
    instrack annotate import ROOT --server-dir LSDATA     # tasks for every video (idempotent)
    instrack annotate export ROOT --server-dir LSDATA     # seeds -> meta_expressions.json
    instrack annotate review-import ROOT --server-dir LSDATA
    instrack annotate review-export ROOT --server-dir LSDATA

--server-dir reads the URL, token and media root that `serve` recorded; --url and
--token (or $LABEL_STUDIO_URL, $LABEL_STUDIO_API_KEY) reach any other server.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

HELP = "seed instructions and rephrasing review in a Label Studio server (serve, import, export, ...)"
ACTIONS = ("serve", "import", "export", "review-import", "review-export")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("root", type=Path, metavar="ROOT", help="dataset root (SPEC §1 layout)")
    parser.add_argument("--split", default="test", help="split folder under ROOT (default: test)")
    parser.add_argument("--project", help="project title (default: derived from ROOT and the split)")
    server = parser.add_argument_group("server")
    server.add_argument("--server-dir", type=Path, metavar="DIR",
                        help="data folder of a server started by `annotate serve` (URL, token, media root)")
    server.add_argument("--url", default=os.environ.get("LABEL_STUDIO_URL"), help="server URL ($LABEL_STUDIO_URL)")
    server.add_argument("--token", default=os.environ.get("LABEL_STUDIO_API_KEY"),
                        help="API token ($LABEL_STUDIO_API_KEY)")
    server.add_argument("--files-root", type=Path,
                        help="the server's local-files document root (default: ROOT)")
    serve = parser.add_argument_group("serve")
    serve.add_argument("--data-dir", type=Path, help="serve: the server's own data folder (database, credentials)")
    serve.add_argument("--host", default="127.0.0.1", help="serve: address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="serve: port (default: 8080; 0 picks a free one)")
    serve.add_argument("--bin", type=Path, help="serve: label-studio executable "
                       "(default: $INSTRACK_LABEL_STUDIO_BIN or .ls-venv/bin/label-studio)")
    work = parser.add_argument_group("import / export")
    work.add_argument("--all", dest="include_all", action="store_true",
                      help="review-import: every unreviewed rephrasing, not only those left for review")
    work.add_argument("--overwrite", action="store_true",
                      help="export: replace seeds that did not come from this Label Studio project")
    work.add_argument("--clip-frames", type=int, default=48, help="frames per task clip (default: 48)")
    work.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def _connection(args):
    from instrack.errors import UsageError
    from instrack_annotation.labelstudio import connect
    from instrack_annotation.server import read_connection

    if args.server_dir is not None:
        url, token, files_root = read_connection(args.server_dir)
        return connect(args.url or url, args.token or token), args.files_root or files_root
    if not args.url:
        raise UsageError("which server? give --server-dir, or --url and --token")
    return connect(args.url, args.token or ""), args.files_root or args.root


def _serve(args) -> int:
    from instrack.errors import UsageError
    from instrack_annotation.server import LOOPBACK, LabelStudioServer, ServerError, default_executable

    if args.data_dir is None:
        raise UsageError("serve needs --data-dir: the server's own folder (database, credentials)")
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}, not loopback: anyone who can reach it sees the media")
    server = LabelStudioServer(args.bin or default_executable(), args.data_dir, args.root,
                               host=args.host, port=args.port)
    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a service manager or CI stops it as Ctrl-C does
    with server:
        print(f"Label Studio at {server.url} (user {server.credentials.username}; password and API token "
              f"in {server.data_dir / 'instrack-server.json'}); media served from {server.files_root}")
        print("Ctrl-C stops it.", flush=True)
        try:
            status = server.process.wait()
        except KeyboardInterrupt:
            return 0
    raise ServerError(f"label-studio stopped by itself (status {status}); see {server.log_path}")


def run(args: argparse.Namespace) -> int:
    from instrack.errors import UsageError

    if args.action == "serve":
        return _serve(args)
    from instrack_annotation import review, seeds
    from instrack_annotation.meta import MetaFile
    from instrack_annotation.render import RenderConfig

    if args.clip_frames < 1:
        raise UsageError(f"--clip-frames must be at least 1, not {args.clip_frames}")
    title = seeds.check_title(args.project)
    meta = MetaFile(args.root, args.split)
    conn, files_root = _connection(args)
    render = RenderConfig(max_frames=args.clip_frames)
    if args.action == "import":
        report = seeds.import_seed_tasks(conn, meta, files_root, title, render, progress=args.progress)
    elif args.action == "export":
        report = seeds.export_seeds(conn, meta, title, overwrite=args.overwrite)
    elif args.action == "review-import":
        report = review.import_review_tasks(conn, meta, files_root, title, include_all=args.include_all,
                                            render=render, progress=args.progress)
    else:
        report = review.export_reviews(conn, meta, title)
    print(report.summary())
    return 0
