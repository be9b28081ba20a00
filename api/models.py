"""Request and response models of the JSON API, with limits on every input field."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qa.conversation import Turn
from qa.search import Query

MAX_QUESTION_CHARS = 2000  # /api/ask's question and /v1's last user message alike
Mode = Literal["extractive", "generative", "auto"]
MODE_DOC = ("extractive: quoted sentences; generative: a model writes from the passages (NEWSQA_LLM_URL), every "
            "sentence checked against the passage it cites; auto: generative when a model is configured; "
            "null or absent: NEWSQA_LLM_MODE (extractive unless set)")


class Message(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=20_000)


class ErrorOut(BaseModel):
    detail: str


class Filters(BaseModel):
    as_of: dt.date | None = Field(default=None, description="Answer as of this date: later articles do not exist")
    since: dt.date | None = Field(default=None, description="Only articles dated on or after this date")
    until: dt.date | None = Field(default=None, description="Only articles dated on or before this date")
    source: str | None = Field(default=None, max_length=200, description="Only articles from this source")
    actor: str | None = Field(default=None, max_length=200, description="Only articles naming this actor")

    def to_query(self, text: str, k: int) -> Query:
        return Query(text, k=k, as_of=self.as_of, since=self.since, until=self.until, source=self.source,
                     actor=self.actor)


class AskRequest(Filters):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words")
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to read; null or absent: NEWSQA_TOP_K")
    history: list[Message] = Field(default_factory=list, max_length=50,
                                   description="Earlier turns, oldest first: follow-ups are resolved against them")
    stream: bool = Field(default=False, description="Stream the answer as server-sent events")
    mode: Mode | None = Field(default=None, description=MODE_DOC)

    def turns(self) -> list[Turn]:
        return [Turn(m.role, m.content) for m in self.history if m.role != "system"]


class SearchRequest(Filters):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(default=10, ge=1, le=100)
    per_story: bool = Field(default=False, description="At most one hit per story (its best)")


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    quote: str = Field(description="Exact text: article text[start:end], or title[start:end] when field is 'title'")
    start: int
    end: int
    chunk_id: int
    score: float
    field: Literal["text", "title"] = Field("text", description="The article field quoted: its text or its "
                                            "headline (title)")
    cut: bool = Field(False, description="The quote is the start of a longer sentence (the answer shows it "
                                         "followed by '…')")
    story_id: str | None = Field(None, description="The story of the cited article (GET /api/stories/{id})")


class ShortAnswerOut(BaseModel):
    text: str = Field(description="The direct answer: a name, amount, date or short phrase")
    citation: int = Field(description="The n of the citation whose quote holds it")
    start: int = Field(description="Where it starts in that citation's quote: quote[start:end] == text")
    end: int
    score: float = Field(description="The answer model's probability that it is the answer")


class CoverageOut(BaseModel):
    articles: int = Field(description="Articles on the subject (re-published copies counted once)")
    first_date: str | None
    last_date: str | None
    newest: dict[str, Any] | None = Field(default=None, description="The newest: article_id, title, date")
    text: str = Field(default="", description="The same in words: 'The archive has 14 articles on this, ...'")


class TimelineEventOut(BaseModel):
    date: str
    quote: str = Field(description="Exact: article text[start:end], or title[start:end] when field is 'title'")
    article_id: str
    title: str | None
    source: str | None = None
    url: str | None = None
    field: Literal["text", "title"]
    start: int
    end: int
    story_id: str | None


class TimelineOut(BaseModel):
    subject: str = ""
    events: list[TimelineEventOut]
    coverage: CoverageOut


class TimelineRequestIn(BaseModel):
    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUESTION_CHARS,
                              description="What the timeline is about, in words")
    actor: str | None = Field(default=None, min_length=1, max_length=200, description="An actor it follows")
    since: dt.date | None = None
    until: dt.date | None = None
    as_of: dt.date | None = Field(default=None, description="Later articles do not exist")

    @model_validator(mode="after")
    def _has_subject(self) -> TimelineRequestIn:
        if not self.query and not self.actor:
            raise ValueError("give a query, an actor or both")
        return self


class StoryArticleOut(BaseModel):
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    copies: list[str] = Field(default_factory=list, description="Re-published copies folded into this article")


class StoryOut(BaseModel):
    id: str
    title: str | None = Field(description="Headline of the story's most central article")
    first_date: str | None
    last_date: str | None
    article_count: int
    copies: int
    lead_article: str | None
    articles: list[StoryArticleOut]
    actors: list[dict[str, Any]] = Field(description="Main actors: name, type, articles naming them")


class StoriesOut(BaseModel):
    stories: list[StoryOut]


class UnsupportedOut(BaseModel):
    text: str = Field(description="A generated sentence, without its [n] markers")
    reason: str = Field(description="Why it was removed")


class AnswerOut(BaseModel):
    question: str
    answer: str = Field(description="Answer sentences, each followed by a [n] citation marker; the sentence holding "
                                    "the short answer comes first")
    short_answer: ShortAnswerOut | None = Field(default=None, description="The span that answers the question, "
                                                "inside the first cited sentence; null when none is confident")
    short_answers: list[ShortAnswerOut] = Field(default_factory=list, description="One per thing the question asks "
                                                "(\"who won, and with what share?\" has two), best first")
    confidence: float = Field(default=0.0, description="The answer model's probability that the first sentence "
                                                       "answers the question")
    citations: list[CitationOut]
    abstained: bool = Field(description="True when the archive holds no answer")
    nearest: list[dict[str, Any]] = Field(description="When abstaining: the closest articles")
    actors: list[dict[str, Any]] = Field(description="Main actors of the cited articles")
    resolved_question: str | None = Field(default=None, description="The question after resolving follow-ups")
    coverage: CoverageOut | None = Field(default=None, description="What the archive holds on the subject: the "
                                         "cited (or, abstaining, nearest) articles' stories")
    timeline: TimelineOut | None = Field(default=None, description="Set when the question asks for a timeline "
                                         "(\"timeline of the port strike\"): its events, cited in the answer")
    mode: Literal["extractive", "generative"] = Field(default="extractive", description="Which mode answered")
    unsupported: list[UnsupportedOut] = Field(default_factory=list, description="Generated sentences removed "
                                              "because the passages they cite do not support them")
    note: str | None = Field(default=None, description="Why a generative answer was asked for and an extractive "
                                                       "one given (no model, model down or slow, nothing supported)")
    generated: str = Field(default="", description="The model's own text before verification (generative mode)")



class HitOut(BaseModel):
    article_id: str
    chunk_id: int
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float
    dense_score: float
    bm25_score: float
    duplicates: list[str] = Field(description="Other articles carrying the same passage (re-published copies)")
    story_id: str | None = Field(default=None, description="The story of the hit's article")


class SearchOut(BaseModel):
    query: str
    results: list[HitOut]


class ArticleOut(BaseModel):
    id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    authors: list[str]
    text: str = Field(description="Cleaned text; citation offsets index into it")


class ArticleIn(BaseModel):
    """One article in the ingest record format (aliases such as body/headline/published_at are accepted)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=1000)
    date: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=200)
    authors: list[str] | str | None = None
    text: str | None = Field(default=None, max_length=5_000_000)


class UpdateOut(BaseModel):
    new: int
    updated: int
    unchanged: int
    duplicates: int
    removed: int
    not_found: list[str]
    skipped: list[dict[str, str]]
    records: int
    chunks_added: int
    chunks_removed: int
    embedded: int
    reused: int
    seconds: dict[str, float]
    generation: int
    stories_touched: int = Field(0, description="Stories the update created, changed or emptied")


class JobOut(BaseModel):
    id: str
    kind: str
    state: Literal["queued", "running", "done", "failed"]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    started_at: str
    finished_at: str | None


class ChatRequest(BaseModel):
    """OpenAI chat.completions request; fields this service does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(default="newsqa", max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=100)
    stream: bool = False
    mode: Mode | None = Field(default=None, description=MODE_DOC)


class OverviewOut(BaseModel):
    """What the chat page's first screen shows."""

    articles: int
    sources: int = Field(description="Distinct named sources")
    top_sources: list[str] = Field(description="Up to three sources with the most articles, most first")
    first_date: str | None
    last_date: str | None
    last_update: str | None = Field(description="When the last ingest or update run finished (UTC, ISO 8601)")
    feeds: int = Field(default=0, description="Feeds the service polls (newsqa feeds, /api/feeds)")
    examples: list[str] = Field(description="Three questions about the actors named most in the newest articles")


class FeedIn(BaseModel):
    """A feed to subscribe to."""

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s/?#]+",
                     description="http or https URL of an RSS 2.0, RSS 1.0 or Atom feed")
    every_seconds: int = Field(default=900, ge=60, le=7 * 86400, description="How often to poll it (default 15 min)")
    source: str | None = Field(default=None, max_length=200,
                               description="Source name of its articles; default: each page's site name")

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        from corpus.fetch import FetchError, check_url

        try:
            return check_url(url.strip())
        except FetchError as exc:
            raise ValueError(str(exc)) from None


class FeedOut(BaseModel):
    """A feed and its state."""

    id: int
    url: str
    source: str | None
    every_seconds: int
    etag: str | None = Field(description="The feed's last ETag, sent back as If-None-Match")
    last_modified: str | None = Field(description="The feed's last Last-Modified, sent back as If-Modified-Since")
    last_success: str | None = Field(description="When a poll last read the feed (UTC, ISO 8601)")
    last_error: str | None = Field(description="The last problem: the feed's (timeout, HTTP status, malformed XML, "
                                               "...) or its items' (page too large, not HTML, no link)")
    last_error_at: str | None
    next_poll: str | None = Field(description="When it is polled next; later after failures (capped backoff)")
    failures: int = Field(description="Failed polls in a row")
    items_seen: int = Field(description="Items stored (or found stored) so far")
    added_at: str | None


class ActorOut(BaseModel):
    id: int
    name: str = Field(description="The actor's canonical name (its most used full form)")
    aliases: list[str] = Field(description="The forms the archive names it by, most used first")
    type: str = Field(description="PERSON, ORG, GPE, ...: the label most of its articles give it")
    mentions: int = Field(description="Mentions over the whole archive")
    articles: int = Field(default=0, description="Articles that mention it")
    first_seen: str | None
    last_seen: str | None


class ActorsOut(BaseModel):
    actors: list[ActorOut]


class WeekOut(BaseModel):
    week: str = Field(description="ISO week, e.g. 2024-W07")
    mentions: int


class CoMentionOut(BaseModel):
    id: int
    name: str
    type: str
    articles: int = Field(description="Articles naming both")


class ActorDetailOut(ActorOut):
    mentions_per_week: list[WeekOut]
    co_mentioned: list[CoMentionOut] = Field(description="The actors most often named in the same articles")
    quotes: int = Field(description="Direct quotes attributed to it")


class SpeakerOut(BaseModel):
    actor_id: int | None = Field(description="The speaker's actor; null when the speaker is not a named actor")
    name: str


class QuoteOut(BaseModel):
    quote: str = Field(description="Exactly text[start:end] of the article, quotation marks excluded")
    speaker: SpeakerOut
    verb: str
    date: str | None
    article_id: str
    title: str | None
    start: int
    end: int


class QuotesOut(BaseModel):
    quotes: list[QuoteOut]
