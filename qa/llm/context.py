"""The passages a model answers from: the ones the extractive answer reads (retrieval's best, plus the next
passage of the best articles), merged where they touch, numbered, each with title, source and date, and packed
to a token budget counted with tiktoken. And the prompt that asks for short cited answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from corpus.chunk import get_encoding
from corpus.sentences import split_sentences
from qa.search import Hit

NO_ANSWER_PHRASE = "The archive does not say."

SYSTEM_PROMPT = (
    "You answer questions about the news using only the numbered passages from a news archive that the user "
    "gives you. Write a short answer of one to three sentences. End every sentence with the number of the "
    "passage it comes from in square brackets, like [1]. State only what the passages say; copy names, numbers "
    "and dates exactly as they are written there. If the passages do not answer the question, reply exactly: "
    f"{NO_ANSWER_PHRASE}\n\nExample of the form: The council approved the budget on Monday [2]. It had been "
    "delayed twice [2]."
)


@dataclass(frozen=True)
class Passage:
    """A numbered stretch of one article; text == article text[start:end]."""

    n: int
    hit: Hit  # the retrieved passage it starts from (article fields, chunk id)
    start: int
    end: int
    text: str

    def header(self) -> str:
        where = ", ".join(x for x in (self.hit.source, self.hit.date) if x)
        return f"[{self.n}] {self.hit.title or '(untitled)'}{' (' + where + ')' if where else ''}"


def merge(hits: list[Hit], neighbours: list[Hit]) -> list[tuple[Hit, int, int, str]]:
    """(hit, start, end, text) per stretch, in retrieval order: each neighbour joins the stretch of its article
    it overlaps or touches (chunks overlap), else follows the article's stretch as its own."""
    stretches: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        if not any(s[0].article_id == hit.article_id and s[1] <= hit.start < s[2] for s in stretches):
            stretches.append((hit, hit.start, hit.end, hit.text))
    for extra in neighbours:
        for i, (hit, start, end, text) in enumerate(stretches):
            if hit.article_id != extra.article_id:
                continue
            if start <= extra.start <= end and extra.end > end:
                stretches[i] = (hit, start, extra.end, text + extra.text[end - extra.start:])
                break
            if start <= extra.start and extra.end <= end:
                break  # already inside
        else:
            at = max((i for i, s in enumerate(stretches) if s[0].article_id == extra.article_id), default=None)
            if at is not None:
                stretches.insert(at + 1, (extra, extra.start, extra.end, extra.text))
    return stretches


def pack(hits: list[Hit], neighbours: list[Hit], budget: int, prefix_tokens: int = 0) -> list[Passage]:
    """The stretches, numbered from 1, while their headers and text fit budget tokens (cl100k_base; the model's
    own tokenizer differs, so the budget should leave room). A stretch that does not fit whole is cut at a
    sentence end when at least a sentence fits."""
    encoding = get_encoding()
    used = prefix_tokens
    out: list[Passage] = []
    for hit, start, end, text in merge(hits, neighbours):
        candidate = Passage(len(out) + 1, hit, start, end, text)
        cost = len(encoding.encode(candidate.header() + "\n" + text + "\n\n"))
        if used + cost > budget:
            room = budget - used - len(encoding.encode(candidate.header() + "\n"))
            kept = [e for _, e in split_sentences(text) if len(encoding.encode(text[:e])) <= room]
            if not kept:
                break  # later (lower-ranked) stretches are not tried: the budget keeps the best first
            text = text[:kept[-1]]
            out.append(Passage(len(out) + 1, hit, start, start + len(text), text))
            break
        out.append(candidate)
        used += cost
    return out


def user_message(question: str, passages: list[Passage], as_of: dt.date | None) -> str:
    """The question with its date and the numbered passages."""
    when = (f"The question is asked as of {as_of.isoformat()}: nothing later has happened yet."
            if as_of else f"Today is {dt.date.today().isoformat()}.")
    body = "\n\n".join(f"{p.header()}\n{p.text}" for p in passages) or "(no passages)"
    return f"{when}\n\nPassages:\n\n{body}\n\nQuestion: {question}"


def messages(question: str, passages: list[Passage], as_of: dt.date | None) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_message(question, passages, as_of)}]


def prompt_tokens(question: str) -> int:
    """Tokens of the prompt around the passages, so that the budget covers the whole request."""
    return len(get_encoding().encode(SYSTEM_PROMPT + user_message(question, [], None)))
