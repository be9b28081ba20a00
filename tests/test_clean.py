from pathlib import Path

import pytest

from corpus.clean import clean_text, normalize
from corpus.load import load_articles
from corpus.scraped import parse_scraped_text

SCRAPED = """ date 2021-03-04 Accessibility links
World
Port Strike Spreads To Second City As Talks Stall
Dock workers march past the harbour gates in Valdora on March 4.
Dock workers in Valdora and Kestrel walked off the job on March 4, halting container traffic.
WATCH: Live Stream Of The March (natural sound)
The union's leader, Ilse Marren, said the strike would continue "until the offer is on paper."
/**/ /**/ /**/ The port authority said on March 3 that it had offered a 4 percent raise.
Unions Reject Latest Offer From Port Authority
Shipping companies said the strike was costing them millions of dollars a day.
"""

SENTENCES = [
    "Dock workers in Valdora and Kestrel walked off the job on March 4, halting container traffic.",
    'The union\'s leader, Ilse Marren, said the strike would continue "until the offer is on paper."',
    "The port authority said on March 3 that it had offered a 4 percent raise.",
    "Shipping companies said the strike was costing them millions of dollars a day.",
]


def test_scraped_txt_gives_date_headline_and_only_real_sentences(tmp_path: Path) -> None:
    path = tmp_path / "strike.txt"
    path.write_text(SCRAPED)
    loaded = load_articles([path])
    assert loaded.skipped == []
    [article] = loaded.articles
    assert article.date == "2021-03-04"
    assert article.title == "Port Strike Spreads To Second City As Talks Stall"
    assert article.text.split("\n\n") == SENTENCES
    for junk in ("Accessibility", "World", "WATCH", "/**/", "Unions Reject", "march past the harbour"):
        assert junk not in article.text


def test_scraped_txt_without_caption_keeps_the_first_sentence() -> None:
    fields = parse_scraped_text(" date 2024-01-02 Skip to content\nLocal\nBridge Reopens After Repairs\n"
                                "The Kestrel bridge reopened on Tuesday after six weeks of repairs.\n")
    assert fields["title"] == "Bridge Reopens After Repairs"
    assert "reopened on Tuesday" in fields["text"]


def test_jsonl_style_junk_lines_are_dropped_and_sentences_kept() -> None:
    raw = ("Advertisement\nThe council approved the budget on Monday.\nSign up for our morning newsletter here\n"
           "Video player is loading.\nPhoto: Jane Doe / Harbour Times\nREAD MORE: Council Debates Budget\n"
           "Click here to subscribe\nStory continues below advertisement\nThe vote was 7 to 2.")
    assert clean_text(raw) == "The council approved the budget on Monday.\n\nThe vote was 7 to 2."


def test_lines_repeated_across_a_source_are_boilerplate(tmp_path: Path) -> None:
    lines = []
    for i in range(5):
        body = f"Story number {i} says the mayor spoke on day {i}.\\nThanks for reading The Ledger today.\\n" \
               f"Another real sentence about topic {i}."
        lines.append(f'{{"id": "a{i}", "source": "ledger", "text": "{body}"}}')
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines))
    loaded = load_articles([path])
    assert len(loaded.articles) == 5
    for article in loaded.articles:
        assert "Thanks for reading" not in article.text
        assert "Another real sentence" in article.text


def test_normalize_folds_unicode_and_spaces() -> None:
    assert normalize("Caf\u0065\u0301\u00a0 au\u200b  lait\r\nx") == "Café au lait\nx"


def test_html_page_main_text_and_metadata(tmp_path: Path) -> None:
    page = Path(__file__).parent / "data" / "html" / "ferry.html"
    loaded = load_articles([page])
    assert loaded.skipped == []
    [article] = loaded.articles
    assert article.title == "Ferry Service to Tallow Islands Resumes After Storm"
    assert article.date == "2024-03-12"
    assert article.source == "Harbour Times"
    assert "Ann Lindqvist" in article.authors
    assert "The first ferry left Saltmere at 7:15 on Tuesday" in article.text
    for junk in ("Subscribe", "alert(", "Home | World", "Copyright", "cookie"):
        assert junk not in article.text


@pytest.mark.parametrize("text, credit", [
    ("Manuel Balce Ceneta/AP", True),
    ("Dominic Lipinski/PA Images/Getty Images", True),
    ("Photographer: Sarah Bentham/Bloomberg via Getty Images", True),
    ("Anna Wåhlin/University of Gothenburg", True),
    ("It was over in 41/ 2 minutes.", False),
    ("• DJIA decline: -45% from 1/07/1907 to 11/15/1907", False),
    ("AC/DC will tour Europe next year.", False),
    ("Israel/Palestine talks resume.", False),
])
def test_photo_credit_shapes(text: str, credit: bool) -> None:
    from corpus.clean import is_credit

    assert is_credit(text) is credit
