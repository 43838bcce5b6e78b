"""Charts (senses map, senses by field) draw CJK words with an installed CJK font, and say once when none has them."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensesearch import SenseIndex
from sensesearch.chartfonts import BASE_FAMILY, chart_families
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

LOCAL = "http://127.0.0.1"


def test_charts_fall_back_to_installed_cjk_fonts() -> None:
    assert chart_families(["DejaVu Sans", "Noto Sans CJK JP", "Liberation Sans"]) == [BASE_FAMILY, "Noto Sans CJK JP"]
    assert chart_families([]) == [BASE_FAMILY]


@pytest.fixture
def cjk_client(tmp_path: Path, fake_settings: EncoderSettings) -> Iterator[TestClient]:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "zh.txt").write_text("我在银行工作。\n\n他去银行存钱。\n\n河的银边很美。\n\n银子很贵。\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "zh"])
    application = create_app(tmp_path / "idx")
    with TestClient(application, base_url=LOCAL) as test_client:
        yield test_client
    application.state.service.close()


def test_a_cjk_word_charts_without_a_warning_per_request(cjk_client: TestClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sensesearch.chartfonts")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for extra in ({"k": 2}, {"k": 3}, {"k": 2, "by": "document"}):  # the senses map, and their shares per bin
            plot = cjk_client.get("/api/senses/plot.png", params={"word": "银", **extra})
            assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert len(caplog.records) <= 1  # said once per process, and not at all where a CJK font is installed
