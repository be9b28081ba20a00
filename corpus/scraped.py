"""Plain-text articles as scraped from news pages: a date line, section, headline, caption, then the body.

    " date 2021-03-04 Accessibility links"   <- the article's date; the rest of the line is page chrome
    "World"                                   <- section name
    "Port Strike Spreads To Second City"      <- headline
    "Dock workers march past the gates."      <- photo caption (sometimes)
    body lines ...
"""

from __future__ import annotations

import re
from typing import Any

from corpus.clean import clean_line, is_junk_line, is_sentence_like, normalize

_DATE_LINE = re.compile(r"^\s*(?:date|published|updated)\s*:?\s+(\S+(?:\s+\d{1,2},?\s+\d{4})?)",
                        re.IGNORECASE)
# Past tense or perfect/future markers: a news lead has them, a photo caption ("X walks past Y") rarely does.
_NARRATIVE = re.compile(
    r"\b(?:\w+ed|said|says|was|were|had|has|have|will|would|could|did|made|took|went|came|told|gave|won|"
    r"lost|left|met|began|rose|fell|held|kept|sold|paid|brought|thought|found|became|ran|spoke|wrote|"
    r"announced|according)\b", re.IGNORECASE)
_CAPTION_MARK = re.compile(r"\b(?:pictured|photo|photograph|image|file)\b", re.IGNORECASE)


def _looks_like_caption(line: str) -> bool:
    if len(line.split()) > 35 or any(q in line for q in "\"“”"):
        return False
    return bool(_CAPTION_MARK.search(line)) or not _NARRATIVE.search(line)


def parse_scraped_text(raw: str) -> dict[str, Any]:
    """Fields (title, date, text) of one scraped article; text is still raw body lines for clean_text."""
    lines = [clean_line(line) for line in normalize(raw).split("\n")]
    lines = [line for line in lines if line]
    date = None
    if lines:
        match = _DATE_LINE.match(lines[0])
        if match:
            date = match.group(1)
            lines = lines[1:]
    title = None
    index = 0
    # The headline is the first line that is neither chrome nor a one-to-three-word section name.
    while index < len(lines):
        line = lines[index]
        if is_junk_line(line) or (len(line.split()) <= 3 and not is_sentence_like(line)):
            index += 1
            continue
        if not is_sentence_like(line):
            title = line
            index += 1
            if index < len(lines) and _looks_like_caption(lines[index]):
                index += 1  # the photo caption under the headline
        break
    return {"title": title, "date": date, "text": "\n".join(lines[index:])}
