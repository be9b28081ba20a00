"""Sentence boundaries with character spans, so that quotes can be cut exactly."""

from __future__ import annotations

import re

# Tokens that end in a period without ending a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm st jr sr inc corp co ltd llc bros no nos "
    "vs etc al fig approx dept est jan feb mar apr jun jul aug sep sept oct nov dec mt ft pres supt insp "
    "u.s u.k u.n e.u a.m p.m d.c i.e e.g ph.d u.s.a".split()
)
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
_LAST_TOKEN = re.compile(r"(\S+)$")


def _is_abbreviation(text: str, end: int) -> bool:
    match = _LAST_TOKEN.search(text, max(0, end - 40), end)
    if not match:
        return False
    token = match.group(1).rstrip(".!?…\"'”’)]").lstrip("\"'“‘([").lower()
    if len(token) == 1 and token.isalpha():
        return True  # an initial, as in "Thomas C. Frohlich"
    return token in _ABBREVIATIONS


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences in text[start:end], whitespace trimmed; line breaks end sentences."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + line.start()
        line_end = start + line.end()
        cursor = line_start
        for match in _BOUNDARY.finditer(text, line_start, line_end):
            if match.group(0)[0] == "." and _is_abbreviation(text, match.start() + 1):
                continue
            spans.append((cursor, match.end()))
            cursor = match.end()
        spans.append((cursor, line_end))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed
