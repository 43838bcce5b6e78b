"""The page with text outside the BMP, combining marks, CJK and phrases (headless Chromium, fake encoder)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.server import create_app

from .conftest import LOOK_ALIKE_NAMES, write_look_alike_corpus
from .fake_encoder import FakeEncoder
from .test_server_browser import CHROMIUM, CHROMIUM_ARGS, rows, running, sync_api  # noqa: F401

pytestmark = pytest.mark.slow
EMOJI = "\U0001f600\U0001f30a We sat on the bank of the river."
CAFE = "The cafe\u0301 by the bank is open."
CJK = "\u6211\u4eec\u5728\u94f6\u884c\u5de5\u4f5c\u3002"
RATE = "The interest rate at the bank rose."
WIKI = "The [[Harbour of Dover]] closed its gates in May."
HEBREW = "\u05d4\u05d1\u05e0\u05e7 \u05e1\u05d2\u05e8 \u05d0\u05ea \u05d4\u05d3\u05dc\u05ea\u05d5\u05ea."


@pytest.fixture(scope="module")
def text_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser-text")
    (folder / "c").mkdir()
    (folder / "c" / "t.txt").write_text("\n\n".join([EMOJI, CAFE, CJK, RATE, WIKI, HEBREW]) + "\n", encoding="utf-8")
    with SenseIndex.create(folder / "idx", encoder=FakeEncoder(), compression="flat") as index:
        index.add([folder / "c"])
    with running(create_app(folder / "idx", encoder=FakeEncoder())) as url:
        yield url


@pytest.fixture
def page(text_server: str) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 820})
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(text_server)
        sync_api.expect(page.locator("#info")).to_contain_text("1 document · ")
        yield page
        chromium.close()
        assert problems == []


def _row_for(page, sentence: str) -> dict[str, str]:
    return next(row for row in rows(page) if row["title"].split("\n")[0] == sentence)


def test_emoji_before_the_word_draw_and_send_the_right_span(page) -> None:
    page.fill("#text", "\U0001f600\U0001f30a at the bank of the river")
    tokens = page.locator("#tokens .token")
    sync_api.expect(tokens).to_have_count(6)
    tokens.filter(has_text="bank").click()
    assert page.input_value("#text") == "\U0001f600\U0001f30a at the [[bank]] of the river"
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “bank”")
    row = _row_for(page, EMOJI)
    assert (row["left"], row["word"], row["right"]) == ("\U0001f600\U0001f30a We sat on the", "bank", "of the river.")
    cafe = _row_for(page, CAFE)
    assert (cafe["left"], cafe["word"], cafe["right"]) == ("The cafe\u0301 by the", "bank", "is open.")
    page.locator("#rows tr", has_text="We sat").click()
    sync_api.expect(page.locator("#text")).to_have_value("\U0001f600\U0001f30a We sat on the [[bank]] of the river.")
    sync_api.expect(page.locator("#status")).not_to_have_class("status error")
    sync_api.expect(page.locator("#rows tr").first).to_have_attribute("title", re.compile("^" + re.escape(EMOJI + "\n")))
    # The server accepted the span the page sent: the usage itself comes first (waits for the new answer).
    sync_api.expect(page.locator("#rows tr").first.locator("td.score")).to_have_text("1.000")


def test_combining_marks_word_is_one_clickable_word(page) -> None:
    page.fill("#text", "A cafe\u0301 we like")
    tokens = page.locator("#tokens .token")
    sync_api.expect(tokens).to_have_count(4)
    tokens.nth(1).click()
    assert page.input_value("#text") == "A [[cafe\u0301]] we like"
    sync_api.expect(page.locator("#rows tr")).to_have_count(1)
    assert rows(page)[0]["word"] == "cafe\u0301"


def test_cjk_words_come_from_the_server_and_a_phrase_is_shift_clicked(page) -> None:
    page.fill("#text", "\u6211\u5728\u94f6\u884c\u5de5\u4f5c")
    tokens = page.locator("#tokens .token")
    sync_api.expect(tokens).to_have_count(6)
    tokens.nth(2).click()
    sync_api.expect(page.locator("#text")).to_have_value("\u6211\u5728[[\u94f6]]\u884c\u5de5\u4f5c")
    sync_api.expect(page.locator("#tokens .token.marked")).to_have_count(1)
    page.locator("#tokens .token").nth(3).click(modifiers=["Shift"])
    sync_api.expect(page.locator("#text")).to_have_value("\u6211\u5728[[\u94f6\u884c]]\u5de5\u4f5c")
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “\u94f6\u884c”")
    assert [row["word"] for row in rows(page)] == ["\u94f6\u884c"]


def test_a_slower_answer_to_an_earlier_click_does_not_replace_the_newer_one(page) -> None:
    """The word's query, slower (a loaded server), came back after the phrase's: its rows replaced the phrase's
    under the phrase's status (seen in CI: the shift-click test read ['\u94f6'] under "nearest to “\u94f6\u884c”")."""
    page.evaluate("""() => {
        const real = window.fetch;
        window.fetch = async (path, options) => {
            const response = await real(path, options);
            if (options && typeof options.body === "string" && options.body.includes("[[\u94f6]]")) {
                await new Promise((done) => setTimeout(done, 1500));
            }
            return response;
        };
    }""")
    page.fill("#text", "\u6211\u5728\u94f6\u884c\u5de5\u4f5c")
    tokens = page.locator("#tokens .token")
    sync_api.expect(tokens).to_have_count(6)
    tokens.nth(2).click()
    page.locator("#tokens .token").nth(3).click(modifiers=["Shift"])
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “\u94f6\u884c”")
    page.wait_for_timeout(2500)  # the word's answer has come back by now
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “\u94f6\u884c”")
    assert [row["word"] for row in rows(page)] == ["\u94f6\u884c"]
    assert "busy" not in (page.get_attribute("body", "class") or "")


def test_phrase_usages_from_the_page(page) -> None:
    page.fill("#text", "the [[interest rate]] fell")
    page.click("#usages")
    sync_api.expect(page.locator("#rows tr")).to_have_count(1)
    row = rows(page)[0]
    assert (row["left"], row["word"], row["right"]) == ("The", "interest rate", "at the bank rose.")


def test_a_sentence_with_brackets_of_its_own_can_be_searched_with(page) -> None:
    """Clicking a usage in "The [[Harbour of Dover]] ..." (wiki markup) sent "The [[Harbour of [[Dover]]]] ...",
    which the server refused as an unbalanced marker; so did clicking a word of such a typed sentence."""
    page.fill("#text", "We sailed from [[Dover]] at dawn.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “Dover”")
    page.locator("#rows tr", has_text="Harbour").click()
    sync_api.expect(page.locator("#text")).to_have_value("The [ [Harbour of [[Dover]] ] ] closed its gates in May.")
    sync_api.expect(page.locator("#status")).not_to_have_class("status error")
    sync_api.expect(page.locator("#rows tr").first.locator("td.score")).to_have_text("1.000")
    page.locator("#tokens .token", has_text="Harbour").click()
    sync_api.expect(page.locator("#text")).to_have_value("The [ [ [[Harbour]] of Dover ] ] closed its gates in May.")
    sync_api.expect(page.locator("#status")).not_to_have_class("status error")


def test_right_to_left_contexts_and_the_query_box_run_in_their_own_direction(page) -> None:
    """A Hebrew context was laid out left to right (its full stop at the wrong end), as was the query box."""
    page.fill("#text", "\u05d4\u05d1\u05e0\u05e7 [[\u05e1\u05d2\u05e8]] \u05d0\u05ea")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#rows tr")).to_have_count(1)
    directions = page.eval_on_selector_all("#rows tr td span[dir]", "spans => spans.map(s => getComputedStyle(s).direction)")
    assert directions == ["rtl", "rtl", "rtl", "ltr"]  # the document's name, t.txt, runs left to right
    assert page.eval_on_selector("#text", "box => getComputedStyle(box).direction") == "rtl"
    page.fill("#text", "the [[interest rate]] fell")
    page.click("#usages")
    sync_api.expect(page.locator("#rows tr td.word")).to_have_text(["interest rate"])
    directions = page.eval_on_selector_all("#rows tr td span[dir]", "spans => spans.map(s => getComputedStyle(s).direction)")
    assert directions == ["ltr", "ltr", "ltr", "ltr"]


@contextmanager
def page_over(corpus: Path, folder: Path, documents: int) -> Iterator[object]:
    """The page in headless Chromium over an index of `corpus` made in `folder` (fake encoder), once it says it holds
    `documents` documents."""
    with SenseIndex.create(folder / "idx", encoder=FakeEncoder(), compression="flat") as index:
        index.add([corpus])
    with running(create_app(folder / "idx", encoder=FakeEncoder())) as url, \
            sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 820})
            page.goto(url)
            sync_api.expect(page.locator("#info")).to_contain_text(f"{documents} documents · ")
            yield page
        finally:
            chromium.close()


@pytest.fixture
def look_alike_page(tmp_path: Path) -> Iterator[object]:
    """The page over two text files of one name in two folders, and a record "r1" in each of two JSON Lines files."""
    with page_over(write_look_alike_corpus(tmp_path / "alike"), tmp_path, 4) as page:
        yield page


def test_documents_of_one_file_name_or_record_id_read_apart(look_alike_page, tmp_path: Path) -> None:
    """The document column showed a path's last part: x/same.txt and y/same.txt both read "same.txt", and the
    records r1 of a/x.jsonl and b/x.jsonl both "r1". It shows the names the command line's KWIC lines show; the
    tooltip keeps the whole name."""
    page = look_alike_page
    expected = LOOK_ALIKE_NAMES
    page.fill("#text", "bank")
    page.click("#usages")
    sync_api.expect(page.locator("#rows tr")).to_have_count(4)
    assert set(page.locator("#rows td.doc").all_text_contents()) == expected
    titles = [row["title"].split("\n")[1] for row in rows(page)]
    assert sorted(titles) == sorted(f"— {tmp_path / 'alike' / name}" for name in expected)
    with page.expect_download() as download:  # the export names each usage's file, as `usages --csv` does
        page.click("#export")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert sorted((row["document"], row["path"]) for row in exported) == sorted(
        (str(tmp_path / "alike" / folder / "same.txt"), str(tmp_path / "alike" / folder / "same.txt"))
        for folder in "xy") + [("r1", str(tmp_path / "alike" / folder / "x.jsonl")) for folder in "ab"]
    page.click("#senses-button")
    sync_api.expect(page.locator("#groups td.doc")).to_have_count(4)
    assert set(page.locator("#groups td.doc").all_text_contents()) == expected


def test_long_document_names_that_differ_at_their_ends_show_whole(tmp_path: Path) -> None:
    """The document column was cut at 14em with an ellipsis, so names past that which differ only at their ends
    ("...-address-1990.txt", "...-address-1991.txt") read alike in the listing. Long names wrap in the column now,
    whole, and it stays as narrow as before."""
    corpus = tmp_path / "long"
    corpus.mkdir()
    names = [f"state-of-the-union-address-to-the-congress-{year}.txt" for year in (1990, 1991)]
    for name in names:
        (corpus / name).write_text("We put the money in the bank.\n")
    with page_over(corpus, tmp_path, 2) as page:
        page.fill("#text", "bank")
        page.click("#usages")
        sync_api.expect(page.locator("#rows tr")).to_have_count(2)
        cells = page.eval_on_selector_all("#rows td.doc", """cells => cells.map(c => ({text: c.textContent,
            clipped: c.scrollWidth > c.clientWidth, width: c.getBoundingClientRect().width,
            em: parseFloat(getComputedStyle(c).fontSize)}))""")
    assert sorted(cell["text"] for cell in cells) == names
    for cell in cells:
        assert not cell["clipped"] and cell["width"] <= 14 * cell["em"] + 20, cell  # 20: the cell's padding
