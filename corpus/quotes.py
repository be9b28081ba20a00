"""Direct quotations of an article and who said them, by the patterns news writing uses.

A quote is the text between quotation marks ("…" or “…”), with exact offsets into the article text. It counts
when it is attributed: `"…," X said`, `"…," said X`, `X said: "…"`, `X told reporters "…"`, `according to X`,
a sentence whose last clause is `, said X`;
a further quote in the same paragraph, or a paragraph that opens with a quote and names nobody, continues the
last speaker; a quote left open at a paragraph's end and reopened in the next one is one quote spanning both.
A pronoun speaker ("she said") is the last person named before it; a title ("the minister said") is the person
the article names with it ("Minister Ilse Brandvold"). Reported speech (no quotation marks) stays
out, and so do short quoted phrases (titles, scare quotes: fewer than MIN_WORDS words).
Speakers are names as written; index.actors resolves them to actors.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from corpus.names import TITLES, person_name

# The extractor's version: an index whose quotes an earlier version made extracts them again at its next ingest
# (index.actors.requote). Change it with any change to what is extracted or attributed.
VERSION = "2"
MIN_WORDS = 3  # a quoted phrase shorter than this is a title or a scare quote, not a statement
OPEN, CLOSE = "\"“", "\"”"
VERBS = ("said", "says", "told", "added", "asked", "stated", "wrote", "writes", "declared", "explained", "noted",
         "continued", "insisted", "argued", "warned", "replied", "responded", "tweeted", "posted", "recalled",
         "admitted", "acknowledged", "conceded", "announced", "claimed", "urged", "cautioned", "predicted",
         "testified", "concluded", "countered", "complained", "joked", "pleaded", "vowed", "promised",
         "emphasized", "emphasised", "stressed", "observed", "remarked", "suggested", "exclaimed", "shouted",
         "agreed", "maintained", "lamented", "quipped", "reiterated", "affirmed", "boasted", "mused", "reports",
         "reported", "sings", "sang", "asking", "saying", "adding", "telling", "adds", "tells", "notes", "argues",
         "warns", "claims", "insists", "explains", "describes", "described", "continues", "reads", "recalls",
         "admits", "concedes", "announces", "predicts", "hailed", "dismissed", "revealed", "confirmed", "denied",
         "insisting", "explaining", "noting", "arguing", "warning", "writing", "tweeting")
_VERB = "(?:" + "|".join(VERBS) + ")"
PRONOUNS = {"he": "PERSON", "she": "PERSON", "they": "ANY", "it": "THING"}
# A name: capitalised words (initials, hyphens, apostrophes, particles such as "de"/"van" inside).
_NAME = r"(?:[A-Z][\w'’.-]*(?:\s+(?:(?:de|van|von|der|da|di|bin|al|la|le|del)\s+)?[A-Z][\w'’.-]*){0,4})"
# A speaker as written before or after a speech verb: a name (maybe with its role after a comma), a pronoun, or
# a short description ("a spokesperson for the council", "the company").
_SPEAKER = (r"(?P<speaker>(?:he|she|they|it|He|She|They|It)\b|(?:[a-z][\w-]*\s+){0,3}" + _NAME +
            r"|(?:[Aa]n?|[Tt]he|[Hh]is|[Hh]er|[Tt]heir|[Aa]nother)\s+(?:[\w'’-]+\s+){0,3}?[\w'’-]+)")
# a speaker written before its verb, after a quote: any few words (a role, a name, an appositive), the name
# picked out of them by _clean_speaker
_SPEAKER_BEFORE_VERB = r"(?P<speaker>(?:[\w'’.@-]+,?\s+){0,8}?[\w'’.@-]+,?)"
# after a quote's closing mark: `, X said` / `, said X` / `X told reporters`
_AFTER_SPEAKER_VERB = re.compile(r"\s*[,—–-]?\s*" + _SPEAKER_BEFORE_VERB + r"\s+(?:also\s+|later\s+)?"
                                 r"(?P<verb>" + _VERB + r")\b")
_AFTER_VERB_SPEAKER = re.compile(r"\s*[,—–-]?\s*(?P<verb>" + _VERB + r")\s+" + _SPEAKER)
# before a quote's opening mark, within its sentence: `X said: "` / `X said, "` / `X told the court that "`
_BEFORE = re.compile(_SPEAKER + r"(?:,[^,\n\"“”]{1,80},)?,?\s+(?:also\s+|later\s+|then\s+)?(?P<verb>" + _VERB +
                     r")\b[^.\n\"“”]{0,200}?[:,]?\s*$")
_ACCORDING = re.compile(r"\s*,?\s*according to\s+" + _SPEAKER)
_DESCRIPTION_HEADS = re.compile(r"\b(spokes|official|minister|president|lawyer|attorney|representative|police|"
                                r"company|agency|department|court|judge|prosecutor|fan|analyst|expert|source|"
                                r"executive|director|chief|leader|member|resident|witness|aide|adviser|advisor|"
                                r"economist|scientist|researcher|professor|organi[sz]er|officer|manager)\w*\b", re.I)
_WORD = r"[A-Z](?:['’][A-Z])?[a-z][\w'’-]*"
_PERSON_NAME = re.compile(r"\b" + _WORD + r"(?:\s+(?:[A-Z]\.\s*)?(?:(?:van|von|de|der|den|da|di|del|la|le)\s+){0,2}"
                          + _WORD + r"){1,3}\b")
# a name after a clause's comma, followed by a verb: ", Zahawi denied" (not "telling Kay Burley he")
_CLAUSE_SUBJECT = re.compile(r"\s+(?:[a-z]+ly\s+)?[a-z]+(?:ed|s)\b")
_SUBJECT = re.compile(r"(?:^|[.!?]\s+|\n\s*|[“\"]\s*)(?:[\w’'-]+\.?\s+){0,2}$")


# Words that make a capitalised phrase an organisation, place or event rather than a person (general English).
ORG_WORDS = frozenset("""
the of and for inc corp co ltd llc plc group company systems bank party council court office agency department
ministry association union federation league club athletic athletics fc united city county state republic
festival power fire service services police army navy force forces university college school hospital
news post times chronicle gazette herald journal tribune press radio tv television network media magazine
board committee commission authority institute foundation centre center museum church airport port station
street road avenue square bridge river lake mountain island islands north south east west new
securities dock docks forensics ridge hall sports club daily mail brewing
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december advertisement photo video read more
""".split())
_NOT_FIRST = frozenset({"in", "on", "at", "but", "and", "when", "if", "as", "after", "before", "by", "for",
                        "with", "from", "to", "while", "since", "mr", "ms", "mrs", "dr", "this", "that"})


_NAME_ONLY = re.compile(r"^(?:[A-Z][\w'’.-]*\s*){2,4}$")


@dataclass(frozen=True)
class Quote:
    start: int  # text[start:end] == the quoted words, quotation marks excluded
    end: int
    speaker: str  # as written (a name, or a description); a pronoun is replaced by the name it stands for
    verb: str
    pronoun: bool = False  # the speaker was a pronoun resolved to the last named person


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of the text inside each pair of quotation marks; a quote left open at a paragraph's end and
    reopened at the next paragraph's start continues there (the news convention for long quotes)."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in OPEN:
            i += 1
            continue
        if text[i] == '"' and i > 0 and text[i - 1].isalnum():  # a closing straight quote out of step
            i += 1
            continue
        start = i + 1
        j = start
        end = -1
        while j < n:
            ch = text[j]
            if ch in CLOSE and (ch == "”" or j + 1 >= n or not text[j + 1].isalnum() or text[j - 1] in ".,!?"):
                end = j
                break
            if ch == "\n":
                k = j
                while k < n and text[k] in "\n \t":
                    k += 1
                if k < n and text[k] in OPEN and text[j - 1] not in CLOSE:
                    j = k + 1  # the quote goes on in the next paragraph
                    continue
                break  # an unclosed quote: not a clean segment
            j += 1
        if end > start:
            out.append((start, end))
            i = end + 1
        else:
            i = j + 1 if j > i else i + 1
    return out


def _clean_speaker(name: str) -> str:
    """The name without the role words before it ("lead prosecutor Ruth Abernathy-Lowe") or a clause's opening
    word ("But Wardle")."""
    name = " ".join(name.strip(" ,.;:").split())
    words = name.split()
    while len(words) > 1 and words[0].lower().strip(",") in _DISCOURSE:
        words.pop(0)
    name = " ".join(words)
    if name.split() and name.split()[-1].lower() in PRONOUNS:  # "the Code Conference when he (said)"
        return name.split()[-1]
    words = name.split()
    if words and words[0][:1].islower() and words[0].lower() not in PRONOUNS and any(w[:1].isupper()
                                                                                     for w in words):
        words = words[next(i for i, w in enumerate(words) if w[:1].isupper()):]
        name = " ".join(words)
    return person_name(name) if name[:1].isupper() else name


def _rest_of_sentence(text: str, pos: int) -> str:
    """text from pos to the end of its sentence: a period, ? or ! outside quotation marks, or the paragraph's end."""
    quoted = False
    for i in range(pos, min(len(text), pos + 400)):
        ch = text[i]
        if ch == "\n":
            return text[pos:i]
        if ch in "“”\"":
            quoted = ch == "“" or (ch == '"' and not quoted)
        elif ch in ".?!" and not quoted and (i + 1 >= len(text) or text[i + 1] in " \n"):
            return text[pos:i + 1]
    return text[pos:pos + 400]


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding pos starts (after the last . ! ? or newline before it)."""
    m = max(text.rfind(". ", 0, pos), text.rfind("\n", 0, pos), text.rfind("? ", 0, pos), text.rfind("! ", 0, pos))
    return m + 1 if m >= 0 else 0


class People:
    """Where each known person is named outside quotes, for pronouns: built once per article, when needed."""

    def __init__(self, text: str, people: list[str], segments: list[tuple[int, int]]) -> None:
        quoted = segments
        found: list[tuple[int, str, bool]] = []
        for name in people:
            for form in {name, name.split()[-1]}:
                k = text.find(form)
                while k >= 0:
                    end = k + len(form)
                    whole = (k == 0 or not text[k - 1].isalnum()) and (end >= len(text) or not text[end].isalnum())
                    if whole and not any(a <= k < b for a, b in quoted):
                        found.append((k, name, bool(_SUBJECT.search(text[max(0, k - 40):k])
                                                    or _CLAUSE_SUBJECT.match(text, end)
                                                    and text[max(0, k - 2):k] == ", ")))
                    k = text.find(form, k + 1)
        found.sort()
        self.text = text
        self.found = found
        self.positions = [f[0] for f in found]

    def before(self, pos: int) -> str | None:
        """The person a pronoun at pos stands for: the paragraph that last names someone, and in it the last
        person named as a sentence's subject, else the last one named."""
        i = bisect.bisect_left(self.positions, pos)
        if i == 0:
            return None
        last = self.found[i - 1]
        para = self.text.rfind("\n", 0, last[0]) + 1
        in_para = [f for f in self.found[:i] if f[0] >= para]
        subjects = [f for f in in_para if f[2]]
        return (subjects or in_para)[-1][1]


def _trim(name: str) -> str:
    """ "State Antony Blinken" (of "Secretary of State Antony Blinken") -> "Antony Blinken"; "But William Corr"
    -> "William Corr"."""
    words = name.split()
    while len(words) > 2 and words[0].lower().strip(".") in ORG_WORDS | TITLES | _DISCOURSE:
        words.pop(0)
    return " ".join(words)


def _title_like(quote: str) -> bool:
    """ "State of the Union": a name or title in quotation marks, not a statement."""
    words = quote.strip(" ,.").split()
    return not re.search(r"[.!?,;:]\s", quote) and all(w[:1].isupper() or w.lower() in _SMALL for w in words)


_SMALL = frozenset({"of", "the", "a", "an", "and", "in", "on", "to", "for", "at", "by", "with", "or"})


def _looks_like_person(name: str, others: set[str]) -> bool:
    words = name.split()
    return (len(words) >= 2 and name.lower() not in others and words[0].lower() not in _NOT_FIRST
            and not any(w.lower().strip(".,") in ORG_WORDS for w in words))


def extract_quotes(text: str, people: list[str] | None = None, others: list[str] | None = None) -> list[Quote]:
    """The attributed direct quotes of text. people: names the article is known to mention as persons (entities
    labelled PERSON), others: names known as organisations or places; both resolve pronouns and surnames, with
    the person-shaped names ("Firstname Lastname") found in the text."""
    not_people = {o.lower() for o in others or []}
    found = (_trim(person_name(m.group(0))) for m in _PERSON_NAME.finditer(text))
    known = list(dict.fromkeys([*(person_name(p) for p in people or []),
                                *(f for f in found if _looks_like_person(f, not_people))]))
    people_full = [p for p in known if " " in p]
    out: list[Quote] = []
    last: tuple[str, str, int, bool] | None = None  # speaker, verb, paragraph start, pronoun
    segments = _segments(text)
    finder: People | None = None
    for start, end in segments:
        words = len(text[start:end].split())
        para = text.rfind("\n", 0, start) + 1
        after = text[end + 1:end + 160].split("\n")[0]
        before = text[_sentence_start(text, start - 1):start - 1]
        if text[end - 1] == "." and re.match(r"\s+[A-Z]", after):
            after = ""  # the quote ended its sentence: what follows is the next one ("…notifications.” It added")
        found = _attribution(after, before)
        if found is None:
            # "It was “an unprecedented test” of the agency’s “capacity to …”, said The Guardian": the verb after
            # the sentence's last quote speaks for each quote of the sentence
            rest = _rest_of_sentence(text, end + 1)
            last_close = max(rest.rfind(c) for c in CLOSE)
            if last_close >= 0:
                found = _attribution(rest[last_close + 1:], "")
            else:  # the sentence's last clause attributes it: "…” to get hold of, said CNN."
                comma = rest.rfind(",")
                found = _attribution(rest[comma:], "") if comma >= 0 and len(rest) - comma < 60 else None
        if found is None and last is not None and (last[2] == para or text[para] in OPEN and para == start - 1):
            found = (last[0], last[1])  # same paragraph, or a paragraph that opens with a quote: same speaker
        if found is None:
            last = None if text[para:start - 1].strip() else last
            continue
        speaker, verb = found
        pronoun = False
        if speaker.lower() in PRONOUNS:
            if PRONOUNS[speaker.lower()] != "PERSON":
                continue  # "it said": an organisation, which the pronoun does not name
            if finder is None:
                finder = People(text, people_full, segments)
            resolved = finder.before(start)
            if resolved is None:
                continue
            speaker, pronoun = resolved, True
        elif speaker.lower().startswith(("the ", "its ")) and _ORG_DESCRIPTION.match(speaker):
            speaker = _last_named(text, start, others or []) or speaker  # "the force said" after "Met Police"
        elif speaker[:1].islower() and (titled := _titled(text, start, people_full, speaker)):
            speaker = titled  # "the president joked": the person the article gives that title
        elif " " in speaker and speaker not in people_full:
            # "Singer Sam Endicott": a role word before a full name the article gives
            speaker = next((p for p in people_full if speaker.endswith(" " + p)), speaker)
        elif " " not in speaker and speaker[:1].isupper():
            full = [p for p in people_full if p.split()[-1] == speaker] or [p for p in people_full
                                                                          if speaker in p.split()]
            if len(set(full)) == 1:
                speaker = full[0]
        last = (speaker, verb, para, pronoun)
        if words < MIN_WORDS or _title_like(text[start:end]):
            continue
        out.append(Quote(start, end, speaker, verb, pronoun))
    return out


# "the force", "the agency": an organisation the article has named, spoken of by what it is
_ORG_DESCRIPTION = re.compile(r"(?:the|its)\s+(?:force|agency|paper|newspaper|magazine|website|site|company|firm|"
                              r"department|ministry|organi[sz]ation|network|broadcaster|channel|station|watchdog|"
                              r"regulator|club|union|council|charity|group|bank|retailer|airline|carmaker|insurer|"
                              r"party|team|league|government)$", re.I)


def _titled(text: str, pos: int, people: list[str], description: str) -> str | None:
    """Of the people whose name the article writes right after the description's head word ("the president" ->
    "President Joe Biden"; "the attorney general" -> "Attorney General Josh Kaul"), the one named last before pos."""
    words = description.split()
    if not 1 <= len(words) <= 3 or words[0] not in ("the", words[-1]) or not words[-1].isalpha():
        return None
    found: set[str] = set()
    # the title word in any case ("President", "president"), then up to two capitalised words and the name
    for m in re.finditer(r"\b" + re.escape(words[-1]) + r"\s+", text, re.I):
        after = text[m.end():m.end() + 120]
        found.update(p for p in people if p in after and re.match(r"(?:[A-Z][\w.'’-]*\s+){0,2}?" + re.escape(p)
                                                                  + r"\b", after))
    return max(sorted(found), key=lambda p: max(text.rfind(p, 0, pos), text.rfind(p.split()[-1], 0, pos)),
               default=None)


def _last_named(text: str, pos: int, names: list[str]) -> str | None:
    """Of names (organisations the article names), the one named last before pos."""
    best, where = None, -1
    for name in names:
        k = text.rfind(name, 0, pos)
        if k > where:
            best, where = name, k
    return best


def _attribution(after: str, before: str) -> tuple[str, str] | None:
    """(speaker, verb) from the words after a quote's closing mark or before its opening mark."""
    m = _AFTER_VERB_SPEAKER.match(after)
    if m and _plausible(m.group("speaker")):
        return _clean_speaker(m.group("speaker")), m.group("verb")
    m = _AFTER_SPEAKER_VERB.match(after)
    if m:
        speaker = _name_in(m.group("speaker"))
        if speaker and _plausible(speaker):
            return _clean_speaker(speaker), m.group("verb")
    m = _ACCORDING.match(after)
    if m and _plausible(m.group("speaker")):
        return _clean_speaker(m.group("speaker")), "according to"
    pos = 0
    while (m := _BEFORE.search(before, pos)) is not None:
        if _plausible(m.group("speaker")):
            return _clean_speaker(m.group("speaker")), m.group("verb")
        pos = m.start("speaker") + 1  # "When, asked …, he said": look again past the clause's opening word
    return None


def _name_in(words: str) -> str | None:
    """The speaker in the words between a quote and its verb: "NYC Pride spokesperson Dan Dimant" -> "Dan
    Dimant"; "Rod Eddington, BA's chief executive," -> "Rod Eddington"; "the play's organiser in Uganda, Sarah
    Mukasa," -> "Sarah Mukasa"; a pronoun or a description ("lawyers for the administration") as it is."""
    tokens = words.strip().rstrip(",").split()
    if not tokens:
        return None
    if len(tokens) == 1 or tokens[-1].lower() in PRONOUNS:  # "… in Saul, he says": the pronoun speaks
        return tokens[-1]
    runs: list[list[str]] = [[]]
    for token in tokens:
        word = token.rstrip(",")
        if word in ("The", "A", "An", "This", "That"):
            word = word.lower()
        if word[:1].isupper() or word[:1].isdigit() and runs[-1]:
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
        if token.endswith(",") and runs[-1]:
            runs.append([])
    runs = [r for r in runs if r]
    if not runs:
        return " ".join(tokens) if _DESCRIPTION_HEADS.search(words) else None
    last_word = tokens[-1].rstrip(",")
    if words.strip().endswith(",") and tokens[0][:1].isupper() and tokens[0] not in ("The", "A", "An"):
        return " ".join(runs[0])  # "Alex Wade, deputy director of Oklahomans for Equality," said
    if last_word[:1].isupper():
        return " ".join(runs[-1])
    return " ".join(runs[0]) if tokens[0][:1].isupper() else (" ".join(tokens) if _DESCRIPTION_HEADS.search(
        words) else " ".join(runs[-1]))


# Words that open a clause and are capitalised only for that ("But Wardle added", "Instead the paper said")
_DISCOURSE = frozenset("""but and or so yet instead however meanwhile still also then now later when while although
though because since after before as if in on at asked speaking earlier separately elsewhere there here""".split())


def _plausible(speaker: str) -> bool:
    """A speaker is a name, a pronoun or a description that can speak (not "the report" or "the deal")."""
    s = speaker.strip()
    if s.lower() in _DISCOURSE:
        return False
    if s.lower() in PRONOUNS or s[:1].isupper() and s.split()[0].lower() not in {"the", "a", "an", "his", "her",
                                                                                   "their"}:
        return True
    return bool(_DESCRIPTION_HEADS.search(s)) or bool(re.search(r"\b[A-Z]", s))
