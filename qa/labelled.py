"""Labelled questions, in the two formats newsqa reads: RealTime QA (choices and the correct ones, gold article ids)
and news-dev (must strings and a gold article id or page URL; see ../shared/data/news-dev/README.md)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Labelled:
    id: str
    question: str
    dataset: str  # realtimeqa, bbc, html, ... (the folder of the questions file)
    group: str  # what cross-validation holds out together: a week, a section, an outlet
    outlet: str
    positives: tuple[str, ...]  # a correct choice, or the must strings
    negatives: tuple[str, ...] = ()  # wrong choices
    all_positives: bool = False  # news-dev: every must string must be in the answer
    gold_ids: tuple[str, ...] = ()
    gold_urls: tuple[str, ...] = ()
    cite_gold: bool = False  # news-dev: the answer must cite the gold article
    gold_titles: tuple[str, ...] = ()
    as_of: dt.date | None = None
    covered: bool = True  # False: asked of an archive that cannot answer it (before the event, or elsewhere)


def normalize(text: str) -> str:
    """Lower case, every punctuation mark a space, spaces collapsed (an apostrophe too: a possessive names its
    owner)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u00ad", "")
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def mentions(text: str, needle: str) -> bool:
    """Whether text says needle as whole words (normalised)."""
    n = normalize(needle)
    return bool(n) and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", normalize(text)) is not None


def contains_must(text: str, must: str) -> bool:
    """news-dev's rule: a plain case-insensitive substring test (after the page text normalisation of verify.py)."""
    clean = text.replace("\u00a0", " ").replace("’", "'").replace("\u00ad", "").lower()
    return must.replace("’", "'").lower() in " ".join(clean.split())


def url_key(url: str | None) -> str:
    return re.sub(r"^https?://(www\.)?|/+$", "", (url or "").strip().lower())


def load_labelled(path: Path) -> list[Labelled]:
    """Questions of either format; the data set is named by the questions file's folder."""
    path = Path(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    dataset = path.parent.name
    manifest: dict[str, dict[str, Any]] = {}
    if (path.parent / "manifest.json").exists():
        pages = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))["pages"]
        manifest = {p["file"]: p for p in pages}
    out = []
    for row in rows:
        if "must" in row:
            page = manifest.get(row.get("file", ""), {})
            gold_id = row.get("article_id")
            outlet = page.get("outlet") or (gold_id.split("-")[0] if gold_id else dataset)
            group = row.get("file") or (gold_id.rsplit("-", 1)[0] if gold_id else dataset)
            out.append(Labelled(row["id"], row["question"], dataset, f"{dataset}:{group}", outlet,
                                tuple(row["must"]), all_positives=True,
                                gold_ids=(gold_id,) if gold_id else (),
                                gold_urls=(page["url"],) if page.get("url") else (), cite_gold=True))
        elif "expected" in row:  # the demo archive's own questions (tests/data/demo_questions.jsonl)
            expected = row["expected"]
            out.append(Labelled(row.get("id") or f"{dataset}-{len(out) + 1}", row["question"], dataset,
                                f"{dataset}:{len(out) // 10}", dataset, (expected,) if expected else (),
                                all_positives=True, gold_titles=(row["title"],) if row.get("title") else (),
                                cite_gold=bool(expected), covered=bool(expected)))
        else:
            right = tuple(row.get("answer") or ())
            wrong = tuple(c for c in row.get("choices") or () if c not in right)
            date = dt.date.fromisoformat(row["date"][:10]) if row.get("date") else None
            out.append(Labelled(row["id"], row["question"], dataset, f"{dataset}:{row.get('week', '')}",
                                "realtimeqa", right, wrong, gold_ids=tuple(row.get("gold_ids") or ()),
                                gold_urls=tuple(row.get("gold_urls") or ()), as_of=date))
    return out


def asked_early(items: list[Labelled], days: int = 30) -> list[Labelled]:
    """The same questions asked days before their date: the event has not happened yet, nothing should answer."""
    return [replace(q, id=f"{q.id}@-{days}d", dataset=f"{q.dataset}-early", covered=False,
                    as_of=q.as_of - dt.timedelta(days=days)) for q in items if q.as_of is not None]


def asked_elsewhere(items: list[Labelled], dataset: str) -> list[Labelled]:
    """The questions asked of another archive, which never covered them."""
    return [replace(q, id=f"{q.id}@{dataset}", dataset=f"{q.dataset}-elsewhere", covered=False) for q in items]
