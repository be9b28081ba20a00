"""Turn the many date spellings found in scraped news into ISO dates."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def parse_date(value: Any) -> str | None:
    """ISO `YYYY-MM-DD` for a date string or epoch number; None when it is not a real date.

    A date more than two days ahead of today is no real publication date (a typo or a placeholder such as
    9999-12-31); kept, it would make the article look like the newest one for every question.
    """
    parsed = _parse(value)
    if parsed and parsed > (dt.date.today() + dt.timedelta(days=2)).isoformat():
        return None
    return parsed


def _parse(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds are common in exports
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    match = _ISO.match(text)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            return None  # e.g. 2021-02-30: an impossible date is no date
    if not re.search(r"\d{4}", text):
        return None  # "yesterday" or "Tuesday" in a date field has no anchor to resolve against
    import dateparser  # slow to import; most dates take the ISO path above

    parsed = dateparser.parse(text, languages=["en"], settings={"PREFER_DAY_OF_MONTH": "first",
                                                                 "REQUIRE_PARTS": ["year"]})
    return parsed.date().isoformat() if parsed else None
