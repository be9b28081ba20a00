"""When a question is about: explicit dates and ranges become filters; "recently"-words ask for recency.

Dates are parsed with dateparser, relative to the question's as_of date. Reports follow events, so a range
extends a week past its end ("on September 21, 2019" finds articles of Sept 21-28).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

REPORTING_LAG = dt.timedelta(days=7)
RECENT_DAYS = 30.0  # recency fades as exp(-age / this)
WEEK_DAYS = 14.0  # ... and faster for "this week" / "last week" (with qa.search's grace of 2 days: 10-17 alike)
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_FULL_DATE = re.compile(rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|"
                        rf"\d{{4}}-\d{{2}}-\d{{2}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b(?:in|during|of|since|before|by)?\s*({_MONTH}\s+\d{{4}})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(in|during|since|before|after|by)\s+((?:19|20)\d{2})\b(?!-)", re.IGNORECASE)
# "over the last year", "in the past year": the twelve months before as_of, not the previous calendar year
# ("the past week" / "month" stay a strong recency preference, below)
_ROLLING = re.compile(r"\b(?:over|in|during|within|for)\s+the\s+(?:last|past|previous)\s+(year)\b", re.IGNORECASE)
_ROLLING_DAYS = {"year": 365}
_RELATIVE = re.compile(r"\b(last|this|past|previous)\s+(week|month|year)\b", re.IGNORECASE)
RECENT = re.compile(r"\b(recent(?:ly)?|latest|newest|this week|last week|past week|this month|now|currently|"
                    r"current|today|yesterday|just|so far|ongoing|upcoming|new)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimeIntent:
    since: dt.date | None = None
    until: dt.date | None = None
    recent: bool = False
    phrase: str | None = None  # the words that set the range, for explanations
    scale_days: float = RECENT_DAYS  # how fast recency fades: "this week" fades faster than "recently"


def _parse(text: str, as_of: dt.date | None) -> dt.date | None:
    import dateparser

    settings = {"PREFER_DAY_OF_MONTH": "first", "PREFER_DATES_FROM": "past"}
    if as_of:
        settings["RELATIVE_BASE"] = dt.datetime.combine(as_of, dt.time())  # type: ignore[assignment]
    parsed = dateparser.parse(text, languages=["en"], settings=settings)  # type: ignore[arg-type]
    return parsed.date() if parsed else None


def parse_time(question: str, as_of: dt.date | None = None) -> TimeIntent:
    recent = bool(RECENT.search(question))
    match = _FULL_DATE.search(question)
    if match:
        day = _parse(match.group(0), as_of)
        if day:
            return TimeIntent(day - dt.timedelta(days=1), day + REPORTING_LAG, False, match.group(0))
    match = _MONTH_YEAR.search(question)
    if match:
        first = _parse("1 " + match.group(1), as_of)
        if first:
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            return _bounded(match.group(0), first, last, recent)
    match = _YEAR.search(question)
    if match:
        year = int(match.group(2))
        return _bounded(match.group(0), dt.date(year, 1, 1), dt.date(year, 12, 31), recent)
    match = _ROLLING.search(question)
    if match and as_of:
        days = _ROLLING_DAYS[match.group(1).lower()]
        return TimeIntent(as_of - dt.timedelta(days=days), as_of, recent, match.group(0))
    match = _RELATIVE.search(question)
    if match and as_of:
        which, unit = match.group(1).lower(), match.group(2).lower()
        # "this week" / "last month" prefer those weeks strongly but do not exclude: dates of questions and
        # of reports rarely line up to the day.
        if unit == "week":
            return TimeIntent(recent=True, phrase=match.group(0), scale_days=WEEK_DAYS)
        if unit == "month":
            return TimeIntent(recent=True, phrase=match.group(0), scale_days=RECENT_DAYS)
        if which in ("last", "previous"):
            return TimeIntent(dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31) + REPORTING_LAG,
                              False, match.group(0))
        return TimeIntent(dt.date(as_of.year, 1, 1), as_of, recent, match.group(0))
    return TimeIntent(recent=recent)


def _bounded(phrase: str, first: dt.date, last: dt.date, recent: bool) -> TimeIntent:
    word = phrase.strip().split()[0].lower()
    if word == "since" or word == "after":
        return TimeIntent(first, None, recent, phrase)
    if word in ("before", "by"):
        return TimeIntent(None, first if word == "before" else last, recent, phrase)
    return TimeIntent(first, last + REPORTING_LAG, False, phrase)
