"""End to end: uvicorn on loopback with a small real-model index, the page driven in headless Chromium."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from matplotlib.colors import to_rgb

from sensesearch import SenseIndex, kwic
from sensesearch.kwicsort import context_key
from sensesearch.senses import induce_senses, plot_senses
from sensesearch.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("SENSESEARCH_SCREENSHOTS", "/tmp"))
DEMO = Path(__file__).resolve().parents[1] / "corpora" / "demo" / "senses.txt"
# Usages of "bank" in the demo corpus, counted from the file, not written down: k=20 returns them all.
BANK_USAGES = len(re.findall(r"\bbank\b", DEMO.read_text(encoding="utf-8"), re.IGNORECASE))
RIVER_WORDS = ("river", "stream", "canoe", "canal", "willow", "bridge", "mill", "herons", "flood")

if not CHROMIUM.exists() or not os.access(CHROMIUM, os.X_OK):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs the Debian packages chromium and chromium-driver")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def running(application: FastAPI) -> Iterator[str]:
    """Serve `application` with uvicorn in a thread on a free loopback port; yields its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        application.state.service.close()


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory, minilm) -> Path:
    """A real-model index of the demo sense corpus (BANK_USAGES usages of "bank")."""
    corpus = DEMO
    path = tmp_path_factory.mktemp("browser") / "idx"
    with SenseIndex.create(path, encoder=minilm) as index:
        index.add([corpus])
    return path


@pytest.fixture(scope="module")
def server_url(index_path: Path, minilm) -> Iterator[str]:
    with running(create_app(index_path, encoder=minilm)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server_url: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server_url)
    sync_api.expect(page.locator("#info")).to_contain_text("1 document · ")
    yield page
    context.close()
    # Error answers the tests ask for (4xx) log as failed loads; anything else
    # (a CSP violation, a script error) is a defect.
    assert [p for p in problems if not re.search(r"status of 4\d\d", p)] == []


def rows(page) -> list[dict[str, str]]:
    return page.eval_on_selector_all("#rows tr", """rows => rows.map(r => ({
        score: r.cells[0].textContent, left: r.cells[1].textContent, word: r.cells[2].textContent,
        right: r.cells[3].textContent, title: r.title}))""")


def lambda_free_marked(page, sentence: str) -> str:
    """The sentence as the page must put it in the box: the same text with one word marked."""
    value = page.input_value("#text")
    assert value.replace("[[", "", 1).replace("]]", "", 1) == sentence and "[[bank]]" in value.lower()
    return value


def river_share(found: list[dict[str, str]], n: int) -> int:
    return sum(any(w in row["title"].lower().split("\n")[0] for w in RIVER_WORDS) for row in found[:n])


def test_click_a_word_of_a_typed_sentence_and_get_aligned_kwic_lines(page) -> None:
    page.fill("#text", "We sat on the grassy bank of the river.")
    tokens = page.locator("#tokens .token")
    sync_api.expect(tokens).to_have_count(9)
    tokens.filter(has_text="bank").click()
    sync_api.expect(page.locator("#status")).to_contain_text("usages nearest to “bank”")
    assert page.input_value("#text") == "We sat on the grassy [[bank]] of the river."
    found = rows(page)
    assert len(found) == BANK_USAGES and {row["word"].lower() for row in found} == {"bank"}
    assert river_share(found, 5) >= 4, found[:5]
    scores = [float(row["score"]) for row in found]
    assert scores == sorted(scores, reverse=True)
    geometry = page.eval_on_selector_all("#rows tr", """rows => rows.map(r => ({
        word: r.cells[2].getBoundingClientRect().left, leftEnd: r.cells[1].firstChild.getBoundingClientRect().right,
        leftCell: r.cells[1].getBoundingClientRect().right}))""")
    assert len({round(g["word"]) for g in geometry}) == 1  # every keyword starts in the same column
    assert all(abs(g["leftCell"] - g["leftEnd"]) <= 12 for g in geometry)  # left context ends at the keyword
    page.screenshot(path=str(SCREENSHOTS / "sensesearch-serve-kwic.png"))


def test_marked_query_sorting_and_csv_export(page) -> None:
    page.fill("#text", "She paid the money into her [[bank]] account.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#rows tr")).to_have_count(BANK_USAGES)
    assert river_share(rows(page), 5) <= 1
    page.click("th button[data-sort=left]")
    by_left = rows(page)
    # The page sorts as the command line does (kwicsort.context_key: words only, Unicode collation order).
    keys = [context_key(row["left"].lstrip("…"), nearest_last=True) for row in by_left]
    assert keys == sorted(keys)
    sync_api.expect(page.locator("th button[data-sort=left]")).to_have_class("active")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename == "sensesearch-bank.csv"
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert list(exported[0]) == list(kwic.CSV_FIELDS)
    assert [row["sentence"] for row in exported] == [row["title"].split("\n")[0] for row in by_left]
    assert all(row["sentence"][int(row["start"]):int(row["end"])] == row["word"] for row in exported)
    page.click("th button[data-sort=score]")
    scores = [float(row["score"]) for row in rows(page)]
    assert scores == sorted(scores, reverse=True)


def test_click_a_line_to_search_with_it_and_errors_show_in_one_line(page) -> None:
    page.fill("#text", "Herons fished from the [[bank]] of the canal.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#rows tr")).to_have_count(BANK_USAGES)
    chosen = rows(page)[3]["title"].split("\n")[0]
    page.locator("#rows tr").nth(3).click()
    sync_api.expect(page.locator("#text")).to_have_value(lambda_free_marked(page, chosen))
    # Waits go through locators: the page's CSP rightly forbids the string eval of wait_for_function.
    sync_api.expect(page.locator("#rows tr").first).to_have_attribute("title", re.compile("^" + re.escape(chosen)))
    assert rows(page)[0]["score"] == "1.000"  # the usage itself comes first
    page.check("#any-word")
    page.fill("#k", "15")
    page.fill("#text", "The canoe drifted down the [[river]] at dawn.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#status")).to_contain_text("(any word)")
    words = [row["word"].lower() for row in rows(page)]
    assert len(words) == 15 and words[0] == "river" and len(set(words)) > 1
    page.uncheck("#any-word")
    page.fill("#text", "The [[zebra]] ran off.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#status.error")).to_contain_text("'zebra' does not occur in the index")
    page.fill("#text", "No word is marked here.")
    page.press("#text", "Enter")
    sync_api.expect(page.locator("#status.error")).to_contain_text("Click the word you mean")


def test_senses_view_numbers_and_colours_groups_as_the_plot_does(page, index_path: Path) -> None:
    page.fill("#text", "bank")
    page.click("#senses-button")
    sync_api.expect(page.locator("#senses-title")).to_have_text("Senses of “bank”")
    plot = page.locator("#plot")
    sync_api.expect(plot).to_have_attribute("src", re.compile("^blob:"))
    sync_api.expect(plot).to_have_js_property("complete", True)
    assert plot.evaluate("img => img.naturalWidth") > 100
    # The page shows what the real clustering gives for the same request (same index, same seed).
    with SenseIndex.open(index_path, read_only=True) as index:
        report = induce_senses(index, "bank", examples=5)
    assert len(report.senses) >= 2
    cards = page.eval_on_selector_all("#senses .sense", """cards => cards.map(c => ({
        title: c.querySelector("h3").firstChild.textContent, colour: getComputedStyle(c).borderLeftColor,
        keywords: [...c.querySelectorAll(".keywords span")].map(s => s.textContent),
        examples: c.querySelectorAll("tbody tr").length}))""")
    assert [card["title"] for card in cards] == [f"Sense {g.sense}" for g in report.senses]
    assert [g.sense for g in report.senses] == list(range(1, len(report.senses) + 1))
    # Sense n is drawn in matplotlib's colour C(n-1) by plot_senses; the card's stripe must be that colour.
    expected = ["rgb({}, {}, {})".format(*(round(255 * c) for c in to_rgb(f"C{g.sense - 1}"))) for g in report.senses]
    assert [card["colour"] for card in cards] == expected
    assert cards[0]["colour"] == "rgb(31, 119, 180)"  # C0, the first colour
    assert [card["keywords"] for card in cards] == [list(g.keywords) for g in report.senses]
    assert [card["examples"] for card in cards] == [len(g.examples) for g in report.senses]
    page.screenshot(path=str(SCREENSHOTS / "sensesearch-serve-senses.png"), full_page=True)
    png = SCREENSHOTS / "sensesearch-serve-senses-plot.png"
    with png.open("wb") as target:
        plot_senses(report, target)


def test_senses_of_an_unknown_word_show_a_clear_message(page) -> None:
    page.fill("#text", "the [[zebra]] ran off")
    page.click("#senses-button")
    sync_api.expect(page.locator("#status.error")).to_contain_text("'zebra' does not occur in the index")


def test_token_from_the_printed_url_or_asked_for(browser, index_path: Path, minilm) -> None:
    with running(create_app(index_path, token="s3cret", encoder=minilm)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "#token=s3cret")
        sync_api.expect(page.locator("#info")).to_contain_text("1 document · ")
        assert "s3cret" not in page.url  # taken out of the address bar at once
        page.fill("#text", "the [[bank]] of the river")
        page.press("#text", "Enter")
        sync_api.expect(page.locator("#rows tr")).to_have_count(BANK_USAGES)
        context.close()
        context = browser.new_context()
        page = context.new_page()
        asked: list[str] = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept("s3cret")))
        page.goto(url)
        sync_api.expect(page.locator("#info")).to_contain_text("1 document · ")
        assert asked == ["This server wants an access token:"]
        context.close()
