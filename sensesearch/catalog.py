"""The catalogue of indexed documents: listing them, and resolving the names a user gives for them.

A user names a document by its label (as query output shows it), by a path (a file, a folder for
everything below it, as `remove` reads it) or by a file's base name when exactly one indexed file
has it. One resolver serves `documents`, every `-d` filter and `remove`.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path, PurePath

from sqlalchemy import select

from .corpus import path_text
from .errors import InputError
from .inputs import JSONL_SUFFIXES, STDIN, check_names, fs_name
from .normalize import nfc
from .records import DocumentEntry
from .schema import code_point_order, documents
from .store import MetaStore
from .visible import quoted


def list_documents(store: MetaStore) -> list[DocumentEntry]:
    """Every indexed document with its label, path, key, counts and metadata, by key (schema.corpus_order); one an
    ingest run stopped inside with its sentences in all (DocumentEntry.sentences_total), which only verify had told."""
    columns = (documents.c.id, documents.c.label, documents.c.path, documents.c.key, documents.c.n_sentences,
               documents.c.n_occurrences, documents.c.n_pieces, documents.c.meta, documents.c.sentences_total)
    with store.engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(code_point_order(documents.c.key))).all()
    return [DocumentEntry(id=r[0], label=r[1], path=r[2], key=r[3], sentences=r[4], occurrences=r[5],
                          word_pieces=r[6], meta=dict(r[7] or {}), sentences_total=r[8]) for r in rows]


def _under(entry: DocumentEntry, key: str, wanted: str) -> bool:
    """Whether `entry` (stored under `key`) is the file `wanted`, lies in the folder `wanted`, or is a record of the
    JSON Lines file `wanted` (keys FILE#ID, FILE resolved: judged by the record's own path, since a link to the file
    may name a target without the suffix; a folder "a" must not take a file "a#1.txt")."""
    if key == wanted or key.startswith(wanted.rstrip(os.sep) + os.sep):
        return True
    return PurePath(entry.path).suffix.lower() in JSONL_SUFFIXES and key.startswith(wanted + "#")


def _base_name(entry: DocumentEntry) -> str:
    return PurePath(entry.path).name


def match_documents(entries: Sequence[DocumentEntry], names: Sequence[str],
                    by_path: bool = False) -> dict[str, list[DocumentEntry]]:
    """For each name, the documents it names: by label; else by path (a folder: all below it); else by
    the base name of one indexed file. A name that matches nothing as spelt is tried again in Unicode NFC on both
    sides (macOS stores file names decomposed, so `café.txt` typed and `cafe\u0301.txt` indexed are one name).
    A name that matches nothing maps to an empty list; a base name shared by several files raises InputError (the
    user must give a path), and so does a label several documents share, unless `by_path` (filters that only read)
    and the name is a path on disk that names one of them (a file, beside a JSON Lines record whose id spells its
    path); `remove` never guesses. An empty name, UsageError (an unset shell variable; it would name every path)."""
    found: dict[str, list[DocumentEntry]] = {}
    for name in check_names(names, "document"):
        chosen = _matching(entries, name, lambda text: text, by_path)
        found[name] = chosen or _matching(entries, name, nfc, by_path)
    return found


def _matching(entries: Sequence[DocumentEntry], name: str, form: Callable[[str], str],
              by_path: bool = False) -> list[DocumentEntry]:
    """The documents `name` names (see match_documents), names and stored labels, keys and paths compared as `form`
    spells them."""
    # Labels and paths are stored as path_text spells them (bytes that are not UTF-8 as \xNN escapes).
    spelt = form(path_text(name))
    chosen = [e for e in entries if form(e.label) == spelt]
    resolved = _path_key(name) if len({e.key for e in chosen}) != 1 else None
    if len({e.key for e in chosen}) > 1 and not by_path:
        _one_document(name, [e.key for e in chosen], "the label of")
    if len(chosen) == 1 and not by_path:
        _label_not_path_of_others(entries, name, chosen[0], form)
    if len({e.key for e in chosen}) > 1:
        # One label, several documents (a file and a JSON Lines record whose id spells its path): a path that names
        # one of them on disk tells them apart.
        key = form(resolved) if resolved is not None else None
        on_disk = [e for e in chosen if key is not None and _under(e, form(e.key), key)]
        _one_document(name, [e.key for e in on_disk or chosen], "the label of")
        return on_disk
    if resolved is not None:
        key = form(resolved)
        chosen = [e for e in entries if _under(e, form(e.key), key)]
        # Files apart on disk whose names differ only in Unicode form are one name here: never both.
        _one_document(name, [e.key for e in chosen if form(e.key) == key], "the path of")
    if not chosen and name and os.sep not in name:
        chosen = [e for e in entries if form(_base_name(e)) == spelt]
        files = sorted({e.path for e in chosen})
        if len(files) > 1:
            raise InputError(f"{name!r} names {len(files)} indexed files ({quoted(files, 4)}); give the path or "
                             "the label")
    return chosen


def _label_not_path_of_others(entries: Sequence[DocumentEntry], name: str, labelled: DocumentEntry,
                              form: Callable[[str], str]) -> None:
    """InputError when `name`, the label of one document, is also a path on disk that holds other indexed documents
    (a record with id "data" beside the folder data/): `remove` never guesses which was meant."""
    # Cheap tests first: most labels are not paths here, and a file's label is the path of that file itself.
    if not os.path.lexists(fs_name(name)):
        return
    key = _path_key(name)
    if key is None or form(key) == form(labelled.key):
        return
    on_disk = [e for e in entries if _under(e, form(e.key), form(key))]
    _one_document(name, [labelled.key, *(e.key for e in on_disk)], "the label or path of")


def _one_document(name: str, keys: Sequence[str], what: str) -> None:
    """InputError when `name` is `what` several documents, which then only their paths (or FILE#ID) tell apart: each
    quoted as `name` is (repr), since a line break in one broke the error's line and a tab read as a space."""
    distinct = sorted(set(keys))
    if len(distinct) > 1:
        raise InputError(f"{name!r} is {what} {len(distinct)} documents ({quoted(distinct, 4)}); give the path as "
                         "`sensesearch documents` lists it, "
                         "or FILE.jsonl#ID for a record")


def absent_documents(entries: Sequence[DocumentEntry], paths: Sequence[str | Path],
                     read_keys: Collection[str]) -> list[DocumentEntry]:
    """The documents indexed before from the files, folders and JSON Lines files `paths` (stdin aside) whose keys
    are not among `read_keys`, the keys a run over those paths read: files since deleted from a folder, records
    gone from a JSON Lines file, or inputs skipped this time. Read the way `remove` reads a path."""
    # Keys under a path share it as a prefix, so they lie together in key order: one bisection a path, not a pass
    # over every document (`index corpus/*.txt` names thousands of paths).
    by_key = sorted((e for e in entries if e.key not in read_keys), key=lambda e: e.key)
    keys = [e.key for e in by_key]
    absent: dict[int, DocumentEntry] = {}
    for path in paths:
        key = _path_key(str(path)) if str(path) != STDIN else None
        if key is not None:
            at = bisect.bisect_left(keys, key)
            while at < len(keys) and keys[at].startswith(key):
                if _under(by_key[at], keys[at], key):
                    absent[by_key[at].id] = by_key[at]
                at += 1
    return list(absent.values())


def _path_key(name: str) -> str | None:
    """The key of what the path `name` holds, as ingest keys it (resolved); None for a path that cannot be resolved
    (a symbolic link loop), under which nothing was indexed."""
    try:
        return path_text(Path(fs_name(name)).resolve())
    except (OSError, RuntimeError):  # RuntimeError: a link loop, before Python 3.13
        return None


def named_documents(entries: Sequence[DocumentEntry], names: Sequence[str],
                    consequence: str = "", by_path: bool = False) -> dict[str, list[DocumentEntry]]:
    """match_documents, with InputError naming every name that matches no document (`consequence`, e.g. "nothing
    was removed", follows the names): a mistyped name must not quietly narrow or empty what is asked for."""
    matches = match_documents(entries, names, by_path)
    unmatched = [name for name, chosen in matches.items() if not chosen]
    if unmatched:
        raise InputError("no indexed document matches " + quoted(unmatched)
                         + (f"; {consequence}" if consequence else "") + " (`sensesearch documents` lists them)")
    return matches


def resolve_labels(entries: Sequence[DocumentEntry], names: Sequence[str]) -> list[str]:
    """The labels of the documents `names` name (see match_documents); InputError if a name matches none."""
    return list(dict.fromkeys(e.label for e in resolve_entries(entries, names)))


def resolve_keys(entries: Sequence[DocumentEntry], names: Sequence[str]) -> list[str]:
    """The keys of the documents `names` name, which, unlike labels, no two documents share (a JSON Lines record
    whose id is "a/same.txt" has the label of the file a/same.txt); InputError if a name matches none."""
    return list(dict.fromkeys(e.key for e in resolve_entries(entries, names)))


def resolve_entries(entries: Sequence[DocumentEntry], names: Sequence[str]) -> list[DocumentEntry]:
    """The documents `names` name for reading, where a path on disk may settle a label several documents share."""
    return [e for chosen in named_documents(entries, names, by_path=True).values() for e in chosen]
