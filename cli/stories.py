"""newsqa timeline and newsqa stories: what happened with a subject, and the stories the archive groups."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from qa.settings import Settings

EXIT_OK, EXIT_USAGE = 0, 2


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("timeline", parents=[common], help="dated events about a subject, each an exact quote",
                       description="A timeline: one line per report about the subject (words, an actor or both), "
                                   "in date order, each line a quoted sentence of its article with the article's "
                                   "id; re-published copies give one line. Ends with what the archive holds.")
    p.add_argument("query", nargs="?", help="what the timeline is about, e.g. 'the port strike'")
    p.add_argument("--actor", help="follow this person/organisation/place (aliases match)")
    p.add_argument("--since", type=_date, metavar="DATE")
    p.add_argument("--until", type=_date, metavar="DATE")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="later articles do not exist")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stories", parents=[common], help="stories: articles about one event, grouped at ingest")
    p.add_argument("query", nargs="?", help="words the stories are about (default: the latest stories)")
    p.add_argument("--actor", help="stories naming this actor")
    p.add_argument("--since", type=_date, metavar="DATE")
    p.add_argument("--until", type=_date, metavar="DATE")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import Engine
    from qa.timeline import TimelineRequest, build_timeline

    if not args.query and not args.actor:
        print("newsqa timeline: give a subject, --actor, or both")
        return EXIT_USAGE
    engine = Engine.open(settings)
    found = build_timeline(engine.reader, engine.searcher, TimelineRequest(
        query=args.query, actor=args.actor, since=args.since, until=args.until, as_of=args.as_of),
        actors=engine.actor_index)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    for event in found.events:
        print(f"{event['date']}  {event['quote']}  [{event['article_id']}]")
    print(found.coverage["text"])
    return EXIT_OK


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import Engine
    from qa.stories import find_stories

    engine = Engine.open(settings)
    found = find_stories(engine.reader, engine.searcher, q=args.query, actor=args.actor, since=args.since,
                         until=args.until, limit=args.limit, actors=engine.actor_index)
    if args.json:
        print(json.dumps({"stories": found}, indent=2, ensure_ascii=False))
        return EXIT_OK
    for story in found:
        span = story["first_date"] if story["first_date"] == story["last_date"] else (
            f"{story['first_date']} – {story['last_date']}")
        print(f"{story['id']}  {story['title']}  ({story['article_count']} articles, {span})")
        for article in story["articles"]:
            print(f"    {article['date']}  {article['title']}  [{article['article_id']}]")
    return EXIT_OK
