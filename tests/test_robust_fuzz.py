"""Random bytes and random Unicode into the corpus reader, the segmenter and the query parser: results
that keep their promises, and no exception but the domain ones."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensesearch.corpus import decode_bytes, read_jsonl, read_text_file
from sensesearch.errors import InputError, QueryError
from sensesearch.normalize import clean_text
from sensesearch.query import parse_marked
from sensesearch.records import Document, Skipped
from sensesearch.segment import split_sentences

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
texty_bytes = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=200).map(lambda t: t.encode("utf-16", "surrogatepass")),
    st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200).map(lambda t: t.encode("latin-1")),
)


def _storable(text: str) -> bool:
    text.encode("utf-8")
    return True


@FUZZ
@given(texty_bytes)
def test_decode_bytes_returns_storable_text_or_input_error(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data)
    except InputError:
        return
    assert isinstance(text, str) and encoding and _storable(text)


@FUZZ
@given(data=texty_bytes)
def test_reading_any_file_gives_a_document_or_a_skip(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.txt"
    path.write_bytes(data)
    item = read_text_file(path)
    assert isinstance(item, (Document, Skipped))
    if isinstance(item, Document):
        # A blank text is a document too: ingest skips it, after dropping any version indexed before.
        assert _storable(item.text) and _storable(item.label)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                                                     max_size=3), max_leaves=6)
records = st.dictionaries(st.sampled_from(["id", "text", "date", "x"]), json_values, max_size=4)
lines = st.one_of(records.map(json.dumps), records.map(lambda r: json.dumps(r, ensure_ascii=False)),
                  st.text(max_size=40), st.just(""), st.just('{"text": "\\ud800 lone"}'))


@FUZZ
@given(st.lists(lines, max_size=8), st.binary(max_size=30))
def test_jsonl_lines_give_documents_or_skips_naming_the_line(tmp_path: Path, content: list[str], tail: bytes) -> None:
    path = tmp_path / "any.jsonl"
    path.write_bytes("\n".join(content).encode("utf-8", "surrogatepass") + b"\n" + tail)
    for item in read_jsonl(path):
        assert isinstance(item, (Document, Skipped))
        if isinstance(item, Document):
            assert _storable(item.text) and _storable(item.label) and _storable(json.dumps(item.meta, ensure_ascii=False))
        elif item.path != str(path):
            assert item.path.startswith(f"{path}:") and item.path.rsplit(":", 1)[1].isdigit()


@FUZZ
@given(st.text(max_size=300), st.integers(min_value=8, max_value=60), st.integers(min_value=10, max_value=200))
def test_sentences_are_ordered_in_bounds_and_cover_every_word(text: str, max_chars: int, block: int) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")
    spans = split_sentences(text, max_chars=max_chars, block_chars=block)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert end - start <= max_chars
        previous_end = end
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace() and ch.isalnum())


@FUZZ
@given(st.text(max_size=120) | st.builds(lambda a, w, b: f"{a}[[{w}]]{b}", st.text(max_size=30),
                                          st.text(max_size=10), st.text(max_size=30)))
def test_parse_marked_finds_the_one_word_or_raises_query_error(text: str) -> None:
    try:
        marked = parse_marked(text)
    except QueryError:
        return
    assert text.count("[[") == 1 and marked.word == marked.word.strip() and marked.word
    assert marked.text[marked.start:marked.end] == marked.word
    # The query is read as indexed text is: NUL and lone surrogates as U+FFFD, one for one.
    assert marked.word in clean_text(text) and len(marked.text) == len(text) - 4
