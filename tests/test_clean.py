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


@pytest.mark.parametrize("text, promo", [
    ("Sign up here for the '5 Things' newsletter.", True),
    ("TO-DATE: Subscribe to our Sports newsletter now!", True),
    ("Consider supporting our journalism and become a USA TODAY digital subscriber today.", True),
    ("To get it in your inbox, sign up for free, here.", True),
    ("A version of this story first appeared in CNN Business' Before the Bell newsletter.", True),
    ("This is the weekly edition of CNN's coronavirus newsletter.", True),
    ("In April, Netflix reported that it lost 200,000 subscribers in the first quarter.", False),
    ("Lopez confirmed Sunday via her fan newsletter that the two had wed.", False),
    ('"All you need is love," Lopez concluded in her newsletter Sunday.', False),
    ("To be notified when the application is open, borrowers can sign up at studentaid.gov.", False),
])
def test_newsletter_and_subscription_calls_to_the_reader(text: str, promo: bool) -> None:
    from corpus.clean import is_promo

    assert is_promo(text) is promo


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


@pytest.mark.parametrize("text, caption", [
    ("Gemunu Amarasinghe/AP Anti-abortion protesters gather outside the court.",
     "Anti-abortion protesters gather outside the court."),
    ("Sayed Khodaiberdi Sadat/Anadolu Agency/Getty Images A man sits on the debris.", "A man sits on the debris."),
    ("Buddhika Weerasinghe/Bloomberg via Getty Images Protesters break down the gate.",
     "Protesters break down the gate."),
    ("Radio Free Europe/Radio Liberty is suspending operations.", None),  # no picture agency: a sentence
    ("The AP/NORC poll found that most adults agree.", None),
    ("AC/DC will tour Europe next year.", None),
])
def test_a_photo_credit_glued_before_a_caption_is_found(text: str, caption: str | None) -> None:
    from corpus.clean import credit_prefix

    assert text[credit_prefix(text):] == (caption or text)


def test_words_that_start_like_junk_labels_are_kept() -> None:
    # "Ad", "Advert" and "Sponsored" are junk as whole words only: "Adele ..." and "Additionally, ..." are news.
    raw = ("Adele is returning to Las Vegas.\nAd\nAdditionally, eight new dates were added.\n"
           "Sponsored content\nAdvertisement - scroll to continue")
    assert clean_text(raw) == "Adele is returning to Las Vegas.\n\nAdditionally, eight new dates were added."


def test_ad_feedback_widget_is_junk_at_any_length() -> None:
    raw = ("1. How relevant is this ad to you?\n\nVideo player was slow to load content Video content never "
           "loaded Ad froze or did not finish loading Video content did not start after ad Audio on ad was too "
           "loud Other issues\nThe recall covers 2.9 million vehicles.")
    assert clean_text(raw) == "The recall covers 2.9 million vehicles."


def test_video_player_gallery_and_newsletter_strips_are_junk_at_any_length() -> None:
    raw = ("JUST WATCHED Hear from parents affected by the formula shortage Replay More Videos ... MUST WATCH Hear "
           "from parents affected by the formula shortage 02:30\n"
           "The vote is the latest blow to the premier. Photos: The premier's career The premier waves from the "
           "steps of his office in 2019, after giving a statement in the capital. Hide Caption 1 of 37\n"
           "Photos: The premier's career He speaks with the culture minister in June 1986. Hide Caption 2 of 37\n"
           "Sign up to Royal News, a weekly dispatch bringing you the inside track on the royal family, what they "
           "are up to in public and what is happening behind palace walls.\n"
           "Show More - (Show Less)\n"
           "Just watched the clip, she said, and it was over in seconds.")
    assert clean_text(raw) == ("The vote is the latest blow to the premier.\n\n"
                               "Just watched the clip, she said, and it was over in seconds.")


@pytest.mark.parametrize(("url", "title"), [
    ("https://news.example/2022/06/15/business/ford-recall/index.html", "Ford recall"),
    ("https://news.example/videos/us/2022/09/20/desantis-marthas-vineyard-flights-nr-vpx.cnn",
     "Desantis marthas vineyard flights"),  # trailing section codes without a vowel dropped
    ("https://news.example/live-news/ukraine-war-news-07-12-22/h_c164ac931cc8414108b8bbae8f859e65",
     "Ukraine war news"),  # a hash segment is no slug; the one before it is
    ("https://news.example/tech/lightning-cable-usbc/index.html#:~:text=The%20company", "Lightning cable usbc"),
    ("https://news.example/article?id=12345", None),
    ("https://news.example/2019/12/31/", None),
    ("https://news.example/story/123456-789", None),
])
def test_title_from_url_slug(url: str, title: str | None) -> None:
    from corpus.article import title_from_url

    assert title_from_url(url) == title


def test_untitled_article_takes_its_url_slug_and_an_all_junk_body_keeps_the_headline() -> None:
    from corpus.article import BadArticle, article_from_record

    junk = "1. How relevant is this ad to you?\n\nAdvertisement"
    video = article_from_record({"id": "v", "url": "https://n.example/2022/09/18/nissan-pickup-recall/index.html",
                                 "date": "2022-09-18", "text": junk}, "t:1")
    assert (video.title, video.text) == ("Nissan pickup recall", "Nissan pickup recall")
    titled = article_from_record({"id": "t", "title": "Ferry fares rise", "text": junk}, "t:2")
    assert titled.text == "Ferry fares rise"
    body = article_from_record({"id": "b", "url": "https://n.example/ferry-fares-rise", "text": "Fares rose."}, "t:3")
    assert (body.title, body.text) == ("Ferry fares rise", "Fares rose.")
    with pytest.raises(BadArticle, match="empty after cleaning"):
        article_from_record({"id": "n", "url": "https://n.example/a?id=3", "text": junk}, "t:4")
    with pytest.raises(BadArticle, match="empty after cleaning"):
        article_from_record({"id": "s", "title": "Menu", "text": junk}, "t:5")  # one word says too little


@pytest.mark.parametrize("text, sentence", [
    ("London (CNN Business) Central bankers raised rates.", "Central bankers raised rates."),
    ("(Reuters) World swimming's governing body voted on Sunday.", "World swimming's governing body voted on Sunday."),
    ("WASHINGTON — A demonstration ended in 35 arrests.", "A demonstration ended in 35 arrests."),
    ("NEW YORK (AP) — Stocks fell.", "Stocks fell."),
    ("NASA said on Monday that the launch was scrubbed.", None),
    ("US officials said the talks would resume.", None),
])
def test_a_dateline_before_a_sentence_is_found(text: str, sentence: str | None) -> None:
    from corpus.clean import dateline_prefix

    assert text[dateline_prefix(text):] == (sentence or text)
