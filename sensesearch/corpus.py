"""Read a corpus (files, folders, JSONL, stdin) into Documents, decoding what is not UTF-8."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from . import sidecar
from .decoding import REPAIRED, decode_bytes, line_break, physical_lines
from .errors import InputError
from .inputs import JSONL_SUFFIXES, STDIN, InputScan, path_text, read_regular, scan_inputs
from .jsonsafe import load_record
from .normalize import clean_text, nfc
from .records import Document, Skipped

log = logging.getLogger(__name__)

def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def clean_value(value: Any) -> Any:
    """A JSON value with clean_text applied to every string in it, keys included; keys in NFC too, as `--where` and
    `--by` name a field (conditions.meta_name): a key written decomposed ("anne\u0301e") is the field année."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {nfc(clean_text(str(k))): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value


def check_paths(paths: Iterable[str | Path]) -> InputScan:
    """The inputs to read and those set aside, found without opening any (see inputs.scan_inputs).

    Raises UsageError for an empty name and InputError naming every input that does not exist,
    before anything is written or loaded.
    """
    return scan_inputs(paths)


def expand_paths(paths: Iterable[str | Path] | InputScan) -> Iterator[Path | Skipped]:
    """Every input set aside (first, so it is reported before any slow work), then the files to read.

    `paths` may be the scan check_paths made of them, which is not made again (a walk of 20,000 files is about
    a second).
    """
    scan = paths if isinstance(paths, InputScan) else scan_inputs(paths)
    yield from scan.skipped
    yield from scan.files


def read_corpus(paths: Iterable[str | Path] | InputScan,
                stdin: BinaryIO | None = None) -> Iterator[Document | Skipped]:
    """Yield a Document for each readable text, and a Skipped for each input left out (`paths` as expand_paths)."""
    folders: dict[Path, Path] = {}
    for item in expand_paths(paths):
        if isinstance(item, Skipped):
            yield item
        elif str(item) == STDIN:
            yield from _read_stdin(stdin if stdin is not None else sys.stdin.buffer)
        elif item.suffix.lower() in JSONL_SUFFIXES:
            yield from read_jsonl(item)
        else:
            yield read_text_file(item, folders)


def _read_stdin(stream: BinaryIO) -> Iterator[Document | Skipped]:
    try:
        text, encoding = decode_bytes(stream.read())
    except InputError as exc:
        yield Skipped("<stdin>", str(exc))
        return
    # The label carries the start of the content hash, so two texts read from stdin stay apart in listings.
    digest = content_hash(text)
    yield from _document_or_skip(f"<stdin>:{digest[:16]}", f"<stdin>:{digest[:8]}", "<stdin>", text,
                                 _encoding_meta("<stdin>", encoding))


def read_text_file(path: Path, folders: dict[Path, Path] | None = None) -> Document | Skipped:
    """One plain-text file as one document, with the fields its folder's metadata.csv gives it.

    `folders` keeps the folders resolved so far in one reading of a corpus (see resolved).
    """
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
    key = path_text(resolved(path, {} if folders is None else folders))
    found = next(_document_or_skip(key, path_text(path), path_text(path), text,
                                   _encoding_meta(path_text(path), encoding)))
    try:
        return sidecar.with_sidecar(found, path) if isinstance(found, Document) else found
    except InputError as exc:
        return Skipped(path_text(path), str(exc))


def resolved(path: Path, folders: dict[Path, Path]) -> Path:
    """`path.resolve()` (a file's key), with its folder's resolution kept in `folders`: resolving each of 20,000 files
    of one folder anew was 2 of 11 s of a re-run over them. A file that is a symbolic link is resolved whole."""
    if path.is_symlink() or path.name in ("", ".", ".."):
        return path.resolve()
    folder = folders.get(path.parent)
    if folder is None:
        folder = folders[path.parent] = path.parent.resolve()
    return folder / path.name


def _encoding_meta(label: str, encoding: str) -> dict[str, Any]:
    """The `encoding` field of a document not read as plain UTF-8 (decoding.decode_bytes names it), said in the log."""
    if encoding == "utf-8":
        return {}
    log.log(logging.WARNING if encoding == REPAIRED else logging.INFO, "%s decoded as %s", label, encoding)
    return {"encoding": encoding}


def read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """One document per JSON line with a "text" field; `id` names it, other fields are kept as metadata."""
    try:
        data = read_regular(path)
        text, encoding = decode_bytes(data)
    except OSError as exc:
        yield Skipped(path_text(path), f"cannot read: {exc.strerror or exc}")
        return
    except InputError as exc:
        yield Skipped(path_text(path), str(exc))
        return
    base = path_text(path.resolve())
    first_line_of: dict[str, tuple[int, Any]] = {}
    ends = _line_ends(text, len(data), encoding)
    # Records end at "\n" only (JSON Lines; "\r" in a file with no "\n"): JSON allows U+2028 and U+0085 raw inside
    # strings, but no line break.
    for lineno, (line, end) in enumerate(zip(physical_lines(text), ends), start=1):
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
        if isinstance(record_id, str) and not record_id.strip():
            record_id = None  # an empty id would be an empty label: the record is named by its line, as without one
        # A non-string id is named as JSON spells it (true, {"x": 1}), not as Python does (True, {'x': 1}).
        label = (where if record_id is None else clean_text(record_id) if isinstance(record_id, str)
                 else clean_text(json.dumps(record_id, ensure_ascii=False)))
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
                                     skip_as=where, meta_hashed=True, input_end=end)


def _line_ends(text: str, size: int, encoding: str) -> Iterator[int]:
    """Bytes of the file (`size` of them) through the end of each of `text`'s physical lines, its line break included:
    Document.input_end. Counted in UTF-8 where the file is UTF-8 (after its byte-order mark), else in proportion to
    the characters. The records' texts alone had been counted, so the JSON around them came in one jump at the file's
    end (89% at 1,400 of a file's 1,426 sentences, then 100%)."""
    exact = encoding in ("utf-8", "utf-8-sig")
    done = 3 if encoding == "utf-8-sig" else 0
    start = 0
    ending = line_break(text)
    while start < len(text):
        end = text.find(ending, start)
        end = len(text) if end < 0 else end + 1
        if exact:
            done += len(text[start:end].encode("utf-8", "surrogatepass"))
        yield min(done if exact else end * size // len(text), size)
        start = end


def _document_or_skip(key: str, label: str, path: str, text: str, meta: dict[str, Any],
                      skip_as: str | None = None, meta_hashed: bool = False,
                      input_end: int | None = None) -> Iterator[Document | Skipped]:
    """The document, or why it is skipped; `meta_hashed`: its hash covers `meta` too (the record's own fields, where
    a file's metadata is derived from its bytes, as its encoding is)."""
    # An empty text is still a document: ingest skips it, and drops the version of it indexed before.
    text = clean_text(text)
    try:
        fields = clean_value(meta)
        digest = content_hash(text)
        hashed = meta_hashed and bool(fields)
        document = Document(key=key, label=label, path=path, text=text, meta=fields,
                            content_hash=sidecar.hash_with_fields(digest, fields) if hashed else digest,
                            text_hash=digest if hashed else "", input_end=input_end)
    except InputError as exc:  # metadata over the bounds, from whatever source supplied it
        yield Skipped(skip_as or label, str(exc))
        return
    yield document


def key_clash(key: str, holder: tuple[str, str], path: str) -> str | None:
    """Why a document read from `path` may not take `key`, which the document `holder` (label, path) holds, or None:
    a text file is keyed by its resolved path and a record by "FILE#ID", so a file named x.jsonl#r1.txt beside x.jsonl
    has the key of its record "r1.txt". Taking it had replaced that record (in a later run) or been skipped as
    "another document with the same id" (in the same run). Keys stay as indexes hold them; the later comer is
    refused."""
    label, held = holder
    record = Path(held).suffix.lower() in JSONL_SUFFIXES
    if record == (Path(path).suffix.lower() in JSONL_SUFFIXES):
        return None
    if record:
        return (f"its path {key!r} is also the name of record {label!r} of {held!r} (FILE#ID), which came first: "
                "rename the file to index both")
    return (f"its name {key!r} (FILE#ID) is also the path of the file {held!r}, which came first: rename that file "
            "to index both")


def noting_keys(items: Iterable[Document | Skipped], keys: set[str]) -> Iterator[Document | Skipped]:
    """`items` as they come, the key of each document added to `keys` (what a run read, for absent_documents)."""
    for item in items:
        if isinstance(item, Document):
            keys.add(item.key)
        yield item
