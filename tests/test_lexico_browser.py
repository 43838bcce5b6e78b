"""The page's lemma box, where conditions and senses-by-field chart, in headless Chromium (fake encoder)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

from .fake_encoder import FakeEncoder
from .test_server_browser import CHROMIUM, CHROMIUM_ARGS, running, sync_api

pytestmark = pytest.mark.slow
MONEY = "The bank lent money to the farmers at a low rate."
RIVER = "We had a picnic on the grassy bank of the river."


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    records = [{"id": f"{y}-{i}", "year": y, "text": RIVER if y < 1930 else MONEY}
               for y in (1910, 1920, 1950, 1960) for i in range(2)]
    records.append({"id": "forms", "year": 1990, "text": "Two banks merged. The pilot banked the plane."})
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    yield from served_page(tmp_path, tmp_path / "c.jsonl")


def served_page(tmp_path: Path, corpus: Path) -> Iterator[object]:
    """The page of a fake-encoder index of `corpus`, in headless Chromium; no script error may happen on it."""
    settings = EncoderSettings(model="fake:test")
    with SenseIndex.create(tmp_path / "idx", settings=settings) as index:
        index.add([corpus])
    with running(create_app(tmp_path / "idx", encoder=FakeEncoder(settings))) as url, \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(url)
        sync_api.expect(page.locator("#info")).to_contain_text("usages of")
        yield page
        browser.close()
        assert problems == []


def test_lemma_box_and_where_conditions_narrow_the_usages(page) -> None:
    page.fill("#text", "bank")
    page.check("#lemma")
    page.fill("#where", "year>=1980")
    page.click("#usages")
    sync_api.expect(page.locator("#rows tr")).to_have_count(2)
    assert page.eval_on_selector_all("#rows td.word", "cells => cells.map(c => c.textContent)") == ["banks", "banked"]
    page.uncheck("#lemma")
    page.fill("#where", "year<1930; document=1910-*")
    page.click("#usages")
    sync_api.expect(page.locator("#rows tr")).to_have_count(2)


def test_senses_by_decade_draws_the_shares_chart(page) -> None:
    page.fill("#text", "bank")
    page.fill("#where", "year<1980")
    page.fill("#by", "decade")
    page.click("#senses-button")
    chart = page.locator("#timeline")
    sync_api.expect(chart).to_have_attribute("src", re.compile("^blob:"))
    sync_api.expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 100
    page.fill("#by", "")
    page.click("#senses-button")
    sync_api.expect(chart).to_be_hidden()


def test_a_cut_usage_list_says_so_and_sorts_on_the_server(tmp_path: Path) -> None:
    """The page listed the first 200 usages as "200 usages ... in corpus order" and sorted only those."""
    names = [f"town{i:03d}" for i in range(230)]
    (tmp_path / "c.txt").write_text("\n\n".join(f"The bank of {name}." for name in reversed(names)) + "\n")
    for page in served_page(tmp_path, tmp_path / "c.txt"):
        page.fill("#text", "bank")
        page.click("#usages")
        sync_api.expect(page.locator("#status")).to_contain_text("the first 200 of 230 usages of “bank” in corpus order")
        page.click("th button[data-sort=right]")
        sync_api.expect(page.locator("#status")).to_contain_text("sorted by right context")
        rights = page.eval_on_selector_all("#rows td.right", "cells => cells.map(c => c.textContent)")
        assert len(rights) == 200 and "town000" in rights[0] and "town199" in rights[-1]
