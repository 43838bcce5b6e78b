"""The sense routes of the HTTP API (fake encoder): inventory, tags for colouring, usages/query/documents by sense."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

from .test_sense_inventory import define, expected_sense, two_word_corpus  # noqa: F401  (fixture)


@pytest.fixture
def client(tmp_path: Path, two_word_corpus: Path, fake_settings: EncoderSettings) -> Iterator[TestClient]:  # noqa: F811
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        define(index)
    application = create_app(tmp_path / "idx")
    with TestClient(application, base_url="http://127.0.0.1") as test_client:
        yield test_client
    application.state.service.close()


def test_inventory_and_tags_for_colouring(client: TestClient) -> None:
    listed = client.get("/api/inventory").json()
    assert [w["word"] for w in listed] == ["bank", "cell"]
    assert listed[0]["usages"] == {"finance": 3, "river": 3, "unassigned": 0}
    one = client.get("/api/inventory", params={"word": "CELL", "examples": True}).json()
    assert [s["name"] for s in one[0]["senses"]] == ["biology", "prison"] and one[0]["senses"][0]["examples"]
    tagged = client.get("/api/sense/tags", params={"word": "cell"}).json()
    assert tagged["senses"] == ["biology", "prison"] and len(tagged["usages"]) == 5
    for usage in tagged["usages"]:
        assert usage["sense"] == expected_sense(usage["sentence"]) and usage["margin"] > 0
    assert client.get("/api/inventory", params={"word": "zebra"}).status_code == 404


def test_usages_query_and_documents_by_sense(client: TestClient) -> None:
    river = client.get("/api/usages", params={"word": "bank", "sense": "river"}).json()
    assert len(river) == 3 and {expected_sense(h["sentence"]) for h in river} == {"river"}
    near = client.post("/api/query", json={"text": "The guard locked the [[cell]] door.", "sense": "prison"}).json()
    assert [expected_sense(h["sentence"]) for h in near] == ["prison", "prison"]
    docs = client.get("/api/sense/documents", params={"word": "bank", "sense": "finance", "min_count": 2}).json()
    assert [(Path(d["document"]).name, d["count"], d["usages"]) for d in docs] == [("a.txt", 3, 4)]
    # The page sends its subcorpus box with the sense picker: the conditions hold (they were dropped).
    within = client.get("/api/usages", params={"word": "bank", "sense": "river", "where": "path=*b.txt"}).json()
    assert len(within) == 2 and {h["document"].rsplit("/", 1)[-1] for h in within} == {"b.txt"}
    near_b = client.post("/api/query", json={"text": "The guard locked the [[cell]] door.", "sense": "biology",
                                             "where": ["path=*b.txt"]}).json()
    assert [h["document"].rsplit("/", 1)[-1] for h in near_b] == ["b.txt"]
    garbage = client.post("/api/query", json={"text": "a [[cell]]", "sense": "prison", "where": ["garbage"]})
    assert garbage.status_code == 400 and "cannot read the condition" in garbage.json()["error"]
    missing = client.get("/api/usages", params={"word": "bank", "sense": "nope"})
    assert missing.status_code == 404 and "no sense 'nope'" in missing.json()["error"]
    refused = client.post("/api/query", json={"text": "a [[cell]]", "sense": "prison", "any_word": True})
    assert refused.status_code == 400


def test_blank_sense_is_refused_as_on_the_command_line(client: TestClient) -> None:
    """`sense=` had meant no sense at all: every usage came back as though tagged (an empty picker, an unset variable);
    `--sense ''` is a usage error naming the option."""
    listed = client.get("/api/usages", params={"word": "bank", "sense": ""})
    assert listed.status_code == 422 and listed.json()["error"] == "query.sense: name a sense, not ''"
    for blank in ("", " ", "bank:"):
        queried = client.post("/api/query", json={"text": "a [[bank]] loan", "sense": blank})
        assert queried.status_code == 422 and queried.json()["error"] == f"sense: name a sense, not {blank!r}"


def test_no_any_word_hint_for_a_search_by_sense(client: TestClient) -> None:
    """A sense's usages none of which meet the conditions: the hint had said to set any_word, which a search by
    sense refuses (400); the documents do meet them, so only the hint was wrong."""
    response = client.post("/api/query", json={"text": "a [[bank]] loan", "sense": "finance", "where": ["path=*b.txt"]})
    assert response.status_code == 404
    assert "no usage in the sense 'finance'" in response.json()["error"]
    assert "any_word" not in response.json()["error"]
