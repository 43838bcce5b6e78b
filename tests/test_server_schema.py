"""Property test of the HTTP API from its own OpenAPI schema (schemathesis): no request makes a 5xx.

Valid requests (positive mode) and schema-violating ones (negative mode) go to every operation. Random
text almost never marks a word of the corpus, so in positive mode half the cases are steered to one:
random text around a marked corpus word, so that search, senses and plot run on adversarial input too.
Senses come from the real `sensesearch.senses` clustering over a fake-encoder index.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.server import create_app

from .conftest import BANK_CORPUS

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

EXAMPLES = 40
TAKE_NO_INPUT = {"GET /api/info", "POST /api/reload"}
VOCABULARY = sorted(set(re.findall(r"\w+", BANK_CORPUS)))


def steered(case, word: str, before: str, after: str):
    """The case with a corpus word put where the operation takes one (marked, inside random text, for a query)."""
    if isinstance(case.body, dict) and "text" in case.body:
        case.body["text"] = f"{before}[[{word}]]{after}"
    if isinstance(case.query, dict) and "word" in case.query:
        # Only "bank" has named senses (see api_schema); the sense routes answer 404 for other words.
        case.query["word"] = "bank" if case.operation.path.startswith("/api/sense/") else word
    if isinstance(case.query, dict) and case.query.get("sense") is not None:
        case.query["sense"] = "finance"
    return case


@pytest.fixture
def api_schema(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings):
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
        index.sense("bank").add("finance", ["The [[bank]] lent money at a low rate."])
        index.sense("bank").add("river", ["Reeds grew on the muddy [[bank]] of the river."])
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(tmp_path / "idx", allow_hosts=["testserver"]))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_from_the_schema_gets_a_server_error(api_schema, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 10  # 7 + the sense inventory routes (server_sense.py)
    statuses: set[int] = set()  # of one operation
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.label in TAKE_NO_INPUT:
            continue  # nothing to violate
        cases = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE:
            cases = st.one_of(cases, st.builds(steered, cases, st.sampled_from(VOCABULARY), st.text(max_size=30),
                                               st.text(max_size=30)))

        @given(case=cases)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            response = case.call_and_validate(checks=[not_a_server_error])
            statuses.add(response.status_code)
            if response.status_code != 200 or "png" not in case.operation.path:
                assert response.headers["content-type"] == ["application/json"], (case.operation.label, response.text)

        statuses.clear()
        no_server_error()
        # Each operation was really exercised: answered where input was valid, refused where it was not.
        assert 200 in statuses if mode is GenerationMode.POSITIVE else statuses & {400, 404, 422}, operation.label
