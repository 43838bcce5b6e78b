"""The page's sense picker and KWIC lines coloured by sense, in headless Chromium (fake encoder index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

from .test_sense_inventory import define, expected_sense, two_word_corpus  # noqa: F401  (fixture)
from .test_server_browser import CHROMIUM, CHROMIUM_ARGS, running, sync_api

pytestmark = pytest.mark.slow
COLOURS = {"finance": "rgb(31, 119, 180)", "river": "rgb(255, 127, 14)"}  # SENSE_COLOURS[0], [1] in app.js


def test_pick_a_sense_and_see_lines_coloured_by_sense(tmp_path: Path, two_word_corpus: Path,  # noqa: F811
                                                      fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        define(index)
    with running(create_app(tmp_path / "idx")) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.fill("#text", "bank")
        page.click("#usages")
        sync_api.expect(page.locator("#status")).to_contain_text("6 usages of “bank”")
        sync_api.expect(page.locator("#sense-pick")).to_be_visible()
        assert page.eval_on_selector_all("#sense option", "o => o.map(x => x.value)") == ["", "finance", "river"]
        lines = page.eval_on_selector_all("#rows tr", """rows => rows.map(r => ({
            title: r.title, colour: getComputedStyle(r.cells[2]).color, tagged: r.classList.contains('tagged')}))""")
        assert len(lines) == 6 and all(line["tagged"] for line in lines)
        for line in lines:
            sense = expected_sense(line["title"].split("\n")[0])
            assert f"sense: {sense}" in line["title"] and line["colour"] == COLOURS[sense]
        page.select_option("#sense", "river")
        page.click("#usages")
        sync_api.expect(page.locator("#status")).to_contain_text("3 usages of “bank” in the sense “river”")
        titles = page.eval_on_selector_all("#rows tr", "rows => rows.map(r => r.title.split('\\n')[0])")
        assert [expected_sense(t) for t in titles] == ["river"] * 3
        browser.close()
    assert errors == []
