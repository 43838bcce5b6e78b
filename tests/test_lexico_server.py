"""--lemma, --where and senses by field through the HTTP API (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

MONEY = "The bank lent money to the farmers at a low rate."
RIVER = "We had a picnic on the grassy bank of the river."


@pytest.fixture
def client(tmp_path: Path, fake_settings: EncoderSettings) -> Iterator[TestClient]:
    records = [{"id": f"{y}-{i}", "year": y, "text": RIVER if y < 1930 else MONEY}
               for y in (1910, 1920, 1950, 1960) for i in range(2)]
    records.append({"id": "forms", "year": 1990, "text": "Two banks merged. The pilot banked the plane."})
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "c.jsonl"])
    application = create_app(tmp_path / "idx")
    with TestClient(application, base_url="http://127.0.0.1") as test_client:
        yield test_client
    application.state.service.close()


def test_usages_and_query_take_lemma_and_where(client: TestClient) -> None:
    plain = client.get("/api/usages", params={"word": "bank", "where": ["year>=1950"]}).json()
    widened = client.get("/api/usages", params={"word": "bank", "lemma": "true", "where": ["year>=1980"]}).json()
    assert {h["document"] for h in plain} == {"1950-0", "1950-1", "1960-0", "1960-1"}
    assert [h["word"] for h in widened] == ["banks", "banked"]
    hits = client.post("/api/query", json={"text": "the [[bank]] of the river", "k": 20, "lemma": True,
                                           "where": ["year<1930"]}).json()
    assert sorted(h["document"] for h in hits) == ["1910-0", "1910-1", "1920-0", "1920-1"]


def test_a_where_item_is_parted_at_semicolons_as_the_page_sends_its_box(client: TestClient) -> None:
    """The page sends its where box whole; the server parts it as --where and the Python API do (one reader)."""
    hits = client.get("/api/usages", params={"word": "bank", "where": ["year<1930; document=1910-*"]}).json()
    assert sorted(h["document"] for h in hits) == ["1910-0", "1910-1"]
    stray = client.get("/api/usages", params={"word": "bank", "where": ["year<1930; 1910"]})
    assert stray.status_code == 400 and "\\;" in stray.json()["error"]


def test_bad_condition_is_a_400_with_the_reason(client: TestClient) -> None:
    response = client.get("/api/usages", params={"word": "bank", "where": ["year"]})
    assert response.status_code == 400 and "FIELD OP VALUE" in response.json()["error"]


def test_senses_by_decade_and_its_chart(client: TestClient) -> None:
    data = client.get("/api/senses", params={"word": "bank", "k": 2, "by": "decade", "where": ["year<1980"]}).json()
    bins = data["by"]["bins"]
    assert [b["label"] for b in bins] == ["1910s", "1920s", "1930s", "1940s", "1950s", "1960s"]
    assert [b["usages"] for b in bins] == [2, 2, 0, 0, 2, 2]
    png = client.get("/api/senses/plot.png", params={"word": "bank", "k": 2, "by": "decade", "chart": "bars"})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    missing = client.get("/api/senses", params={"word": "bank", "k": 2, "by": "president"})
    assert missing.status_code == 400


def test_by_must_name_a_field_as_on_the_command_line(client: TestClient) -> None:
    """`by=` had meant no `by` at all (a report without the timeline asked for) and `by= ` was looked up as a field;
    `senses --by ''` refuses both."""
    for blank in ("", " "):
        for path in ("/api/senses", "/api/senses/plot.png"):
            response = client.get(path, params={"word": "bank", "k": 2, "by": blank})
            assert response.status_code == 422, (path, blank)
            assert response.json()["error"] == "query.by: name a field: year, decade, document, path or a metadata field"


def test_senses_by_field_come_from_one_generation_of_the_index(client: TestClient, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An index run while /api/senses?by= was answered had its report from one generation and its bins from the next
    (two holds of the server's lock, each taking up what was saved): usages in the report, others in the bins."""
    original = SenseIndex.senses
    grown: list[bool] = []

    def senses_while_the_index_grows(self: SenseIndex, *args: object, **kwargs: object) -> object:
        report = original(self, *args, **kwargs)  # type: ignore[arg-type]
        if not grown:  # another process adds a document as soon as the first report is made
            grown.append(True)
            (tmp_path / "more.jsonl").write_text(json.dumps({"id": "more", "year": 1970, "text": MONEY}) + "\n")
            with SenseIndex.open(tmp_path / "idx") as writer:
                writer.add([tmp_path / "more.jsonl"])
        return report

    monkeypatch.setattr(SenseIndex, "senses", senses_while_the_index_grows)
    data = client.get("/api/senses", params={"word": "bank", "k": 2, "by": "decade"}).json()
    assert grown
    assert data["n_usages"] == sum(b["usages"] for b in data["by"]["bins"]) + data["by"]["missing"]
    assert sum(data["by"]["bins"][-1]["counts"].values()) == data["by"]["bins"][-1]["usages"]
