"""instrack leaderboard: the results store, its tables and plots.

    instrack leaderboard add RESULT.json --method NAME [--variant V] [--origin reproduced] --db DB
    instrack leaderboard show [--benchmark instrack] [--origin ORIGIN]
    instrack leaderboard render --format md|latex|html|csv [--table table2] [--out FILE]
    instrack leaderboard plot --kind methods|per-video|robustness --out FILE.png
    instrack leaderboard token add NAME [--admin] --db DB
    instrack leaderboard hide ENTRY_ID [--undo] --db DB
    instrack leaderboard codabench --gt ROOT --out BUNDLE.zip

Without --db (or $INSTRACK_LEADERBOARD_DB) the read verbs use the embedded
default store, which holds the TrackGPT paper's Tables 1 and 2."""

from __future__ import annotations

import argparse
import sys

from instrack.errors import UsageError

HELP = "the leaderboard: add results, show and render tables (md, LaTeX, HTML, CSV), plot"

ORIGINS = ("reported", "reproduced", "submitted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", metavar="URL_OR_PATH",
                       help="SQLAlchemy URL or SQLite file (default: $INSTRACK_LEADERBOARD_DB, "
                            "else the embedded store of reported tables)")
        return p

    add = with_db(sub.add_parser("add", help="store an evaluator result JSON (SPEC §6) as an entry"))
    add.add_argument("result", metavar="RESULT.json")
    add.add_argument("--method", required=True)
    add.add_argument("--variant", default="")
    add.add_argument("--paper", default="", help="citation of the method's paper")
    add.add_argument("--link", default="", help="URL of the paper or code")
    add.add_argument("--origin", default="reproduced", choices=ORIGINS)
    add.add_argument("--benchmark", help="board name (default: from the result's protocol)")
    add.add_argument("--year", type=int)
    add.add_argument("--setting", choices=("online", "offline", "semi-online"))

    show = with_db(sub.add_parser("show", help="print a board as a text table"))
    show.add_argument("--benchmark", default="instrack")
    show.add_argument("--origin", choices=ORIGINS, action="append", help="only these origins (repeatable)")
    show.add_argument("--hidden", action="store_true", help="include entries an admin hid")

    render = with_db(sub.add_parser("render", help="render a table: md, latex (booktabs), html or csv"))
    render.add_argument("--format", default="md", choices=("md", "latex", "html", "csv"))
    render.add_argument("--table", default="table2",
                        help="table1, table2 (the paper's) or a benchmark's board: instrack, refer-davis17, ...")
    render.add_argument("--origin", choices=ORIGINS, action="append", help="only these origins (repeatable)")
    render.add_argument("--out", metavar="FILE", help="write here (default: stdout)")

    plot = with_db(sub.add_parser("plot", help="draw a PNG: methods, per-video or robustness"))
    plot.add_argument("--kind", default="methods", choices=("methods", "per-video", "robustness"))
    plot.add_argument("--benchmark", default="instrack")
    plot.add_argument("--entry", type=int, action="append", metavar="ID",
                      help="entries for per-video / robustness (default: every entry with per-unit results)")
    plot.add_argument("--out", required=True, metavar="FILE.png")

    token = with_db(sub.add_parser("token", help="create a submitter and print its token"))
    token.add_argument("verb", choices=("add",))
    token.add_argument("name")
    token.add_argument("--admin", action="store_true", help="may hide entries")

    hide = with_db(sub.add_parser("hide", help="hide an entry from the board (or show it again)"))
    hide.add_argument("entry_id", type=int)
    hide.add_argument("--undo", action="store_true")

    cb = sub.add_parser("codabench", help="write a Codabench competition bundle for a (hidden) split")
    cb.add_argument("--gt", required=True, metavar="ROOT")
    cb.add_argument("--split", default="test")
    cb.add_argument("--protocol", default="instrack")
    cb.add_argument("--title", default="InsTrack")
    cb.add_argument("--out", required=True, metavar="BUNDLE.zip")


def _writable_store(args: argparse.Namespace):
    import os

    from instrack_leaderboard.db import ENV_DB
    from instrack_leaderboard.store import Store

    if not args.db and not os.environ.get(ENV_DB):
        raise UsageError(f"'{args.action}' changes the store: pass --db PATH_OR_URL or set {ENV_DB} "
                         "(the embedded default store is read-only)")
    return Store(args.db)


def _write(text: str, out: str | None) -> None:
    if out:
        from instrack.fileio import atomic_write_text

        atomic_write_text(out, text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run(args: argparse.Namespace) -> int:
    from instrack_leaderboard.store import Store

    action = args.action
    if action == "add":
        from instrack_leaderboard.results import load_result

        result = load_result(args.result)
        store = _writable_store(args)
        entry_id = store.add_result(result, method=args.method, variant=args.variant, origin=args.origin,
                                    paper=args.paper, link=args.link, benchmark=args.benchmark, year=args.year,
                                    setting=args.setting, source=f"instrack leaderboard add {args.result}")
        e = store.entry(entry_id)
        print(f"added entry {entry_id}: {e['display_name']} ({e['origin']}) on {e['benchmark']}: "
              f"J&F {e['jf_mean'] * 100:.1f}  [{store.display_url}]")
        if result.is_sample:
            print(f"note: a result on the bundled sample: it is on the {e['benchmark']} board only, never beside "
                  "InsTrack numbers", file=sys.stderr)
        db = f" --db {args.db}" if args.db else ""
        print(f"next: `instrack leaderboard show --benchmark {e['benchmark']}{db}` to see the board", file=sys.stderr)
        return 0
    if action == "show":
        from instrack_leaderboard.textable import board_text

        store = Store(args.db)
        sys.stdout.write(board_text(store, args.benchmark, args.origin, args.hidden))
        return 0
    if action == "render":
        from instrack_leaderboard.render import render
        from instrack_leaderboard.tables import build_table

        store = Store(args.db)
        table = build_table(store, args.table, tuple(args.origin) if args.origin else None)
        _write(render(table, args.format), args.out)
        return 0
    if action == "plot":
        return _plot(args)
    if action == "token":
        token = _writable_store(args).add_submitter(args.name, is_admin=args.admin)
        print(token)
        print(f"created submitter {args.name!r}{' (admin)' if args.admin else ''}; "
              "the token is shown only now", file=sys.stderr)
        return 0
    if action == "hide":
        _writable_store(args).set_hidden(args.entry_id, not args.undo)
        print(f"entry {args.entry_id} {'shown' if args.undo else 'hidden'}")
        return 0
    if action == "codabench":
        from instrack_leaderboard.hosting.codabench import write_bundle

        path = write_bundle(args.gt, args.out, split=args.split, protocol=args.protocol, title=args.title)
        print(f"wrote {path}")
        return 0
    raise UsageError(f"unknown action {action!r}")


def _plot(args: argparse.Namespace) -> int:
    from instrack.fileio import atomic_write_bytes
    from instrack_leaderboard import plots
    from instrack_leaderboard.store import Store

    store = Store(args.db)
    if args.kind == "methods":
        png = plots.methods_png(store, args.benchmark)
    else:
        ids = args.entry or [e["id"] for e in store.entries(args.benchmark) if e["origin"] != "reported"]
        series = {}
        for entry_id in ids:
            e = store.entry(entry_id)
            if e is None:
                raise UsageError(f"--entry {entry_id}: no such entry in {store.display_url}")
            units = store.units(entry_id)
            if not units:
                raise UsageError(f"--entry {entry_id} ({e['display_name']}): no per-unit results "
                                 "(entries typed in from a paper have none)")
            series[f"{e['display_name']} #{entry_id}"] = units
        if not series:
            raise UsageError(f"{args.kind}: no entry on {args.benchmark} has per-unit results; "
                             "add one with 'instrack leaderboard add' or pass --entry")
        if args.kind == "per-video":
            png = plots.per_video_png(series)
        else:
            if len(series) != 1:
                raise UsageError("robustness draws one entry: pass --entry ID once")
            (label, units), = series.items()
            png = plots.robustness_png(units, f"{label}: J&F across each video's instructions")
    atomic_write_bytes(args.out, png)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
