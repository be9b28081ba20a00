"""`newsqa actor NAME` (an actor: aliases, type, when and how often named, who with) and `newsqa quotes`."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from qa.settings import Settings

EXIT_OK, EXIT_NOT_FOUND = 0, 3


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("actor", parents=[common], help="an actor of the archive: aliases, type, mentions, quotes",
                       description="The actor a name stands for (any alias: a surname, a title and name, an "
                                   "abbreviation), with its mentions per week, first and last seen and the actors "
                                   "most often named with it.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("quotes", parents=[common], help="direct quotes, by speaker, words and dates")
    p.add_argument("--speaker", help="an actor's name (any alias) or id")
    p.add_argument("--q", help="words the quote holds")
    p.add_argument("--since", help="YYYY-MM-DD")
    p.add_argument("--until", help="YYYY-MM-DD")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")


def cmd_actor(args: argparse.Namespace, settings: Settings) -> int:
    from index.actor_reader import ActorIndex

    actors = ActorIndex(settings.index_dir)
    actor_id = actors.find(args.name)
    found = actors.get(actor_id) if actor_id is not None else None
    if found is None:
        near = actors.search(args.name, limit=5)
        print(f"newsqa: no actor named '{args.name}'" + (f"; similar: {', '.join(a['name'] for a in near)}"
                                                         if near else ""), file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{found['name']} ({found['type']}), id {found['id']}")
    print(f"aliases: {', '.join(found['aliases'])}")
    print(f"{found['mentions']} mentions in {found['articles']} articles, first seen {found['first_seen']}, "
          f"last seen {found['last_seen']}; {found['quotes']} quotes")
    weeks = ", ".join(f"{w['week']}: {w['mentions']}" for w in found["mentions_per_week"][-12:])
    print(textwrap.fill(f"per week: {weeks}", 110, subsequent_indent="  "))
    if found["co_mentioned"]:
        print("named with: " + ", ".join(f"{c['name']} ({c['articles']})" for c in found["co_mentioned"]))
    return EXIT_OK


def cmd_quotes(args: argparse.Namespace, settings: Settings) -> int:
    from index.actor_reader import ActorIndex

    quotes = ActorIndex(settings.index_dir).quotes(args.speaker, args.q, args.since, args.until, limit=args.limit)
    if args.json:
        print(json.dumps({"quotes": quotes}, indent=2, ensure_ascii=False))
        return EXIT_OK
    for q in quotes:
        print(f"{q['date'] or 'undated'}  {q['speaker']['name']} {q['verb']}: “{q['quote']}”")
        print(f"      {q['title'] or '(untitled)'} [{q['article_id']} {q['start']}:{q['end']}]")
    return EXIT_OK if quotes else EXIT_NOT_FOUND
