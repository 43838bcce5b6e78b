"""Serving safely: Host checks against DNS rebinding, JSON-only writes, tokens any client can present."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app as cli_app
from sensesearch.config import EncoderSettings
from sensesearch.errors import UsageError
from sensesearch.records import Document
from sensesearch.server import create_app
from sensesearch.server_guard import allowed_hosts, host_name

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def index_path(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> Path:
    path = tmp_path / "idx"
    with SenseIndex.create(path, settings=fake_settings) as index:
        index.add([bank_corpus])
    return path


@pytest.fixture
def loopback(index_path: Path) -> Iterator[TestClient]:
    application = create_app(index_path)
    with TestClient(application, base_url="http://127.0.0.1:8000") as client:
        yield client
    application.state.service.close()


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST.", "[::1]:8000", "127.0.0.1"])
def test_a_loopback_server_answers_to_its_own_names(loopback: TestClient, host: str) -> None:
    assert loopback.get("/api/info", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil",
                                  "10.0.0.5:8000", "", "[::1", "a b", "localhost:http"])
def test_dns_rebinding_names_are_refused_with_a_json_error(loopback: TestClient, host: str) -> None:
    for method, path in (("GET", "/api/info"), ("GET", "/api/usages?word=bank"), ("GET", "/")):
        response = loopback.request(method, path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert "host" in response.json()["error"].lower()
    answer = loopback.get("/api/info", headers={"Host": "evil.example:8000"}).json()["error"]
    assert "--allow-host evil.example" in answer


def test_allow_host_adds_names_and_a_wildcard_bind_takes_ip_literals(index_path: Path) -> None:
    application = create_app(index_path, host="0.0.0.0", allow_hosts=["Search.Lab.Example"])
    with TestClient(application, base_url="http://127.0.0.1") as client:
        for host in ("search.lab.example:8000", "192.168.1.20:8000", "[fe80::1]:8000", "localhost"):
            assert client.get("/api/info", headers={"Host": host}).status_code == 200, host
        assert client.get("/api/info", headers={"Host": "evil.example"}).status_code == 400
    application.state.service.close()
    bound = allowed_hosts("192.168.1.20")
    assert bound.allows(host_name("192.168.1.20:80")) and not bound.allows(host_name("localhost"))
    assert not bound.allows(host_name("10.1.1.1"))
    with pytest.raises(UsageError, match="^'bad/name' is not a host name or address$"):
        allowed_hosts("127.0.0.1", ["bad/name"])


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "text/plain"])
def test_cross_site_form_posts_get_415(loopback: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path, body in (("/api/reload", b""), ("/api/reload", b"{}"), ("/api/query", b'{"text":"the [[bank]]"}')):
        response = loopback.post(path, content=body, headers=headers)
        assert response.status_code == 415, (path, content_type)
        assert "application/json" in response.json()["error"]


def test_json_posts_still_work(loopback: TestClient) -> None:
    assert loopback.post("/api/reload", json={}).json()["documents"] == 1
    assert loopback.post("/api/reload", content=b"{}", headers={"Content-Type": "Application/JSON; charset=utf-8"}
                         ).status_code == 200
    assert loopback.post("/api/query", json={"text": "the [[bank]] of the river", "k": 2}).status_code == 200


@pytest.mark.parametrize("token", ["café", "s3cret ", "two words", "tab\tin", "", "\u2603"])
def test_a_token_no_client_can_present_is_refused_at_start(index_path: Path, token: str) -> None:
    with pytest.raises(UsageError, match="visible ASCII"):
        create_app(index_path, token=token)
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(index_path), "--token", token])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert "visible ASCII" in result.output and "serving" not in result.output


def test_a_token_is_compared_as_the_bytes_sent(index_path: Path) -> None:
    application = create_app(index_path, token="s3cr%t-+/=~")
    with TestClient(application, base_url="http://127.0.0.1") as client:
        assert client.get("/api/info", headers={"Authorization": "Bearer s3cr%t-+/=~"}).status_code == 200
        assert client.get("/api/info", headers={"Authorization": "Bearer s3cr%t-+/="}).status_code == 401
        # A UTF-8 header whose latin-1 reading would equal some other string is still just bytes.
        sent = "Bearer s3cr%t-+/=~é".encode()
        assert client.get("/api/info", headers=[(b"Authorization", sent)]).status_code == 401
    application.state.service.close()


def test_stored_non_finite_numbers_come_out_as_strict_json(tmp_path: Path, fake_settings: EncoderSettings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An index written before the reader refused NaN still answers valid JSON on every path."""
    path = tmp_path / "old"
    text = "The bank of the river flooded."
    doc = Document(key="old#1", label="old-1", path="old.jsonl", text=text, content_hash="h", meta={})
    # As an older version stored them: a Document now refuses non-finite numbers.
    object.__setattr__(doc, "meta", {"score": math.nan, "bounds": [math.inf, -math.inf], "ok": 1.5})
    with SenseIndex.create(path, settings=fake_settings) as index:
        index.add_documents([doc])
    application = create_app(path)
    with TestClient(application, base_url="http://127.0.0.1") as client:
        for response in (client.get("/api/usages", params={"word": "bank"}),
                         client.post("/api/query", json={"text": "a [[bank]] by the river"})):
            assert response.status_code == 200
            meta = json.loads(response.text, parse_constant=_refuse)[0]["meta"]
            assert meta == {"score": None, "bounds": [None, None], "ok": 1.5}
        senses = client.get("/api/senses", params={"word": "bank"})
        assert senses.status_code == 200 and "NaN" not in senses.text
        json.loads(senses.text, parse_constant=_refuse)
    application.state.service.close()
    for args in (["usages", "bank", "--json"], ["query", "a [[bank]] by the river", "--json"]):
        result = CliRunner().invoke(cli_app, [*args, "--index", str(path)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout, parse_constant=_refuse)[0]["meta"]["score"] is None


def _refuse(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_serve_passes_its_address_and_allowed_hosts_and_quotes_the_token(index_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from sensesearch.server_state import IndexService

    served: dict[str, object] = {}

    def run(server: uvicorn.Server, sockets: list | None = None) -> None:
        # Requests while the command serves: once it returns, the index it opened is closed.
        with TestClient(server.config.app, base_url="http://127.0.0.1") as client:
            auth = {"Authorization": "Bearer a%b&c#d"}
            served.update({host: client.get("/api/info", headers={**auth, "Host": f"{host}:8000"}).status_code
                           for host in ("search.lab.example", "localhost", "evil.example")})

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr(IndexService, "warm", lambda self: None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(index_path), "--host", "127.0.0.1", "--port",
                                          str(port), "--allow-host", "search.lab.example", "--token", "a%b&c#d"])
    assert result.exit_code == 0, result.output
    assert "#token=a%25b%26c%23d" in result.stderr
    assert served == {"search.lab.example": 200, "localhost": 200, "evil.example": 400}
