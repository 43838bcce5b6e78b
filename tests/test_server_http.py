"""HTTP itself over the API: methods, status classes, strict JSON bodies, the order of the checks."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from sensesearch import SenseIndex, SenseSearchError, StorageError, StorageUnavailableError, UsageError, errors
from sensesearch.cli import app as cli_app
from sensesearch.diachronic import make_bins
from sensesearch.server import create_app
from sensesearch.server_http import STATUS_OF

from .fake_encoder import FakeEncoder
from .test_server import LOCAL, RIVER_QUERY, client, index_path  # noqa: F401  (fixtures)

JSON = {"Content-Type": "application/json"}


def test_head_is_answered_wherever_get_is(client: TestClient) -> None:  # noqa: F811
    for path in ("/", "/api/info", "/api/usages?word=bank", "/static/app.js"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == str(len(got.content)), path
    post_only = client.head("/api/reload")
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_a_method_the_path_does_not_take_is_405_not_415(client: TestClient, method: str) -> None:  # noqa: F811
    for path, allowed in (("/api/info", "GET"), ("/api/query", "POST"), ("/", "GET")):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed and response.json() == {"error": "Method Not Allowed"}
    assert client.request(method, "/api/nowhere").status_code == 404


def test_an_index_gone_while_serving_is_a_503_in_one_line(client: TestClient, index_path: Path) -> None:  # noqa: F811
    assert client.get("/api/info").status_code == 200
    shutil.rmtree(index_path)
    for response in (client.get("/api/info"), client.get("/api/usages", params={"word": "bank"}),
                     client.post("/api/query", json={"text": RIVER_QUERY}), client.post("/api/reload", json={})):
        assert response.status_code == 503, response.text
        assert list(response.json()) == ["error"] and "does not exist" in response.json()["error"]


@contextmanager
def every_statement_failing(message: str) -> Iterator[None]:
    """Every SQL statement run inside fails in the driver as SQLite fails one: sqlite3.OperationalError(`message`)."""
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise sqlite3.OperationalError(message)

    event.listen(Engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("failure, status, kind", [("database is locked", 503, StorageUnavailableError),
                                                   ("database or disk is full", 503, StorageUnavailableError),
                                                   ("disk I/O error", 500, StorageError)])
def test_a_database_that_fails_is_the_servers_fault_not_the_clients(client: TestClient,  # noqa: F811
                                                                    index_path: Path, failure: str, status: int,
                                                                    kind: type[StorageError]) -> None:
    """A query answered while the metadata database failed had been a 400, as if the request were bad: locked or
    busy (it may pass: 503) or failing outright (500); the command line's exit 1 and one line stay."""
    said = f"the metadata database sqlite:///{index_path / 'meta.sqlite'} failed: {failure}"
    with every_statement_failing(failure):
        for response in (client.get("/api/usages", params={"word": "bank"}),
                         client.post("/api/query", json={"text": RIVER_QUERY})):
            assert response.status_code == status, response.text
            assert response.json() == {"error": said}
        printed = CliRunner().invoke(cli_app, ["usages", "bank", "--index", str(index_path)])
        with pytest.raises(kind, match=failure), SenseIndex.open(index_path, read_only=True) as index:
            index.usages("bank")
    assert printed.exit_code == 1 and printed.stderr == f"Error: {said}\n"
    assert client.get("/api/usages", params={"word": "bank"}).status_code == 200


def test_every_error_kind_has_its_status_and_an_unknown_one_is_not_blamed_on_the_client(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """An error of no listed kind had been a 400, the client's fault, whatever its cause: each kind now has its
    status, and one without (a bare SenseSearchError) is the server's, a 500."""
    kinds = [kind for kind in vars(errors).values() if isinstance(kind, type) and issubclass(kind, SenseSearchError)]
    assert all(listed is not SenseSearchError for listed, _ in STATUS_OF)
    assert [kind.__name__ for kind in kinds if not any(issubclass(kind, listed) for listed, _ in STATUS_OF)] == [
        "SenseSearchError"]

    def unknown(_self: SenseIndex) -> None:
        raise SenseSearchError("no kind of ours")

    monkeypatch.setattr(SenseIndex, "info", unknown)
    response = client.get("/api/info")
    assert response.status_code == 500 and response.json() == {"error": "no kind of ours"}


def test_an_encoder_that_breaks_its_contract_is_a_500(client: TestClient, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                       ) -> None:
    """The model's output refused (EncoderOutputError, unlisted) had been a 400, as if the query were bad."""
    real_encode = FakeEncoder.encode
    monkeypatch.setattr(FakeEncoder, "encode", lambda self, sentences: real_encode(self, sentences) * 2)
    broken = client.post("/api/query", json={"text": RIVER_QUERY})
    assert broken.status_code == 500 and broken.json() == {"error": "the encoder returned 2 results for 1 sentences"}


def test_the_advice_for_too_many_senses_can_be_followed(client: TestClient, index_path: Path,  # noqa: F811
                                                        tmp_path: Path) -> None:
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "snow.txt").write_text("A snowbank blocked the road.\n")
    with SenseIndex.open(index_path) as writer:
        writer.add([tmp_path / "more"])
    refused = client.get("/api/senses", params={"word": "snowbank", "k": 2})
    assert refused.status_code == 400 and refused.json()["error"].endswith("ask for between 1 and 1")
    for path in ("/api/senses", "/api/senses/plot.png"):  # as `senses -k 1` does
        assert client.get(path, params={"word": "snowbank", "k": 1}).status_code == 200, path
    assert client.get("/api/senses", params={"word": "bank", "k": 1}).json()["chosen_by"] == "given"


@pytest.mark.parametrize("width", ["nan", "inf", "-inf", "0", "-2"])
def test_a_bin_width_is_refused_as_the_command_line_refuses_it(client: TestClient, index_path: Path,  # noqa: F811
                                                               width: str) -> None:
    message = f"the bin width must be a finite number above 0, not {float(width):g}"
    for path in ("/api/senses", "/api/senses/plot.png"):
        response = client.get(path, params={"word": "bank", "k": 2, "by": "document", "bin_width": width})
        assert response.status_code == 422 and response.json()["error"] == f"query.bin_width: {message}"
    printed = CliRunner().invoke(cli_app, ["senses", "bank", "--index", str(index_path), "--by", "year",
                                           "--bin-width", width])
    assert printed.exit_code == 2 and message in " ".join(printed.output.replace("│", " ").split())
    with pytest.raises(UsageError, match="finite number above 0"):
        make_bins([1990, 2000], "year", bin_width=float(width))


@pytest.mark.parametrize("body", [
    {"text": RIVER_QUERY, "k": True}, {"text": RIVER_QUERY, "k": "3"}, {"text": RIVER_QUERY, "k": 3.0},
    {"text": RIVER_QUERY, "any_word": "true"}, {"text": RIVER_QUERY, "any_word": 1}, {"text": RIVER_QUERY, "lemma": 0},
    {"text": 5}, {"text": RIVER_QUERY, "where": "year>1"}, {"text": RIVER_QUERY, "where": [1900]},
])
def test_json_bodies_are_typed_strictly(client: TestClient, body: dict) -> None:  # noqa: F811
    response = client.post("/api/query", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"].endswith("_type")
    assert client.post("/api/words", json={"text": ["a list"]}).status_code == 422
    # Query strings are text by nature: "3" and "true" there are a number and a yes.
    assert len(client.get("/api/usages", params={"word": "bank", "limit": "3", "lemma": "true"}).json()) == 3


def test_a_bin_width_without_by_is_refused(client: TestClient) -> None:  # noqa: F811
    """It had been ignored, in the API as on the command line."""
    for path in ("/api/senses", "/api/senses/plot.png"):
        response = client.get(path, params={"word": "bank", "k": 2, "bin_width": 5})
        assert response.status_code == 400 and "give by too" in response.json()["error"], response.text
    # The chart's kind too: chart=bars without by had answered the map it would have drawn anyway.
    response = client.get("/api/senses/plot.png", params={"word": "bank", "k": 2, "chart": "bars"})
    assert response.status_code == 400 and "give by too" in response.json()["error"], response.text


@pytest.mark.parametrize("extra", [{"any_words": True}, {"documents": "a.txt"}, {"kk": 3}])
def test_a_field_the_api_lacks_is_named_not_ignored(client: TestClient, extra: dict) -> None:  # noqa: F811
    """A misspelt or unsupported field was ignored: the answer came from the whole index as if it held."""
    response = client.post("/api/query", json={"text": RIVER_QUERY, **extra})
    assert response.status_code == 422 and next(iter(extra)) in response.json()["error"], response.text
    assert client.post("/api/words", json={"text": "a bank", **extra}).status_code == 422


def test_lone_surrogates_and_nul_in_json_text_read_as_u_fffd(client: TestClient) -> None:  # noqa: F811
    words = client.post("/api/words", content=b'{"text": "a\\ud800 bank\\u0000"}', headers=JSON)
    assert words.status_code == 200, words.text
    assert [(w["start"], w["word"]) for w in words.json()] == [(0, "a"), (1, "\ufffd"), (3, "bank"), (7, "\ufffd")]
    query = client.post("/api/query", content=b'{"text": "the [[bank]] \\udc80 river", "k": 2, '
                                              b'"where": ["path=*\\ud800*"]}', headers=JSON)
    assert query.status_code == 404 and "path" in query.json()["error"]  # read, then no document matched


def test_a_text_over_its_length_is_said_in_characters(client: TestClient) -> None:  # noqa: F811
    """A body's text behind server.Text's reading had been "Value should have at most 1000 items ... not 1206"."""
    long_where = client.post("/api/query", json={"text": RIVER_QUERY, "where": ["year=" + "1|" * 600 + "1"]})
    assert long_where.status_code == 422
    assert long_where.json()["error"] == "where.0: Text should have at most 1000 characters, not 1206"
    many = client.post("/api/query", json={"text": RIVER_QUERY, "where": ["year>1"] * 21})
    assert many.status_code == 422 and "at most 20 items" in many.json()["error"], many.text


def test_a_token_is_asked_for_before_the_body_is_read(index_path: Path) -> None:  # noqa: F811
    with TestClient(create_app(index_path, token="s3cret"), base_url=LOCAL) as guarded:
        for content, headers in ((b"{not json", JSON), (b'{"text": 5}', JSON), (b"text=x", {})):
            refused = guarded.post("/api/query", content=content, headers=headers)
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer", content
        token = {"Authorization": "Bearer s3cret"}
        assert guarded.post("/api/query", content=b"{not json", headers={**JSON, **token}).status_code == 422
        assert guarded.post("/api/query", content=b"text=x", headers=token).status_code == 415
        assert guarded.delete("/api/info").status_code == 405  # the method is wrong whoever asks


def test_a_query_parameter_the_call_lacks_or_repeats_is_a_422(client: TestClient) -> None:  # noqa: F811
    # As an unknown JSON field is: `document` (a CLI option) or a typo had answered from the whole index.
    for params in ({"word": "bank", "document": "river.txt"}, {"word": "bank", "limt": "1"}):
        refused = client.get("/api/usages", params=params)
        assert refused.status_code == 422, params
        assert refused.json()["error"].startswith(f"query.{list(params)[1]}: not a parameter of this call")
        assert "word, limit" in refused.json()["error"]
    assert client.get("/api/info", params={"x": "1"}).status_code == 422
    twice = client.get("/api/usages?word=bank&word=river")
    assert twice.status_code == 422 and twice.json()["error"] == "query.word: given more than once; give it once"
    # Lists repeat, and every parameter a call has is still taken.
    listed = client.get("/api/usages", params={"word": "bank", "limit": 1, "sort": "left", "lemma": "false",
                                               "where": ["path!=nothing", "path!=none"]})
    assert listed.status_code == 200, listed.text
    assert client.get("/api/senses", params={"word": "bank", "k": 1, "lemma": "false", "where": "path!=x"}).status_code == 200


@pytest.mark.parametrize("body, why", [(b'{"text": "the [[b\xffank]]"}', "it is not UTF-8 text"),
                                       (b"[" * 5000 + b"]" * 5000, "it is nested too deeply")])
def test_a_body_json_cannot_read_is_bad_json_not_a_bare_400(client: TestClient, body: bytes,  # noqa: F811
                                                            why: str) -> None:
    response = client.post("/api/query", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json() == {"error": f"the request body is not valid JSON: {why}"}


def test_a_request_that_meets_the_closed_index_is_a_503_logged_with_its_kind(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    """A request still running when the server closed its index met an IndexClosedError, a UsageError to a caller of
    the API, and was answered 400 as if the client had erred; and every 5xx was logged as an "index problem"."""
    client.app.state.service.close()  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="sensesearch.server_http"):
        response = client.get("/api/usages", params={"word": "bank"})
    assert response.status_code == 503 and "was closed" in response.json()["error"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["answered 503, IndexClosedError"]


def test_a_number_of_more_digits_than_python_reads_is_named_not_a_bare_parse_error(
        client: TestClient) -> None:  # noqa: F811
    """json.loads refuses an integer of over 4,300 digits with a ValueError, which FastAPI answered as a bare 400
    "There was an error parsing the body"."""
    body = b'{"text": "the [[bank]]", "k": ' + b"9" * 5000 + b"}"
    response = client.post("/api/query", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json() == {"error": "the request body holds a number of more than 4,300 digits, more than is read"}
