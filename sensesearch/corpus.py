"""Read a corpus (files, folders, JSONL, stdin) into Documents, decoding what is not UTF-8."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from charset_normalizer import from_bytes

from . import sidecar
from .errors import InputError
from .inputs import JSONL_SUFFIXES, STDIN, InputScan, path_text, read_regular, scan_inputs
from .jsonsafe import load_record
from .normalize import clean_text
from .records import Document, Skipped

log = logging.getLogger(__name__)

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
MOSTLY_ASCII = 0.8
_LATIN_DEFAULTS = ("cp1252", "latin_1", "iso8859_15")
_BOMS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-32", b"\xff\xfe\x00\x00"), ("utf-32", b"\x00\x00\xfe\xff"),
         ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def clean_value(value: Any) -> Any:
    """A JSON value with clean_text applied to every string in it, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value


def physical_lines(text: str) -> list[str]:
    """`text` cut at "\n" only (a trailing "\r" dropped), unlike str.splitlines, which also cuts at
    U+2028, U+0085, form feeds and other separators that can sit inside one record or sentence."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def check_paths(paths: Iterable[str | Path]) -> InputScan:
    """The inputs to read and those set aside, found without opening any (see inputs.scan_inputs).

    Raises UsageError for an empty name and InputError naming every input that does not exist,
    before anything is written or loaded.
    """
    return scan_inputs(paths)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode bytes to text; returns (text, encoding). Raises InputError for binary data."""
    for encoding, bom in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    if b"\x00" in data[:65536]:
        raise InputError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = [(str(m), m.encoding) for m in from_bytes(data) if m.encoding]
    if not candidates:
        raise InputError("not text in any encoding the detector knows")
    non_ascii = len(data.translate(None, bytes(range(128))))
    if non_ascii > (1 - MOSTLY_ASCII) * len(data):
        return candidates[0]
    # The detector may leave out cp1252 itself, the commonest legacy encoding of mostly-ASCII text.
    try:
        candidates.append((data.decode("cp1252"), "cp1252"))
    except UnicodeDecodeError:
        pass
    return min(candidates, key=lambda c: (_oddity(c[0]), c[1] not in _LATIN_DEFAULTS))


def _oddity(text: str) -> tuple[int, int]:
    """(implausible, all) non-ASCII characters of a decoding of mostly-ASCII (so Latin-script) text.

    With a handful of non-ASCII bytes the detector has little evidence, and e.g. Big5 curly quotes
    read as "manĪ”s" in cp775. In Latin-script text, controls, unassigned code points and letters
    of other scripts are implausible; fewer characters means multi-byte sequences read as one.
    """
    odd = 0
    found = _NON_ASCII.findall(text)
    for ch in found:
        category = unicodedata.category(ch)
        if category[0] == "C" or (category[0] == "L" and not unicodedata.name(ch, "").startswith("LATIN")):
            odd += 1
    return odd, len(found)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """Every input set aside (first, so it is reported before any slow work), then the files to read."""
    scan = scan_inputs(paths)
    yield from scan.skipped
    yield from scan.files


def read_corpus(paths: Iterable[str | Path], stdin: BinaryIO | None = None) -> Iterator[Document | Skipped]:
    """Yield a Document for each readable text, and a Skipped for each input left out."""
    for item in expand_paths(paths):
        if isinstance(item, Skipped):
            yield item
        elif str(item) == STDIN:
            yield from _read_stdin(stdin if stdin is not None else sys.stdin.buffer)
        elif item.suffix.lower() in JSONL_SUFFIXES:
            yield from read_jsonl(item)
        else:
            yield read_text_file(item)


def _read_stdin(stream: BinaryIO) -> Iterator[Document | Skipped]:
    try:
        text, _ = decode_bytes(stream.read())
    except InputError as exc:
        yield Skipped("<stdin>", str(exc))
        return
    # The label carries the start of the content hash, so two texts read from stdin stay apart in listings.
    digest = content_hash(text)
    yield from _document_or_skip(f"<stdin>:{digest[:16]}", f"<stdin>:{digest[:8]}", "<stdin>", text, {})


def read_text_file(path: Path) -> Document | Skipped:
    """One plain-text file as one document, with the fields its folder's metadata.csv gives it."""
    try:
        data = read_regular(path)
    except OSError as exc:
        return Skipped(path_text(path), f"cannot read: {exc.strerror or exc}")
    except InputError as exc:
        return Skipped(path_text(path), str(exc))
    try:
        text, encoding = decode_bytes(data)
    except InputError as exc:
        return Skipped(path_text(path), str(exc))
    if encoding != "utf-8":
        log.info("%s decoded as %s", path_text(path), encoding)
    key = path_text(path.resolve())
    meta: dict[str, Any] = {} if encoding == "utf-8" else {"encoding": encoding}
    found = next(_document_or_skip(key, path_text(path), path_text(path), text, meta))
    try:
        return sidecar.with_sidecar(found, path) if isinstance(found, Document) else found
    except InputError as exc:
        return Skipped(path_text(path), str(exc))


def read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """One document per JSON line with a "text" field; `id` names it, other fields are kept as metadata."""
    try:
        data = read_regular(path)
        text, _ = decode_bytes(data)
    except OSError as exc:
        yield Skipped(path_text(path), f"cannot read: {exc.strerror or exc}")
        return
    except InputError as exc:
        yield Skipped(path_text(path), str(exc))
        return
    base = path_text(path.resolve())
    first_line_of: dict[str, tuple[int, Any]] = {}
    # Records end at "\n" only (JSON Lines): JSON allows U+2028 and U+0085 raw inside strings.
    for lineno, line in enumerate(physical_lines(text), start=1):
        if not line.strip():
            continue
        where = f"{path_text(path)}:{lineno}"
        try:
            record = load_record(line)
        except InputError as exc:
            yield Skipped(where, str(exc))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield Skipped(where, 'record has no string "text" field')
            continue
        record_id = record.get("id")
        label = clean_text(str(record_id)) if record_id is not None else where
        if record_id is not None:
            if label in first_line_of:
                kept_line, kept_id = first_line_of[label]
                yield Skipped(where, f"id {json.dumps(record_id, ensure_ascii=False)} names the same document as id "
                                     f"{json.dumps(kept_id, ensure_ascii=False)} on line {kept_line} (ids are compared "
                                     f"as text); the record on line {kept_line} was kept")
                continue
            first_line_of[label] = (lineno, record_id)
        meta = {k: v for k, v in record.items() if k not in ("text", "id")}
        yield from _document_or_skip(f"{base}#{label}", label, path_text(path), clean_text(record["text"]), meta,
                                     skip_as=where)


def _document_or_skip(key: str, label: str, path: str, text: str, meta: dict[str, Any],
                      skip_as: str | None = None) -> Iterator[Document | Skipped]:
    # An empty text is still a document: ingest skips it, and drops the version of it indexed before.
    text = clean_text(text.lstrip("\ufeff"))
    try:
        document = Document(key=key, label=label, path=path, text=text, content_hash=content_hash(text),
                            meta=clean_value(meta))
    except InputError as exc:  # metadata over the bounds, from whatever source supplied it
        yield Skipped(skip_as or label, str(exc))
        return
    yield document
