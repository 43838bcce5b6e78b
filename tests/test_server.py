"""The HTTP API through FastAPI's TestClient: shapes equal to the CLI's JSON, limits, errors, token, live updates."""

from __future__ import annotations

import hashlib
import json
import socket
import typing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import sensesearch
from sensesearch import Hit, SenseIndex, kwicsort, server
from sensesearch.cli import app as cli_app
from sensesearch.config import EncoderSettings
from sensesearch.senses import SenseReport, induce_senses
from sensesearch.server import MAX_BODY_BYTES, MAX_K, MAX_TEXT_CHARS, create_app

from .conftest import LOOK_ALIKE_NAMES, write_look_alike_corpus

LOCAL = "http://127.0.0.1"  # the Host a loopback server answers to (TestClient says "testserver")
RIVER_QUERY = "They fished from the [[bank]] of the river."


@pytest.fixture
def index_path(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> Path:
    path = tmp_path / "idx"
    with SenseIndex.create(path, settings=fake_settings) as index:
        index.add([bank_corpus])
    return path


@pytest.fixture
def client(index_path: Path) -> Iterator[TestClient]:
    application = create_app(index_path)
    with TestClient(application, base_url=LOCAL) as test_client:
        yield test_client
    application.state.service.close()


def test_query_answers_exactly_what_the_cli_prints_with_json(client: TestClient, index_path: Path) -> None:
    response = client.post("/api/query", json={"text": RIVER_QUERY, "k": 4})
    assert response.status_code == 200
    printed = CliRunner().invoke(cli_app, ["query", RIVER_QUERY, "--index", str(index_path), "-k", "4", "--json"])
    assert printed.exit_code == 0, printed.output
    # The hits the CLI prints, each with the name the page shows its document by (as the CLI's KWIC lines show it).
    assert response.json() == [{**hit, "document_name": "bank.txt"} for hit in json.loads(printed.stdout)]
    assert [hit["word"] for hit in response.json()] == ["bank"] * 4
    assert "river" in response.json()[0]["sentence"] or "stream" in response.json()[0]["sentence"]


def test_query_any_word_and_sorting(client: TestClient, index_path: Path) -> None:
    any_word = client.post("/api/query", json={"text": "the [[river]] bank", "k": 15, "any_word": True}).json()
    assert len(any_word) == 15 and len({hit["word"].lower() for hit in any_word}) > 1
    by_left = client.post("/api/query", json={"text": RIVER_QUERY, "k": 6, "sort": "left"}).json()
    with SenseIndex.open(index_path, read_only=True) as index:
        expected = kwicsort.sort_hits(index.query(RIVER_QUERY, k=6), "left")
    assert by_left == sensesearch.hits_with_names(expected)
    assert by_left != client.post("/api/query", json={"text": RIVER_QUERY, "k": 6}).json()


def test_usages_and_info_mirror_the_python_api(client: TestClient, index_path: Path) -> None:
    usages = client.get("/api/usages", params={"word": "BANK", "limit": 4})
    info = client.get("/api/info")
    with SenseIndex.open(index_path, read_only=True) as index:
        assert usages.json() == sensesearch.hits_with_names(index.usages("bank", limit=4))
        assert info.json() == index.info().to_dict()
    assert [hit["score"] for hit in usages.json()] == [None] * 4


def test_usages_sort_as_the_command_line_names_them(client: TestClient) -> None:
    """`usages --sort position|left|right` on the command line; the API had "score" for corpus order instead."""
    listed = client.get("/api/usages", params={"word": "bank"}).json()
    assert client.get("/api/usages", params={"word": "bank", "sort": "position"}).json() == listed
    by_right = client.get("/api/usages", params={"word": "bank", "sort": "right"}).json()
    assert by_right != listed and sorted(map(str, by_right)) == sorted(map(str, listed))
    assert client.get("/api/usages", params={"word": "bank", "sort": "score"}).status_code == 422
    assert typing.get_args(server.UsageSort) == kwicsort.USAGE_SORTS
    assert typing.get_args(server.QuerySort) == kwicsort.QUERY_SORTS


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"text": "no marker at all"}, 400, "mark the word"),
    ({"text": "two [[marks]] and [[more]]"}, 400, "exactly one"),
    ({"text": "the [[zebra]] ran"}, 404, "'zebra' does not occur"),
    ({"text": RIVER_QUERY, "k": 0}, 422, "k: Input should be greater than or equal to 1"),
    ({"text": RIVER_QUERY, "k": MAX_K + 1}, 422, f"less than or equal to {MAX_K}"),
    ({"text": "[[bank]] " + "x" * MAX_TEXT_CHARS}, 422, f"at most {MAX_TEXT_CHARS} characters"),
    ({"text": RIVER_QUERY, "sort": "sideways"}, 422, "sort"),
    ({"k": 3}, 422, "text: Field required"),
])
def test_bad_queries_get_clear_json_errors(client: TestClient, body: dict, status: int, message: str) -> None:
    response = client.post("/api/query", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_malformed_oversized_and_non_unicode_bodies(client: TestClient) -> None:
    broken = client.post("/api/query", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"] == "the request body is not valid JSON"
    huge = json.dumps({"text": "[[a]] " + "b" * MAX_BODY_BYTES}).encode()
    assert client.post("/api/query", content=huge, headers={"Content-Type": "application/json"}).status_code == 413

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for _ in range(MAX_BODY_BYTES // 1000 + 2):
            yield b" " * 1000

    streamed = client.post("/api/query", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "larger than" in streamed.json()["error"]
    assert client.get("/api/usages?word=%ED%A0%80").status_code == 404
    assert client.get("/api/usages", params={"word": "x" * 101}).status_code == 422
    assert client.get("/api/usages", params={"word": "bank", "limit": 0}).status_code == 422


def test_token_is_required_when_set(index_path: Path) -> None:
    with TestClient(create_app(index_path, token="s3cret"), base_url=LOCAL) as guarded_client:
        missing = guarded_client.get("/api/info")
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
        assert "bearer token" in missing.json()["error"]
        wrong = guarded_client.post("/api/query", json={"text": RIVER_QUERY},
                                    headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = guarded_client.post("/api/query", json={"text": RIVER_QUERY},
                                    headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and len(right.json()) == 6
        assert guarded_client.get("/").status_code == 200  # the page holds no data; its API calls carry the token


def test_new_documents_appear_without_restart_and_nothing_is_written(client: TestClient, index_path: Path,
                                                                     tmp_path: Path) -> None:
    def digest(name: str) -> str:
        return hashlib.sha256((index_path / name).read_bytes()).hexdigest()

    before = {name: digest(name) for name in ("vectors.faiss", "config.json")}
    assert client.get("/api/usages", params={"word": "otter"}).status_code == 404
    for _ in range(3):
        client.post("/api/query", json={"text": RIVER_QUERY})
        client.post("/api/reload", json={})
    assert {name: digest(name) for name in before} == before
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "otters.txt").write_text("An otter slid down the muddy bank into the river.\n")
    with SenseIndex.open(index_path) as writer:  # another "process" adds while the server keeps running
        writer.add([extra])
    found = client.post("/api/query", json={"text": "The [[otter]] swam away.", "k": 3})
    assert found.status_code == 200 and [hit["word"] for hit in found.json()] == ["otter"]
    assert len(client.post("/api/query", json={"text": RIVER_QUERY, "k": 50}).json()) == 7
    assert client.post("/api/reload", json={}).json()["documents"] == 2


def test_parallel_requests_share_one_index_safely(client: TestClient) -> None:
    expected = client.post("/api/query", json={"text": RIVER_QUERY, "k": 5}).json()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.post("/api/query", json={"text": RIVER_QUERY, "k": 5}), range(24)))
    assert all(answer.status_code == 200 and answer.json() == expected for answer in answers)


def test_senses_and_plot_come_from_one_real_clustering_run(client: TestClient, index_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int | None]] = []

    def counted(index: SenseIndex, word: str, k: int | None = None, **options: Any) -> SenseReport:
        calls.append((word, k))
        return induce_senses(index, word, k=k, **options)

    monkeypatch.setattr(SenseIndex, "senses", counted)
    report = client.get("/api/senses", params={"word": "Bank", "k": 2})
    assert report.status_code == 200
    data = report.json()
    with SenseIndex.open(index_path, read_only=True) as index:
        direct = json.loads(json.dumps(induce_senses(index, "Bank", k=2, examples=5).to_dict()))
    for group in direct["senses"]:  # each example as the page names its document
        group["examples"] = [{**hit, "document_name": "bank.txt"} for hit in group["examples"]]
    assert {**data, "seconds": None} == {**direct, "seconds": None}  # the same report, timing aside
    assert data["word"] == "Bank" and data["k"] == 2 and [s["sense"] for s in data["senses"]] == [1, 2]
    assert sum(s["size"] for s in data["senses"]) == len(data["assignments"]) == data["n_usages"] == 6
    assert {a["sense"] for a in data["assignments"]} == {1, 2}
    assert set(data["senses"][0]["examples"][0]) == {f.name for f in fields(Hit)} | {"document_name"}
    plot = client.get("/api/senses/plot.png", params={"word": "bank", "k": 2})
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert calls == [("Bank", 2)]  # the plot reused the cached report ("bank" and "Bank" are one word)
    chosen = client.get("/api/senses", params={"word": "bank"}).json()
    assert calls[-1] == ("bank", None) and chosen["chosen_by"] == "silhouette" and chosen["k"] >= 2


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"word": "bank", "k": 7}, 400, "'bank' has only 6 usages, too few for 7 senses: ask for between 1 and 6"),
    ({"word": "otter", "k": 2}, 400, "'otter' has only 1 usage, too few for 2 senses"),
    ({"word": "zebra"}, 404, "'zebra' does not occur"),
    ({"word": "bank", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
])
def test_senses_requests_a_word_cannot_meet_are_clear_4xx(client: TestClient, index_path: Path, tmp_path: Path,
                                                          params: dict, status: int, message: str) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "otters.txt").write_text("An otter slid into the river.\n")
    with SenseIndex.open(index_path) as writer:
        writer.add([extra])
    for path in ("/api/senses", "/api/senses/plot.png"):
        response = client.get(path, params=params)
        assert response.status_code == status, response.text
        assert message in response.json()["error"]


def test_senses_of_a_word_used_once_is_one_sense(client: TestClient, index_path: Path, tmp_path: Path) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "otters.txt").write_text("An otter slid into the river.\n")
    with SenseIndex.open(index_path) as writer:
        writer.add([extra])
    data = client.get("/api/senses", params={"word": "otter"}).json()
    assert data["k"] == 1 and data["chosen_by"] == "too few usages" and data["senses"][0]["size"] == 1
    plot = client.get("/api/senses/plot.png", params={"word": "otter"})
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")


@pytest.fixture
def look_alike_index(tmp_path: Path, fake_settings: EncoderSettings) -> Path:
    """Two text files of one name in two folders, and a record "r1" in each of two JSON Lines files of one name."""
    corpus = write_look_alike_corpus(tmp_path / "alike")
    with SenseIndex.create(tmp_path / "alike-idx", settings=fake_settings) as index:
        index.add([corpus])
        index.sense("bank").add("finance", ["The [[bank]] lent money at a low rate."])
    return tmp_path / "alike-idx"



def test_each_hit_names_its_document_as_the_kwic_lines_do(look_alike_index: Path) -> None:
    """The page showed a path's last part: x/same.txt and y/same.txt both read "same.txt", and the records r1 of
    a/x.jsonl and b/x.jsonl both "r1". Every answer the page lists as KWIC lines names each hit's document as the
    command line's KWIC lines do, over that answer's hits."""
    application = create_app(look_alike_index)
    with TestClient(application, base_url=LOCAL) as test_client:
        listed = test_client.get("/api/usages", params={"word": "bank"}).json()
        near = test_client.post("/api/query", json={"text": "the [[bank]] lent it", "k": 4}).json()
        senses = test_client.get("/api/senses", params={"word": "bank", "k": 1}).json()
        tagged = test_client.get("/api/sense/tags", params={"word": "bank"}).json()["usages"]
    application.state.service.close()
    examples = [hit for group in senses["senses"] for hit in group["examples"]]
    for answer in (listed, near, examples, tagged):
        assert sorted(hit["document_name"] for hit in answer) == sorted(LOOK_ALIKE_NAMES)
    by_file = {(hit["document"], hit["path"]): hit["document_name"] for hit in listed}
    assert {Path(path).parent.name + "/" + Path(path).name + ("" if path == document else "#" + document)
            for document, path in by_file} == set(by_file.values())
    with SenseIndex.open(look_alike_index, read_only=True) as index:
        names = sensesearch.document_names(index.usages("bank"))
    assert by_file == names


def test_sense_documents_names_each_document_as_the_command_line_does(look_alike_index: Path) -> None:
    """/api/sense/documents gave the records r1 of a/x.jsonl and of b/x.jsonl as two documents "r1", where the
    command line's `sense documents` table names them a/x.jsonl#r1 and b/x.jsonl#r1."""
    application = create_app(look_alike_index)
    with TestClient(application, base_url=LOCAL) as test_client:
        found = test_client.get("/api/sense/documents", params={"word": "bank", "sense": "finance"}).json()
    application.state.service.close()
    records = {d["document_name"] for d in found if d["document"] == "r1"}
    assert records == {"a/x.jsonl#r1", "b/x.jsonl#r1"}, found
    assert all(d["document_name"] == d["document"] for d in found if d["document"] != "r1")


def test_page_static_files_headers_and_schema(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
    assert client.get("/static/../server.py").status_code == 404
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/api/query", "/api/usages", "/api/senses", "/api/senses/plot.png", "/api/info",
                                    "/api/reload", "/api/words", "/api/inventory", "/api/sense/tags",
                                    "/api/sense/documents"}
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


def test_serve_command_binds_loopback_and_takes_the_token_from_the_environment(
        index_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    started: dict = {}

    def run(server: uvicorn.Server, sockets: list | None = None) -> None:
        started.update(address=sockets[0].getsockname() if sockets else None)
        # Requests while the command serves: once it returns, the index it opened is closed.
        with TestClient(server.config.app, base_url=LOCAL) as served:
            started.update(anonymous=served.get("/api/info").status_code,
                           bearer=served.get("/api/info", headers={"Authorization": "Bearer from-env"}).status_code)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setenv("SENSESEARCH_TOKEN", "from-env")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(index_path), "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert started["address"] == ("127.0.0.1", port)
    assert f"http://127.0.0.1:{port}/#token=from-env" in result.stderr
    assert (started["anonymous"], started["bearer"]) == (401, 200)


def test_serve_command_reports_a_missing_index_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())  # rich wraps long lines at the terminal width
    assert message == f"Error: no index at {tmp_path / 'none'}: it does not exist"
    help_text = CliRunner().invoke(cli_app, ["serve", "--help"]).output
    assert "Example: sensesearch serve" in help_text


@pytest.mark.slow
def test_real_model_query_through_the_api(tmp_path: Path, minilm) -> None:
    corpus = Path(__file__).resolve().parents[1] / "corpora" / "demo" / "senses.txt"
    with SenseIndex.create(tmp_path / "real", encoder=minilm) as index:
        index.add([corpus])
    with TestClient(create_app(tmp_path / "real", encoder=minilm), base_url=LOCAL) as real:
        river = real.post("/api/query", json={"text": "We sat on the grassy [[bank]] of the river.", "k": 5}).json()
        money = real.post("/api/query", json={"text": "She paid the money into her [[bank]] account.", "k": 5}).json()
    river_words = ("river", "stream", "canoe", "canal", "willow", "bridge", "mill", "herons")
    assert sum(any(w in hit["sentence"].lower() for w in river_words) for hit in river) >= 4
    assert sum(any(w in hit["sentence"].lower() for w in river_words) for hit in money) <= 1


def test_a_wrong_setting_in_the_environment_stops_the_server_before_it_starts(
        index_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SENSESEARCH_BATCH_TOKENS=lots had been read when a query first loaded the model: every such query failed (500)."""
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "lots")
    with pytest.raises(sensesearch.SetupError, match="SENSESEARCH_BATCH_TOKENS must be a whole number >= 64, not 'lots'"):
        create_app(index_path)
