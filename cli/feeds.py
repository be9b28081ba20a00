"""`newsqa feeds add|list|remove|poll` (feed subscriptions kept in the index) and `newsqa watch DIR...`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from qa.settings import Settings

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 2
MIN_EVERY = 60  # seconds: polling a publisher more often than once a minute is rude and gains nothing
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """Seconds of "90s", "15m", "2h", "1d" or a bare number of seconds; at least MIN_EVERY."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 1d)")
    seconds = int(float(match.group(1)) * _UNITS[match.group(2) or "s"])
    if seconds < MIN_EVERY:
        raise argparse.ArgumentTypeError(f"{text!r} is too often: at least {MIN_EVERY} s")
    return seconds


def show_duration(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("feeds", parents=[common], help="RSS/Atom feeds whose new items are ingested by themselves",
                       description="Feed subscriptions, kept in the index. `newsqa serve` polls them in the "
                                   "background; `feeds poll` polls now. Each new or changed item's page is fetched "
                                   "and ingested (its main text, as .html ingest does; the feed's own text when the "
                                   "page cannot be had).")
    actions = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    a = actions.add_parser("add", parents=[common], help="subscribe to a feed (http or https)")
    a.add_argument("url", metavar="URL")
    a.add_argument("--every", type=duration, default=900, metavar="DURATION",
                   help="how often to poll it: 90s, 15m, 2h, 1d (default 15m, at least 1m)")
    a.add_argument("--source", metavar="NAME", help="source name of its articles (default: each page's site name)")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("list", parents=[common], help="feeds with their state: items seen, last success, "
                                                          "last error, next poll")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("remove", parents=[common], help="unsubscribe (its articles stay in the archive)")
    a.add_argument("feed_id", type=int, metavar="ID")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("poll", parents=[common], help="poll every feed (or feed ID) once, now. Exit status 1 "
                                                          "when a feed failed (the others are still polled)")
    a.add_argument("feed_id", type=int, nargs="?", metavar="ID")
    a.add_argument("--json", action="store_true")

    p = sub.add_parser("watch", parents=[common], help="ingest files created or changed under folders, until "
                                                       "interrupted",
                       description="Watch folders: a file created or changed there is ingested (any format ingest "
                                   "reads) once it has stopped changing for NEWSQA_WATCH_SETTLE seconds, so a file "
                                   "still being written is not ingested half. `newsqa serve` does the same for the "
                                   "folders in NEWSQA_WATCH.")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--remove-deleted", action="store_true", help="remove the articles of files deleted there")


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.fetch import FetchError, check_url
    from index import feeds
    from qa.feeds import open_store, poll

    conn = open_store(settings)
    try:
        if args.feeds_command == "add":
            try:
                feed = feeds.add_feed(conn, check_url(args.url), args.every, args.source)
            except (FetchError, feeds.FeedExists) as exc:
                print(f"newsqa: {exc}", file=sys.stderr)
                return EXIT_USAGE
            if args.json:
                _print_json(feed)
            else:
                print(f"feed {feed['id']}: {feed['url']} every {show_duration(feed['every_seconds'])}"
                      f"{' as ' + feed['source'] if feed['source'] else ''}; polled by `newsqa serve`, or now with "
                      f"`newsqa feeds poll {feed['id']}`")
            return EXIT_OK
        if args.feeds_command == "list":
            found = feeds.list_feeds(conn)
            if args.json:
                _print_json(found)
            else:
                _print_feeds(found)
            return EXIT_OK
        if args.feeds_command == "remove":
            removed = feeds.remove_feed(conn, args.feed_id)
            if args.json:
                _print_json({"removed": int(removed), "id": args.feed_id})
            elif removed:
                print(f"feed {args.feed_id} removed (its articles stay in the archive)")
            if not removed:
                print(f"newsqa: no feed {args.feed_id} in {settings.index_dir}", file=sys.stderr)
            return EXIT_OK if removed else EXIT_SKIPPED
        if args.feed_id is not None and feeds.get_feed(conn, args.feed_id) is None:
            print(f"newsqa: no feed {args.feed_id} in {settings.index_dir}", file=sys.stderr)
            return EXIT_SKIPPED
    finally:
        conn.close()
    report = poll(settings, [args.feed_id] if args.feed_id is not None else None)
    if args.json:
        _print_json(report.to_dict())
    else:
        for f in report.feeds:
            what = (f"error: {f.error}" if f.status == "error" else "not modified" if f.status == "not_modified" else
                    f"{f.items} items: {len(f.new)} new, {len(f.updated)} updated, {f.unchanged} unchanged, "
                    f"{len(f.skipped)} skipped")
            print(f"feed {f.feed_id} {f.url}: {what}")
            for note in f.notes:
                print(f"  note {note}")
            for skipped in f.skipped:
                print(f"  skipped {skipped.where}: {skipped.reason}")
    return EXIT_SKIPPED if any(f.status == "error" for f in report.feeds) else EXIT_OK


def _print_feeds(found: list[dict[str, Any]]) -> None:
    if not found:
        print("no feeds; add one with `newsqa feeds add URL`")
    for f in found:
        print(f"{f['id']:>3}  {f['url']}  every {show_duration(f['every_seconds'])}"
              f"{'  source ' + f['source'] if f['source'] else ''}")
        print(f"     items seen {f['items_seen']}, last success {f['last_success'] or 'never'}, "
              f"next poll {f['next_poll'] or 'now'}")
        if f["last_error"]:
            streak = f" ({f['failures']} failures in a row)" if f["failures"] else ""
            print(f"     last error {f['last_error_at']}: {f['last_error']}{streak}")


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from qa.watch import Watcher

    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        print(f"newsqa: not a folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    watcher = Watcher(settings, [Path(d) for d in args.dirs], remove_deleted=args.remove_deleted)
    print(f"newsqa: watching {', '.join(args.dirs)} (Ctrl-C stops)", file=sys.stderr)
    watcher.run(on_report=lambda line: print(line, flush=True))
    return EXIT_OK


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
