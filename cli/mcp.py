"""`newsqa mcp`: the archive's tools (search, ask, get_article, timeline, quotes) for an MCP client, over stdio."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from qa.settings import Settings

log = logging.getLogger("newsqa.mcp")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("mcp", parents=[common], help="serve the archive as MCP tools over stdio (for AI assistants)",
                       description="A Model Context Protocol server on stdin/stdout: tools search, ask, "
                                   "get_article, timeline and quotes, with the filters of ask and search and the "
                                   "citations as structured output. An MCP client starts it (e.g. command "
                                   "'newsqa', args ['mcp']); stdout carries protocol messages only, logs go to "
                                   "stderr. `newsqa serve` offers the same tools over HTTP at /mcp.")
    p.set_defaults(claim_stdout=True)  # main() keeps stdout for the protocol before anything else runs


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from api.deps import UNAVAILABLE, EngineHolder
    from api.mcp import serve_stdio
    from cli.main import version

    holder = EngineHolder(settings)

    def warm() -> None:
        """Loads the model and index while the client connects; a call waits for it (the holder's lock)."""
        try:
            holder.get()
        except UNAVAILABLE as exc:  # each call then answers with this message, as the API's 503 does
            log.error("%s", exc)

    threading.Thread(target=warm, name="mcp-warm", daemon=True).start()
    serve_stdio(holder.get, settings, args.wire, version())
    return 0
