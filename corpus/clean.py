"""Clean scraped article text: drop navigation, promos, credits and spliced headlines; keep every sentence.

The rules are general shapes rather than one site's strings: a line that is not a sentence (short, no final
punctuation) inside a body is a spliced headline, a section name or a menu item; a line that repeats across many
articles of one source is boilerplate (see corpus.boilerplate); all-caps labels such as "WATCH:" start promos.
"""

from __future__ import annotations

import re
import unicodedata

# zero-width and soft-hyphen characters, and bidirectional overrides (they can make shown text read
# differently from what is stored: "Trojan Source")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Comment fragments and leftover formatting tags are scraper debris. Other angle-bracket text is kept as it is:
# it may be real ("3 < 5"), and it is untrusted text that the chat page shows escaped, never as markup.
_SCRIPT_FRAGMENT = re.compile(r"/\*.*?\*/|<!--.*?-->|</?(?:br|p|div|span|b|i|em|strong|a|u|font|small|sup|sub)\b"
                              r"[^<>\n]{0,200}>|\{\s*\}", re.IGNORECASE)
_PROMO_LABEL = re.compile(
    r"^(?:WATCH|LISTEN|READ|READ MORE|MORE|RELATED|SEE|SEE ALSO|ALSO READ|PHOTOS?|VIDEO|GALLERY|SUBSCRIBE|"
    r"SIGN UP|RECOMMENDED|TRENDING|LIVE|PODCAST|OPINION|SPONSORED|ADVERTISEMENT|CLICK HERE)\b\s*[:|>-]"
)
_JUNK_LINE = re.compile(
    r"^(?:(?:advertisement|advert|ad|sponsored(?: content)?)\b|skip to (?:main )?content|accessibility links|"
    r"sign up\b|subscribe\b|click here\b|tap here\b|download (?:the|our)\b|follow us\b|like us on\b|"
    r"share (?:this|on|via)\b|story continues\b|continue reading\b|video player\b|this video\b|"
    r"your browser\b|we use cookies\b|cookie (?:settings|policy)\b|all rights reserved|copyright\b|©|"
    r"related (?:topics|stories|articles|coverage|content)\b|more on this story|top stories|"
    r"most (?:read|popular|viewed)\b|(?:photo|image|video|credit|pictured|file photo)s?\s*(?::|/|by\b)|"
    r"play video\b|close video\b|read more\b|loading\b|please enable javascript|supported by\b|show (?:more|less)\b)",
    re.IGNORECASE,
)
# An ad-feedback widget ("How relevant is this ad to you?" then its list of reasons), at any length
_AD_FEEDBACK = re.compile(r"^(?:\d+\.\s*)?(?:how relevant is this ad\b|video player was slow to load\b|"
                          r"ad froze or did not finish loading\b)", re.IGNORECASE)
# A video player's strip ("JUST WATCHED <clip title> Replay More Videos ... MUST WATCH <clip title> 02:30") and a
# newsletter sign-up ("Sign up for CNN's Wonder Theory science newsletter. Explore the universe ..."), at any length
_PLAYER = re.compile(r"^(?:JUST WATCHED|MUST WATCH)\b")
_NEWSLETTER = re.compile(r"^sign up (?:to|for)\b.{0,300}?\b(?:newsletters?|dispatch|e-?mails?|alerts?)\b",
                         re.IGNORECASE)
# A photo gallery scraped into the body: "Photos: <gallery title> <caption> Hide Caption 1 of 18", an item a line
# or all on one line, sometimes glued to the end of a paragraph.
_GALLERY_ITEM = re.compile(r"\bHide Caption \d+ of \d+\b")
_CREDIT_TAIL = re.compile(
    r"\((?:[A-Z]+ )?(?:Photo|Image|Picture|Credit)s?\b[^)]{0,80}\)\s*$|"
    r"(?:Getty Images|AP Photo|Shutterstock|Reuters/|/ ?AFP|/ ?Getty)[^.]{0,40}$"
)
# A photo credit on its own: "Manuel Balce Ceneta/AP", "Dominic Lipinski/PA Images/Getty Images",
# "Photographer: Sarah Bentham/Bloomberg via Getty Images" (names joined by slashes, no sentence)
_CREDIT_NAME = r"[A-Z][\w.'’&\-]*(?:\s+(?:of|and|de|la|the|[A-Z][\w.'’&\-]*))*"
_CREDIT = re.compile(rf"^\(?(?:Photo(?:grapher)?s?:?\s*(?:by\s+)?)?{_CREDIT_NAME}(?:\s?/\s?{_CREDIT_NAME})+\)?"
                     rf"(?:\s+via\s+{_CREDIT_NAME})?\.?$")
# A caption that a scraper glued to its photo's credit: "Gemunu Amarasinghe/AP Anti-abortion protesters gather ...",
# "Buddhika Weerasinghe/Bloomberg via Getty Images Protesters break down ...". The credit is names joined by slashes
# ending in a picture agency; the agency list keeps "Radio Free Europe/Radio Liberty is suspending ..." a sentence.
_PICTURE_AGENCY = (r"(?:AP|AFP|Reuters|Getty Images|Bloomberg|Shutterstock|Redux|EPA(?:-EFE)?|Pool|PA(?: Wire| Images)?"
                   r"|Sipa(?: USA)?|ZUMA(?: Wire| Press)?|NurPhoto|SOPA Images|LightRocket|Anadolu Agency|Alamy"
                   r"|Polaris|Newscom|Imagn(?: Content Services)?|USA TODAY(?: Sports| Network)?|Xinhua|TASS|Sputnik"
                   r"|UPI|Hulton Archive|Archive Photos|Mirrorpix|Corbis|WireImage|FilmMagic|Visum)")
_CREDIT_PREFIX = re.compile(rf"^(?:[A-Z][\w.'’\-]*\s){{0,4}}[A-Z][\w.'’\-]*(?:\s?/\s?{_CREDIT_NAME})*?\s?/\s?"
                            rf"{_PICTURE_AGENCY}(?:\s+via\s+Getty Images)?\s+(?=[A-Z\"“‘'(])")
# A dateline before an article's first sentence: "London (CNN Business) ", "(Reuters) ", "WASHINGTON — ",
# "NEW YORK (AP) — ": a place, then a news agency's or outlet's name in brackets or a dash. It says where the report
# was filed, not what happened.
_DATELINE = re.compile(r"^(?:(?:[A-Z][A-Za-z.]*(?:[ ,]+[A-Z][A-Za-z.]*){0,3}\s*)?"
                       r"\((?:[A-Z][\w&.\-]*(?: [A-Z][\w&.\-]*){0,2})\)\s*(?:[—–-]+\s*)?|"
                       r"[A-Z]{2,}(?:[ ,]+[A-Z]{2,}\.?){0,3}\s*[—–-]+\s*)(?=[A-Z\"“‘'])")
_CODE_LIKE = re.compile(r"(?:\bfunction\s*\(|\bvar \w+\s*=|\}\s*\)|;\s*$|\{[^}]*:[^}]*\})")
_TERMINAL = tuple(".!?:;\"'”’)…]")
MAX_NON_SENTENCE_WORDS = 15


def normalize(text: str) -> str:
    """Unicode NFKC, invisible and control characters removed, spaces folded within each line."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(lambda m: "\n" if m.group(0) == "\n" else " ", text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def line_key(line: str) -> str:
    """How lines are compared for repetition: case and punctuation do not matter."""
    return re.sub(r"[^\w]+", " ", line.lower()).strip()


# "Avg. graduation rate: 93%", "• No. of strikers: 3,000", "June 18: evacuation orders lifted": list items and
# timelines carry facts without a final period. A label glued to a headline ("More:How ...") is a promo.
_DATA_LINE = re.compile(r"^(?:[•·*\-–]\s*)?[^:]{1,80}:\s+\S.*$|^[•·*–]\s*\S.*\d")


def is_sentence_like(line: str) -> bool:
    if line.endswith(_TERMINAL) or len(line.split()) > MAX_NON_SENTENCE_WORDS:
        return True
    return bool(_DATA_LINE.match(line)) and any(ch.isdigit() for ch in line)


def is_credit(text: str) -> bool:
    """A photo or video credit ("Andreea Alexandru/Pool/AP"): scrapers glue them to captions mid-article."""
    return len(text.split()) <= 10 and bool(_CREDIT.match(text.strip()))


# A call to subscribe ("Sign up here for the '5 Things' newsletter.", "Consider supporting our journalism and become a
# USA TODAY digital subscriber today.", "A version of this story first appeared in CNN's What Matters newsletter."):
# signing up, a newsletter or an inbox, said to the reader ("here", "our", "free"). A report about subscribers
# ("Netflix lost 200,000 subscribers") or someone's newsletter ("Lopez concluded in her newsletter") is not one.
_SIGN_UP = r"\b(?:sign(?:ing)? up|subscribe)\b"
_TO_READER = r"\b(?:here|our|free|newsletter|inbox)\b"
_PROMO = re.compile(
    rf"^\W*(?:[A-Z\-]+:\s*)?(?:sign up|subscribe)\b|{_SIGN_UP}.*{_TO_READER}|{_TO_READER}.*{_SIGN_UP}"
    r"|\bnewsletter\b.*\b(?:our|here|inbox)\b|\b(?:our|here|inbox)\b.*\bnewsletter\b"
    r"|\b(?:(?:version|edition) of (?:this|the|CNN)|part of)\b.*\bnewsletter\b"
    r"|\bdigital subscriber\b|\bsubscriber-only\b|\byour inbox\b", re.IGNORECASE)


def is_promo(text: str) -> bool:
    """A newsletter or subscription call to the reader, which scrapes keep between paragraphs."""
    return _PROMO.search(text) is not None


def credit_prefix(text: str) -> int:
    """Length of a photo credit glued to the start of a caption ("Rafiq Maqbool/AP A man throws ..."); 0 if none."""
    match = _CREDIT_PREFIX.match(text)
    return match.end() if match else 0


def dateline_prefix(text: str) -> int:
    """Length of a dateline before a sentence ("WASHINGTON — A Tuesday ...", "Tokyo (CNN) Former ..."); 0 if none."""
    match = _DATELINE.match(text)
    return match.end() if match else 0


def is_junk_line(line: str, *, title: str | None = None, boilerplate: frozenset[str] = frozenset()) -> bool:
    key = line_key(line)
    if not key:
        return True  # punctuation or symbols only
    if key in boilerplate:
        return True
    if title and key == line_key(title):
        return True  # the headline repeated at the top of the body
    words = len(line.split())
    if _PROMO_LABEL.match(line) or _AD_FEEDBACK.match(line) or _PLAYER.match(line) or _NEWSLETTER.match(line):
        return True
    if words <= 25 and (_JUNK_LINE.match(line) or _CREDIT_TAIL.search(line)):
        return True
    if _CODE_LIKE.search(line) and not re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", line):
        return True
    return False


def clean_line(line: str) -> str:
    line = _SCRIPT_FRAGMENT.sub(" ", _without_gallery(line))
    return " ".join(line.split())


def _without_gallery(line: str) -> str:
    """The line up to the photo gallery in it, if any: captions of a gallery are pictures' labels, not the story
    (and one line of them reads as a 400-character "sentence")."""
    item = _GALLERY_ITEM.search(line)
    if item is None:
        return line
    start = line.rfind("Photos:", 0, item.start())  # where the gallery starts; without it, the line is all captions
    return line[:start] if start > 0 else ""


def clean_text(raw: str, *, title: str | None = None, boilerplate: frozenset[str] = frozenset(),
               keep_short: bool = False) -> str:
    """Cleaned body: one paragraph per line-group, separated by a blank line.

    keep_short keeps lines that are not sentences (used for titles, which are never sentences).
    """
    paragraphs = []
    for line in normalize(raw).split("\n"):
        line = clean_line(line)
        if not line:
            continue
        if keep_short:
            paragraphs.append(line)
            continue
        if is_junk_line(line, title=title, boilerplate=boilerplate):
            continue
        if not is_sentence_like(line):
            continue  # spliced headline, section name, byline, menu item
        paragraphs.append(line)
    return "\n\n".join(paragraphs)
