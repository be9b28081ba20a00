"""newsqa: ingest a news archive, ask it questions with cited answers, serve it over HTTP."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from cli.actors import add_parser as add_actors_parser
from cli.actors import cmd_actor, cmd_quotes
from cli.evaluate import add_parser as add_eval_parser
from cli.evaluate import cmd_eval
from cli.feeds import add_parser as add_feeds_parser
from cli.feeds import cmd_feeds, cmd_watch
from cli.mcp import add_parser as add_mcp_parser
from cli.mcp import cmd_mcp
from cli.stories import add_parser as add_stories_parser
from cli.stories import cmd_stories, cmd_timeline
from cli.train import add_parser as add_train_parser
from cli.train import cmd_train
from index.actor_reader import ActorsUnavailable
from index.embed import ModelUnavailable
from index.manifest import IndexCorrupt, IndexNotFound, ModelMismatch
from index.milvus import StoreUnavailable
from qa.settings import Settings

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_INDEX = 0, 1, 2, 3

ENV_HELP = "\n".join(f"  {var:<26} {name}" for name, var in Settings.ENV.items())


def version() -> str:
    """The installed distribution's version; in a source tree that is not installed, pyproject.toml's."""
    from importlib import metadata

    try:
        return metadata.version("newsqa")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def _common() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", metavar="DIR", help="index directory (env NEWSQA_INDEX; default "
                                                       "~/.local/share/newsqa/index)")
    common.add_argument("--model", help="embedding model: sentence-transformers name or local path "
                                        "(env NEWSQA_MODEL; default the packaged all-MiniLM-L6-v2)")
    common.add_argument("--demo", action="store_true",
                        help="use the bundled demo archive: its own index (default ~/.local/share/newsqa/demo-index"
                             " unless --index/NEWSQA_INDEX is set), built on first use")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bar")
    return common


def _filters() -> argparse.ArgumentParser:
    """The filters of ask and search."""
    filters = argparse.ArgumentParser(add_help=False)
    group = filters.add_argument_group("filters")
    group.add_argument("--as-of", type=_date, metavar="DATE",
                       help="answer as of this date: later articles do not exist; recent ones are preferred")
    group.add_argument("--since", type=_date, metavar="DATE", help="only articles dated on or after DATE")
    group.add_argument("--until", type=_date, metavar="DATE", help="only articles dated on or before DATE")
    group.add_argument("--source", help="only articles from this source (e.g. cnn.com)")
    group.add_argument("--actor", help="only articles naming this person/organisation/place (aliases match)")
    return filters


def build_parser() -> argparse.ArgumentParser:
    common, filters = _common(), _filters()
    parser = argparse.ArgumentParser(
        prog="newsqa", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Question answering over a news archive: every claim in an answer cites its passage.",
        epilog="environment variables:\n" + ENV_HELP + "\n\nexamples:\n"
               "  newsqa ingest ./articles/ news.jsonl 'feeds/*.csv'\n"
               "  newsqa ask \"Who leads the dock workers' union?\"\n"
               "  newsqa serve --demo")
    parser.add_argument("--version", action="version", version=f"newsqa {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="add or update articles from files, folders or globs",
                       description="Read articles (.jsonl .json .csv .html .txt; folders recursively, globs), "
                                   "clean them and update the index incrementally: only new or changed "
                                   "articles are embedded. Exit status 1 when any input was skipped "
                                   "(everything else is still ingested).")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--replace", action="store_true",
                   help="make the index hold exactly these inputs: articles not in them are removed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="read, clean, chunk, embed and find entities on a Ray cluster (pip install 'newsqa[ray]'); "
                        "ADDRESS as HOST:6379, ray://HOST:10001, auto or local; default NEWSQA_RAY_ADDRESS, else "
                        "Ray's own default. Write it after the paths (or as --ray=ADDRESS)")

    p = sub.add_parser("ask", parents=[common, filters], help="answer a question with cited sources")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=None, help="passages to read (default NEWSQA_TOP_K, 5)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")

    p = sub.add_parser("search", parents=[common, filters], help="ranked passages for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=10, help="number of passages (default 10)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    p = sub.add_parser("show", parents=[common], help="a stored article: metadata and cleaned text")
    p.add_argument("article_id", metavar="ARTICLE_ID")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stats", parents=[common], help="what the index holds")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", parents=[common], help="delete articles by id")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("rebuild", parents=[common],
                       help="re-chunk and re-embed every stored article (after a model or chunk size change)")
    p.add_argument("--json", action="store_true")

    add_eval_parser(sub, common)
    add_feeds_parser(sub, common)
    add_actors_parser(sub, common)
    add_train_parser(sub, common)
    add_mcp_parser(sub, common)
    add_stories_parser(sub, common)

    p = sub.add_parser("serve", parents=[common], help="start the HTTP service (JSON API)")
    p.add_argument("--host", help="bind address (env NEWSQA_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env NEWSQA_PORT; default 8000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "claim_stdout", False):  # newsqa mcp: from here on stdout carries protocol messages only
        from api.mcp import claim_stdout

        args.wire = claim_stdout()
    settings = Settings.from_env(index_dir=args.index, model=args.model,
                                 host=getattr(args, "host", None), port=getattr(args, "port", None))
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else getattr(
        logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sentence_transformers", "faiss.loader", "httpx", "bm25s", "ray"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    try:
        if args.demo:
            settings = _demo_settings(args, settings)
        return COMMANDS[args.command](args, settings)
    except (IndexNotFound, ModelMismatch, IndexCorrupt, ModelUnavailable, StoreUnavailable, ActorsUnavailable) as exc:
        print(f"newsqa: {exc}", file=sys.stderr)
        return EXIT_INDEX
    except KeyboardInterrupt:
        print("newsqa: interrupted; the index is unchanged by the unfinished update", file=sys.stderr)
        return 130


def _demo_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """The demo archive gets an index of its own, so it never mixes with an operator's archive."""
    from corpus.demo import demo_dir
    from index import store
    from qa.engine import ingest

    if args.index is None and not os.environ.get("NEWSQA_INDEX"):
        settings = replace(settings, index_dir=settings.index_dir.parent / "demo-index")
    db = settings.index_dir / store.DB_NAME
    if not db.exists() or store.read_manifest(store.connect(settings.index_dir)) is None:
        print(f"newsqa: building the demo index at {settings.index_dir} (first run only, about a minute)",
              file=sys.stderr)
        report = ingest(settings, [demo_dir()], progress=not args.quiet)
        print(f"newsqa: demo archive indexed: {len(report.new)} articles, {report.chunks_added} chunks",
              file=sys.stderr)
    else:
        # a demo index of an earlier version: its articles as this version bundles them, and its actors and
        # stories if it predates them (unchanged articles cost a comparison, not the model)
        report = ingest(settings, [demo_dir()], progress=False)
        if report.new or report.updated or report.removed:
            print(f"newsqa: demo index brought up to date: {len(report.new)} new, {len(report.updated)} "
                  f"updated articles", file=sys.stderr)
    return settings


def _date(text: str) -> dt.date:
    from corpus.dates import parse_date

    parsed = parse_date(text)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)")
    return dt.date.fromisoformat(parsed)


def _query(args: argparse.Namespace, text: str, k: int) -> Any:
    from qa.search import Query

    return Query(text, k=k, as_of=args.as_of, since=args.since, until=args.until, source=args.source,
                 actor=args.actor)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import ingest

    progress = not args.quiet and sys.stderr.isatty() or args.verbose
    if args.ray is not None:
        from qa.ray_ingest import RayNotInstalled, RayUnavailable, ingest_on_ray

        try:
            report = ingest_on_ray(settings, args.paths, args.ray, progress=progress, replace_all=args.replace)
        except (RayNotInstalled, RayUnavailable) as exc:
            print(f"newsqa: {exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        report = ingest(settings, args.paths, progress=progress, replace_all=args.replace)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"{len(report.new)} new, {len(report.updated)} updated, {report.unchanged} unchanged, "
              f"{report.duplicates} duplicates, {len(report.removed)} removed, {len(report.skipped)} skipped "
              f"({report.records} records); {report.chunks_added} chunks added, {report.embedded} embedded, "
              f"{report.reused} reused; index at {settings.index_dir}")
        for skipped in report.skipped:
            print(f"  skipped {skipped.where}: {skipped.reason}")
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import Engine

    engine = Engine.open(settings)
    answer = engine.answerer.answer(_query(args, args.question, args.k or settings.top_k))
    if args.json:
        _print_json(answer.to_dict())
        return EXIT_OK
    if answer.short_answers:
        print("Answer: " + " · ".join(f"{s.text} [{s.citation}]" for s in answer.short_answers) + "\n")
    print(textwrap.fill(answer.answer, width=100))
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"[{c.n}] {c.title or '(untitled)'} — {c.source or 'unknown source'}, {c.date or 'undated'} "
                  f"(article {c.article_id}, {'headline' if c.field == 'title' else f'chars {c.start}-{c.end}'})")
            if c.url:
                print(f"    {c.url}")
    elif answer.nearest:
        print("\nNearest articles:")
        for a in answer.nearest:
            print(f"  {a['title'] or '(untitled)'} — {a['source'] or 'unknown source'}, {a['date'] or 'undated'} "
                  f"(article {a['article_id']})")
    return EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import Engine

    engine = Engine.open(settings)
    hits = engine.searcher.search(_query(args, args.query, args.k))
    if args.json:
        _print_json({"query": args.query, "results": [h.to_dict() for h in hits]})
        return EXIT_OK
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>2}. {hit.score:.3f}  {hit.title or '(untitled)'} — {hit.source or 'unknown source'}, "
              f"{hit.date or 'undated'} [{hit.article_id}#{hit.chunk_id}]")
        print(textwrap.indent(textwrap.shorten(hit.text, 300), "      "))
    return EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import open_reader

    article = open_reader(settings, check=False).article(args.article_id)
    if article is None:
        where = settings.milvus_uri if settings.store == "milvus" else settings.index_dir
        print(f"newsqa: no article with id '{args.article_id}' in {where}", file=sys.stderr)
        return EXIT_INDEX
    if args.json:
        _print_json(article)
    else:
        print(article["title"] or "(untitled)")
        print(f"{article['source'] or 'unknown source'}, {article['date'] or 'undated'}"
              f"{' — ' + ', '.join(article['authors']) if article['authors'] else ''}")
        if article["url"]:
            print(article["url"])
        print()
        print(article["text"])
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import open_reader

    stats = open_reader(settings, check=False).stats()
    stats["index_dir"] = settings.milvus_uri if settings.store == "milvus" else str(settings.index_dir)
    if args.json:
        _print_json(stats)
        return EXIT_OK
    print(f"index      {stats['index_dir']} ({stats['index_bytes'] / 1e6:.1f} MB, generation "
          f"{stats['generation']})")
    print(f"model      {stats['model']}")
    print(f"articles   {stats['articles']} ({stats['undated_articles']} undated), chunks {stats['chunks']}")
    print(f"dates      {stats['first_date']} .. {stats['last_date']}")
    print("sources    " + ", ".join(f"{s} ({n})" for s, n in list(stats["sources"].items())[:10]))
    for feed in stats.get("feeds", []):
        state = (f"last error {feed['last_error_at']}: {feed['last_error']}" if feed["failures"] else
                 f"last success {feed['last_success'] or 'never'}")
        print(f"feed {feed['id']:<5} {feed['url']}: {feed['items_seen']} items seen, {state}, next poll "
              f"{feed['next_poll'] or 'now'}")
    for run in stats["runs"][:5]:
        print(f"run {run['id']:<6} {run['kind']} {run['finished_at']}: {run['new']} new, {run['updated']} updated, "
              f"{run['unchanged']} unchanged, {run['removed']} removed, {run['skipped']} skipped")
        for skipped in run["skipped_records"][:10]:
            print(f"             skipped {skipped['where']}: {skipped['reason']}")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import writer

    with writer(settings) as w:
        report = w.remove(args.ids)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"{len(report.removed)} removed ({report.chunks_removed} chunks)")
        for missing in report.not_found:
            print(f"  not found: {missing}")
    return EXIT_SKIPPED if report.not_found else EXIT_OK


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from qa.engine import writer

    with writer(settings, progress=not args.quiet, for_rebuild=True) as w:
        report = w.rebuild()
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"rebuilt {len(report.updated)} articles: {report.chunks_added} chunks, {report.embedded} embedded")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    import server

    print(f"newsqa: serving {settings.index_dir} on http://{settings.host}:{settings.port} "
          f"(API docs at /docs)", file=sys.stderr)
    uvicorn.run(server.create_app(settings), host=settings.host, port=settings.port,
                log_level="warning" if args.quiet else settings.log_level.lower())
    return EXIT_OK


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "search": cmd_search, "show": cmd_show, "stats": cmd_stats,
            "remove": cmd_remove, "rebuild": cmd_rebuild, "serve": cmd_serve,
            "eval": cmd_eval, "train": cmd_train, "feeds": cmd_feeds, "watch": cmd_watch, "mcp": cmd_mcp,
            "actor": cmd_actor, "quotes": cmd_quotes, "timeline": cmd_timeline, "stories": cmd_stories}


if __name__ == "__main__":
    sys.exit(main())
