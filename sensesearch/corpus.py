"""Read a corpus (files, folders, JSONL, stdin) into Documents, decoding what is not UTF-8."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from charset_normalizer import from_bytes

from . import sidecar
from .errors import InputError
from .records import Document, Skipped

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
STDIN = "-"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
MOSTLY_ASCII = 0.8
_LATIN_DEFAULTS = ("cp1252", "latin_1", "iso8859_15")
_BOMS = (("utf-8-sig", b"\xef\xbb\xbf"), ("utf-32", b"\xff\xfe\x00\x00"), ("utf-32", b"\x00\x00\xfe\xff"),
         ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def clean_text(text: str) -> str:
    """`text` with lone surrogates (from JSON escapes such as "\\ud800") replaced, so it can be stored as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def path_text(path: str | Path) -> str:
    """A path as storable text: bytes of a non-UTF-8 file name are spelt as \\xNN escapes, not dropped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_paths(paths: Iterable[str | Path]) -> None:
    """Raise InputError naming every input that does not exist, before anything is written."""
    missing = [str(p) for p in paths if str(p) != STDIN and not Path(p).exists()]
    if missing:
        raise InputError("no such file or folder: " + ", ".join(path_text(m) for m in missing))


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
    """Named files as they are, folders recursively (text and JSONL files), in a stable order."""
    for raw in paths:
        if str(raw) == STDIN:
            yield Path(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES)
            if not found:
                yield Skipped(str(path), "folder holds no .txt or .jsonl files")
            yield from found
        elif path.is_file():
            yield path
        else:
            raise InputError(f"no such file or folder: {path_text(path)}")


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
    yield from _document_or_skip(f"<stdin>:{content_hash(text)[:16]}", "<stdin>", "<stdin>", text, {})


def read_text_file(path: Path) -> Document | Skipped:
    """One plain-text file as one document, with the fields its folder's metadata.csv gives it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(path_text(path), f"cannot read: {exc.strerror or exc}")
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
        data = path.read_bytes()
        text, _ = decode_bytes(data)
    except OSError as exc:
        yield Skipped(path_text(path), f"cannot read: {exc.strerror or exc}")
        return
    except InputError as exc:
        yield Skipped(path_text(path), str(exc))
        return
    base = path_text(path.resolve())
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path_text(path)}:{lineno}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield Skipped(where, f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield Skipped(where, 'record has no string "text" field')
            continue
        record_id = record.get("id")
        label = clean_text(str(record_id)) if record_id is not None else where
        meta = json.loads(clean_text(json.dumps({k: v for k, v in record.items() if k not in ("text", "id")},
                                                ensure_ascii=False)))
        yield from _document_or_skip(f"{base}#{label}", label, path_text(path), clean_text(record["text"]), meta,
                                     skip_as=where)


def _document_or_skip(key: str, label: str, path: str, text: str, meta: dict[str, Any],
                      skip_as: str | None = None) -> Iterator[Document | Skipped]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        yield Skipped(skip_as or label, "empty document")
    else:
        yield Document(key=key, label=label, path=path, text=text, content_hash=content_hash(text), meta=meta)
