"""Training data for the answer model: what the answer stage sees for each labelled question, as numbers.

`newsqa train features` runs retrieval and candidate extraction for labelled questions (qa.labelled) and records,
per question, every candidate sentence's features, its cosine to the question, what it says of the labels, and
every candidate short answer's features; no article text is kept, so the file can ship with the code. `newsqa
train fit` (qa.learn) then fits the model from such files, deterministically.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from corpus.entities import entity_spans
from qa.answer import Answerer
from qa.evaluate import RESULT_CHUNKS, article_ranking
from qa.labelled import Labelled, contains_must, mentions, url_key
from qa.search import Query
from qa.spans import repeated_in, spans_of, static_features


def _says(text: str, item: Labelled) -> tuple[int, bool]:
    """Bitmask of the positives text says, and whether it says a negative."""
    test = contains_must if item.cite_gold else mentions
    mask = sum(1 << i for i, p in enumerate(item.positives) if test(text, p))
    return mask, any(mentions(text, n) for n in item.negatives)


def _span_label(span_text: str, item: Labelled) -> bool:
    """A span answers when it is one of the positives, or holds one, or is most of one."""
    for p in item.positives:
        if mentions(span_text, p) or (mentions(p, span_text) and len(span_text) >= 0.5 * len(p)):
            return True
    return False


def record(answerer: Answerer, item: Labelled, k: int = 5) -> dict[str, Any]:
    """What the answer stage sees for one labelled question, without any article text."""
    reader = answerer.searcher.reader
    query = Query(item.question, k=k, as_of=item.as_of)
    with reader.snapshot():
        question, vector, hits, candidates, features = answerer.candidates(query)
        ranking = article_ranking(answerer.searcher.search(Query(item.question, k=RESULT_CHUNKS, as_of=item.as_of),
                                                           query_vector=vector))[:10]
        gold_urls = {url_key(u) for u in item.gold_urls}
        gold = set(item.gold_ids) | {h.article_id for h in hits if (gold_urls and url_key(h.url) in gold_urls)
                                     or (h.title and h.title in item.gold_titles)}
        if gold_urls:
            gold |= {a for a in ranking if url_key((reader.article(a) or {}).get("url")) in gold_urls}
        cosines = answerer.embed_sentences([c.text for c in candidates], vector)
        texts = [c.text for c in candidates]
        cands = []
        for cand, x, cos in zip(candidates, features, cosines, strict=True):
            says, wrong = _says(cand.text, item)
            cands.append({"x": [round(float(v), 5) for v in x], "cos": round(float(cos), 5),
                          "key": hashlib.sha1(cand.text.encode()).hexdigest()[:10], "len": len(cand.text),
                          "title": cand.field == "title", "says": says, "wrong": wrong,
                          "gold": cand.hit.article_id in gold})
        spans = []
        for i, ents in enumerate(entity_spans(texts)):
            for span in spans_of(i, texts[i], ents):
                x = static_features(question, span, texts[i], candidates[i].field == "title")
                spans.append({"s": i, "x": [round(float(v), 5) for v in x], "label": span.label,
                              "rep": repeated_in(span, texts), "y": _span_label(span.text, item),
                              "norm": hashlib.sha1(span.text.lower().encode()).hexdigest()[:10]})
        top = ranking[0] if ranking else None
        gold_text = " ".join(str((reader.article(g) or {}).get("text", "")) for g in gold if g == top)
    return {"id": item.id, "dataset": item.dataset, "group": item.group, "outlet": item.outlet,
            "covered": item.covered, "positives": len(item.positives), "all": item.all_positives,
            "cite_gold": item.cite_gold, "negatives": len(item.negatives),
            "parts": [sorted(p) for p in question.parts],
            "has_gold": bool(item.gold_ids or item.gold_urls or item.gold_titles),
            "gold_rank": next((r for r, a in enumerate(ranking, 1) if a in gold), None),
            "gold_says": bool(gold_text) and _says(gold_text, item)[0] != 0,
            "candidates": cands, "spans": spans}


def write_records(answerer: Answerer, items: Iterable[Labelled], out: Path,
                  progress: Callable[[], None] | None = None) -> int:
    """Records of items into out (gzipped JSON lines, in the order given); returns their number."""
    n = 0
    tmp = Path(out).with_suffix(".tmp")
    # mtime=0: the same records give the same bytes
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        for item in items:
            f.write((json.dumps(record(answerer, item), sort_keys=True, separators=(",", ":")) + "\n").encode())
            n += 1
            if progress:
                progress()
    tmp.replace(out)
    return n


def read_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def data_version(paths: Iterable[Path]) -> str:
    """sha256 of the training files' contents, in order: the version of the data a model was trained on."""
    digest = hashlib.sha256()
    for path in paths:
        with gzip.open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]
