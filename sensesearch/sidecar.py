"""Metadata sidecars: a `metadata.csv` next to plain-text files gives each file fields (year, author...).

The CSV has a header row; the column `file` names a file in the same folder (e.g. 1945-Truman.txt),
every other column is a field, named by its header trimmed (a name given twice, a value under a
column the header does not name, or a file given two rows, is an InputError naming it). Values that
spell whole or decimal numbers are stored as numbers, so `--where year>=1950` compares numerically;
empty cells are left out. The fields become the document's metadata, exactly as a JSONL record's extra fields do, and
`--where` / `senses --by` read them. A file's metadata is part of what decides whether it changed: editing its row makes
the next `index` run replace the document, so the index never keeps outdated fields.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .decoding import read_text
from .errors import InputError
from .jsonsafe import held_float
from .normalize import nfc
from .records import Document
from .visible import quoted

log = logging.getLogger(__name__)

SIDECAR_NAME = "metadata.csv"
FILE_COLUMN = "file"
_INTEGER = re.compile(r"^[-+]?\d+$")
_DECIMAL = re.compile(r"^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$")


def typed(value: str) -> Any:
    """A CSV cell as int, float or (stripped) text; an integer of more digits than Python converts
    (sys.get_int_max_str_digits, 4,300) stays text, as written: it had failed the whole run as "unexpected". So does
    a decimal no float holds (1.5e400, 1.5e-400: jsonsafe.held_float), which had been stored as null or as 0."""
    value = value.strip()
    if _INTEGER.match(value):
        try:
            return int(value)
        except ValueError:
            return value
    if _DECIMAL.match(value):
        number = held_float(value)
        return value if number is None else number
    return value


def read_sidecar(path: Path) -> dict[str, dict[str, Any]]:
    """File name -> fields of one sidecar CSV, names in NFC; InputError naming the line when it cannot be read."""
    try:
        text, _ = read_text(path)
    except OSError as exc:
        raise InputError(f"cannot read the metadata sidecar {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"cannot read the metadata sidecar {path}: {exc}") from None
    # Read as the csv module asks (newline=""): lines cut by str.splitlines had lost a quoted cell's line break and
    # its U+2028 ("War\u2028Peace" stored as "WarPeace").
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = _rows(reader, path)
    header = [nfc(name.strip()) for name in next(rows, [])]
    if FILE_COLUMN not in header:
        raise InputError(f"the metadata sidecar {path} needs a header row with a {FILE_COLUMN!r} column")
    _check_header(path, header)
    table: dict[str, dict[str, Any]] = {}
    line_of: dict[str, int] = {}
    for cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            raise InputError(f"{path}:{reader.line_num}: more cells than header columns")
        row = dict(zip(header, cells))
        # File and field names in NFC: a row typed "café.txt" names the file macOS stores as "cafe\u0301.txt" (its
        # fields had been dropped without a word), and a header "anne\u0301e" is the field `--where année` names.
        name = nfc(row[FILE_COLUMN].strip()) if FILE_COLUMN in row else ""
        if not name:
            raise InputError(f"{path}:{reader.line_num}: the {FILE_COLUMN!r} cell is empty")
        unnamed = [i + 1 for i, cell in enumerate(cells) if not header[i] and cell.strip()]
        if unnamed:
            raise InputError(f"{path}:{reader.line_num}: a value in column {unnamed[0]}, which the header row does "
                             "not name: give the column a name (its values had been dropped without a word)")
        if name in line_of:
            raise InputError(f"{path}:{reader.line_num}: a second row for {quoted([name])}, whose row is line "
                             f"{line_of[name]}: give each file one row (the last had been taken, the others dropped "
                             "without a word)")
        line_of[name] = reader.line_num
        table[name] = {key: typed(value) for key, value in row.items() if key not in (FILE_COLUMN, "") and value.strip()}
    return table


def _rows(reader: Any, path: Path) -> Iterator[list[str]]:
    """The reader's rows; InputError naming the line for what the csv module cannot read. Read strictly: a quote left
    open had folded the rest of the file into one cell (the rows after it lost without a word), and a cell over the
    csv module's limit failed as a raw csv.Error."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            open_quote = any(words in str(exc) for words in ("end of data", "field limit"))
            raise InputError(f"{path}:{reader.line_num}: {exc}" + (" (a quote left open?)" if open_quote else "")
                             ) from None


def _check_header(path: Path, header: list[str]) -> None:
    """InputError for a column named twice (after trimming and NFC): which of its values is the field's? The last had
    been taken, the others dropped without a word."""
    seen: dict[str, int] = {}
    for column, name in enumerate(header, start=1):
        if name and name in seen:
            raise InputError(f"{path}: the header row names {name!r} twice (columns {seen[name]} and {column}): "
                             "give each column a name of its own")
        seen[name] = column


SHOWN_UNMATCHED = 5
"""Rows naming no file that the warning names."""


@functools.lru_cache(maxsize=64)
def _sidecar_of(folder: Path, stamp: tuple[int, int]) -> dict[str, dict[str, Any]]:
    table = read_sidecar(folder / SIDECAR_NAME)
    _warn_unmatched(folder, table)
    return table


def _warn_unmatched(folder: Path, table: dict[str, dict[str, Any]]) -> None:
    """Warn (once per version of the sidecar: _sidecar_of is cached) of rows that name no file of its folder. A
    misspelt name or one with a subfolder (`sub/a.txt`) gave its fields to no document without a word, and the file
    meant was then counted "without a value" by `senses --by` and left out by every `--where` on its fields."""
    try:
        there = {nfc(name) for name in os.listdir(folder)}
    except OSError:
        return
    unmatched = sorted(name for name in table if name not in there)
    if unmatched:
        log.warning("%s: %d row%s name%s no file in its folder (%s): their fields go to no document; a row names a "
                    "file of the sidecar's own folder, and a subfolder takes a metadata.csv of its own",
                    folder / SIDECAR_NAME, len(unmatched), "s" if len(unmatched) != 1 else "",
                    "" if len(unmatched) != 1 else "s", quoted(unmatched, SHOWN_UNMATCHED))


def sidecar_fields(path: Path) -> dict[str, Any]:
    """The fields the sidecar next to `path` gives it (empty without a sidecar or a row)."""
    sidecar = path.parent / SIDECAR_NAME
    try:
        stat = sidecar.stat()
    except OSError:
        return {}
    return dict(_sidecar_of(path.parent, (stat.st_mtime_ns, stat.st_size)).get(nfc(path.name), {}))


def with_sidecar(document: Document, path: Path) -> Document:
    """`document` with its sidecar fields added to its metadata, and a hash that covers them."""
    fields = sidecar_fields(path)
    if not fields:
        return document
    return replace(document, meta={**document.meta, **fields},
                   content_hash=hash_with_fields(document.content_hash, fields))


def hash_with_fields(content_hash: str, fields: dict[str, Any]) -> str:
    """A document's hash that covers metadata fields besides its text (hashed as `content_hash`): a field edited
    alone (a sidecar row, a JSONL record's year) makes the document changed, so the next `index` run replaces it."""
    stamp = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(content_hash.encode() + b"\0" + stamp).hexdigest()
