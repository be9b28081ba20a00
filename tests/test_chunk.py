from corpus.article import Article
from corpus.chunk import Chunker, embedding_text
from corpus.sentences import split_sentences


def _article(text: str) -> Article:
    return Article(id="a1", text=text, title="Title Here", date="2024-01-02")


def test_sentence_spans_are_exact_and_respect_abbreviations() -> None:
    text = 'Mr. Kellerby met Dr. Vasko in the U.S. on Jan. 5. "It was fine," he said.\nA new line starts here.'
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Kellerby met Dr. Vasko in the U.S. on Jan. 5.", '"It was fine," he said.', "A new line starts here."]


def test_chunks_fit_the_budget_align_to_sentences_and_overlap() -> None:
    sentences = [f"Sentence number {i} tells about the port strike in Valdora and its cost." for i in range(60)]
    article = _article(" ".join(sentences))
    chunker = Chunker(max_tokens=80, overlap_tokens=20)
    chunks = chunker.split(article)
    assert len(chunks) > 5
    starts = {s for s, _ in split_sentences(article.text)}
    ends = {e for _, e in split_sentences(article.text)}
    for chunk in chunks:
        assert article.text[chunk.start:chunk.end] == chunk.text
        assert chunk.n_tokens <= 80 and chunker.count([chunk.text])[0] <= 80 + 2
        assert chunk.start in starts and chunk.end in ends  # never inside a sentence
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end  # overlap: the next chunk repeats the last sentence
    assert chunks[-1].end == len(article.text)


def test_a_sentence_over_budget_is_cut_at_word_boundaries() -> None:
    article = _article("word " * 500 + "end.")
    chunks = Chunker(max_tokens=100, overlap_tokens=0).split(article)
    assert len(chunks) >= 5
    assert all(c.n_tokens <= 100 and article.text[c.start:c.end] == c.text for c in chunks)
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)


def test_title_and_date_are_embedded_but_not_quoted() -> None:
    article = _article("The port reopened on Monday.")
    [chunk] = Chunker().split(article)
    assert chunk.text == "The port reopened on Monday."
    assert embedding_text(article, chunk).startswith("Title Here 2024-01-02\n")
