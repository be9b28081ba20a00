"""Candidate answer sentences: the quotable sentences of the retrieved passages, and the best article's headline."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from corpus.article import is_commentary_or_digest
from corpus.clean import credit_prefix, dateline_prefix, is_credit, is_promo
from corpus.sentences import split_sentences
from qa.search import Hit

MIN_CHARS = 20


@dataclass
class Candidate:
    hit: Hit
    start: int  # in the article's text (in its title for a headline)
    end: int
    text: str
    rank: int  # rank of the hit's article among the retrieved articles (0 = best)
    field: str = "text"  # "text" or "title"
    extra: bool = False  # from a further passage of the article, not the one retrieval chose
    cut: bool = False  # shortened to fit the answer, shown with "…"
    score: float = 0.0  # the answer model's log-odds that this sentence answers the question


_FRAGMENT = re.compile(r"[a-z]+(?![\w'’]*[A-Z])")  # a lower-case first word, not "iPhone" or "eBay"


def quotable(sentence: str) -> bool:
    """Not a question (subheadings and FAQs ask), a photo credit, a call to subscribe, or a fragment: scraped text
    broken mid-sentence starts in lower case ("time the central bank has raised rates ..."; "iPhone" does not)."""
    if _FRAGMENT.match(sentence):
        return False
    return not sentence.rstrip("\"'”’) ").endswith("?") and not is_credit(sentence) and not is_promo(sentence)


def sentence_candidates(hits: list[Hit], more: list[Hit]) -> list[Candidate]:
    """The quotable sentences of hits (then of more, further passages of the same articles), each once."""
    ranks: dict[str, int] = {}
    for hit in hits:
        ranks.setdefault(hit.article_id, len(ranks))
    seen: set[tuple[str, int]] = set()
    out = []
    for hit, extra in [(h, False) for h in hits] + [(h, True) for h in more]:
        for s, e in split_sentences(hit.text):
            # quote a caption without the photo credit glued before it, a report's lead without its dateline
            s += credit_prefix(hit.text[s:e])
            s += dateline_prefix(hit.text[s:e])
            key = (hit.article_id, hit.start + s)
            if key in seen or len(hit.text[s:e]) < MIN_CHARS or not quotable(hit.text[s:e]):
                continue  # overlapping chunks repeat sentences
            seen.add(key)
            out.append(Candidate(hit, hit.start + s, hit.start + e, hit.text[s:e], ranks.get(hit.article_id, 9),
                                 extra=extra))
    return out


_TITLE_TAIL = re.compile(r"\s+[|\-–—]\s*([^|\-–—]{1,40})$")


def headline_end(title: str, source: str | None) -> int:
    """Where a title's headline ends: before a trailing site name ("... | CNN Politics", "... - The Week UK"),
    recognised as the source's own name."""
    match = _TITLE_TAIL.search(title)
    if not match or not source or len(match.group(1).split()) > 4:
        return len(title)
    label = re.sub(r"[^a-z]", "", re.sub(r"^www\.", "", source.lower()).split(".")[0])
    tail = re.sub(r"[^a-z]", "", match.group(1).lower())
    truncated = match.group(1).rstrip().endswith(("...", "…"))
    if label and tail and (tail.startswith(label) or (truncated and label.startswith(tail))):
        return match.start()
    return len(title)


def headline_candidate(hit: Hit) -> list[Candidate]:
    """The article's headline as a candidate (a headline states its story's event in the fewest words); none for
    commentary or a digest, whose headline states a view or lists topics."""
    if not hit.title or is_commentary_or_digest(hit.title):
        return []
    end = headline_end(hit.title, hit.source)
    text = hit.title[:end]
    if len(text) < MIN_CHARS or not quotable(text):
        return []
    return [Candidate(hit, 0, end, text, rank=0, field="title")]


def cut(cand: Candidate, room: int, min_chars: int = 100, min_share: float = 0.5) -> Candidate | None:
    """The candidate's sentence up to the last word boundary within room characters; None when that keeps too
    little of it (or it is a headline)."""
    if cand.field != "text" or room < min_chars or room < min_share * len(cand.text):
        return None
    end = cand.text.rfind(" ", 0, room + 1)
    text = cand.text[:end].rstrip(" ,;:—–-") if end > 0 else ""
    if not text:
        return None
    return replace(cand, text=text, end=cand.start + len(text), cut=True)
