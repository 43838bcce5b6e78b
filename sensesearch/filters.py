"""Subcorpora by metadata: `--where` conditions (read by conditions.py, which says what they mean) as SQL over the
documents table, and the messages that say what a search was kept to.

Conditions become one boolean clause over the documents table, evaluated by the database: the search joins occurrences
to their documents, so nothing is filtered in Python. Reading a field (metafield.MetaField: its JSON type and value) is
the one dialect-specific part (SQLite's json_type and json_extract, PostgreSQL's json_typeof and ->>); both take the
same regular expressions (SQLite's REGEXP is the Python function SQLAlchemy installs) and SQLite its own GLOB syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, Table, and_, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .conditions import BUILTIN_FIELDS, Condition, field_as_written, meta_name, term_kind, term_text
from .dbengine import nfc_column
from .globs import glob_literal, glob_to_regex, glob_to_sqlite
from .metafield import MetaField
from .normalize import nfc

_YEAR = re.compile(r"^\d{4}$")


def document_clause(conditions: Sequence[Condition], documents: Table, dialect: str) -> ColumnElement[bool]:
    """One SQL boolean over `documents` (the store's table) that holds where every condition holds."""
    return and_(true(), *(_clause(c, documents, dialect) for c in conditions))


def _clause(condition: Condition, documents: Table, dialect: str) -> ColumnElement[bool]:
    field, op = condition.field, condition.op
    if field == "path":
        matched = _path_match(condition.terms, documents, dialect)
    elif field == "document":
        globs = [v for v in condition.terms if term_kind(v) == "glob"]
        plain = [term_text(v) for v in condition.terms if v not in globs]
        label = nfc_column(documents.c.label, dialect)
        matched = or_(*([label.in_([nfc(v) for v in plain])] if plain else []),
                      *([_glob_any(label, globs, dialect)] if globs else []))
    else:
        return _meta_clause(condition, MetaField.of(documents.c.meta, meta_name(field), dialect))
    return not_(matched) if op == "!=" else matched


def _path_match(terms: Sequence[str], documents: Table, dialect: str) -> ColumnElement[bool]:
    """A path as it was given when indexing, or the tail of it or of the absolute path the index keeps (key), for
    each alternative (a glob, or in JSON's quotes exactly the path it spells). Every alternative's globs go in one
    match per column (_glob_any): an OR of seven terms an alternative had been too deep for SQLite at some 150
    alternatives, failing as a broken database."""
    tails = []
    for term in terms:
        pattern = (term if term_kind(term) == "glob" else glob_literal(term_text(term))).removeprefix("./")
        # A JSONL record's key is the file's absolute path + "#" + its id.
        tails += [pattern] if pattern.startswith("/") else [pattern, "*/" + pattern]
    return or_(_glob_any(nfc_column(documents.c.path, dialect), tails, dialect),
               _glob_any(nfc_column(documents.c.key, dialect), tails + [tail + "#*" for tail in tails], dialect))


GLOBS_PER_REGEX = 200
"""Globs one PostgreSQL regular expression holds at most: some 1,800 paths' tails in one were "too complex" for it."""


def _glob_any(column: ColumnElement[str], patterns: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """`column` (read in NFC) matches one of the globs: SQLite's own GLOB for one, else one regular expression for
    all of them (an OR of some 1,000 terms is too deep for SQLite, and PostgreSQL ran one expression per term); on
    PostgreSQL one a GLOBS_PER_REGEX of them, OR'd."""
    patterns = [nfc(p) for p in patterns]
    if dialect == "sqlite" and len(patterns) == 1:
        return column.op("GLOB", is_comparison=True)(glob_to_sqlite(patterns[0]))  # boolean: != negates it
    if dialect == "sqlite":
        return column.regexp_match("|".join(glob_to_regex(p, atomic=True) for p in patterns))
    return or_(*(column.regexp_match("|".join(glob_to_regex(p) for p in patterns[first:first + GLOBS_PER_REGEX]))
                 for first in range(0, len(patterns), GLOBS_PER_REGEX)))


def _meta_clause(condition: Condition, field: MetaField) -> ColumnElement[bool]:
    op, value = condition.op, condition.value
    if op in ("=", "!="):
        matched = _equals_any(field, condition.terms)
        return and_(field.present(), not_(func.coalesce(matched, false()))) if op == "!=" else matched
    if condition.kind == "number":
        left, right = field.number(), field.number_literal(value)
        numeric = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        # A bare year (1945) is a number and an ISO date both: year>=1945 and date>=1945 alike.
        return or_(numeric, _period_compare(field.date(), op, value)) if _YEAR.match(value) else numeric
    if condition.kind == "date":
        return _period_compare(field.period(), op, value)
    left, right = field.text(), literal(nfc(term_text(value)), String)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _period_compare(stored: ColumnElement[Any], op: str, value: str) -> ColumnElement[bool]:
    """ISO date strings against a date that names a period (a year, a month, a day): < and >= compare with its
    start, <= and > with its end, so date<=1945 holds for 1945-06-01 and date>1945-05 does not."""
    start = literal(value, String)
    within = stored.startswith(value)
    return {"<": stored < start, ">=": stored >= start,
            "<=": or_(stored <= start, within), ">": and_(stored > start, not_(within))}[op]


def _equals_any(field: MetaField, values: Sequence[str]) -> ColumnElement[bool]:
    """The field equals one of `values`, each compared by its own kind (conditions.term_kind: number, true/false,
    null, glob, a date, text; text in JSON's quotes is the text it spells). Plain numbers and texts go in one IN list
    each: SQLite refuses an OR of some 1,000 terms as too deep."""
    kinds = {v: term_kind(v) for v in values}
    numbers = [v for v in values if kinds[v] == "number"]
    dates = [v for v in values if kinds[v] == "date"]
    globs = [v for v in values if kinds[v] == "glob"]
    texts = [term_text(v) for v in values if kinds[v] == "text"] + dates
    options = [field.holds(v) for v in sorted({v for v in values if kinds[v] in ("boolean", "null")})]
    if globs:
        options.append(_glob_any(field.text(), globs, field.dialect))
    if numbers:
        options.append(field.number().in_([field.number_literal(v) for v in numbers]))
    if texts:
        options.append(field.text().in_([nfc(v) for v in texts]))
    # A date names a period (date=1945-06 holds for every day of June), and so does a bare year (date=1945 holds for
    # 1945-06-01): one match of the periods' starts, as one IN list holds the plain values, where an OR of one
    # term a period had been too deep for SQLite at some 1,000 (a database failure, not a usage error).
    periods = [v + "-*" for v in numbers if _YEAR.match(v)] + [v + "*" for v in dates]
    if periods:
        options.append(_glob_any(field.date(), periods, field.dialect))
    return or_(*options)


def describe(conditions: Sequence[Condition]) -> str:
    """The conditions as one readable phrase, for messages ("where year>=1900 and party=Democratic")."""
    return "where " + " and ".join(str(c) for c in conditions) if conditions else ""


def unmet(conditions: Sequence[Condition], fields: Sequence[str], nested: Sequence[str] = ()) -> str:
    """Why no indexed document meets `conditions`, given every metadata field name documents have (`fields`) and those
    some document holds as a list or an object (`nested`, MetaStore.nested_fields): the fields named that no document
    has, and the ones there are (a misspelt `yaer>=1900` said only that no document met it); else that none meets them
    all, and which of them hold lists or objects, which no condition reads (`tags=x` for ["x", "y"])."""
    named = [c.field for c in conditions if c.field not in BUILTIN_FIELDS]
    missing = list(dict.fromkeys(f for f in named if meta_name(f) not in fields))
    if not missing:
        lists = list(dict.fromkeys(f for f in named if meta_name(f) in nested))
        if lists:
            return (f"no indexed document meets it; {', '.join(repr(f) for f in lists)} "
                    f"hold{'s' if len(lists) == 1 else ''} lists or objects, which conditions do not read")
        return "no indexed document meets it"
    return (f"no indexed document has the field{'s' if len(missing) > 1 else ''} {', '.join(repr(f) for f in missing)}; "
            + known_fields(fields))


FIELDS_SHOWN = 20
"""Metadata fields a message names at most: a JSONL corpus whose records each have fields of their own made a line of
36 kB out of 3,000 of them."""


def known_fields(fields: Sequence[str]) -> str:
    """The metadata fields there are (keys, sorted), as a condition names them, for a message about one that is not
    there: the fields `path` and `meta.x` are listed as meta.path and meta.meta.x, which reach them (listed bare, they
    named the document's path, and the very name the message had just called missing). At most FIELDS_SHOWN."""
    if not fields:
        return "no document has metadata fields: JSONL fields and metadata.csv sidecars give them"
    named = ", ".join(sorted(field_as_written(f) for f in fields)[:FIELDS_SHOWN])
    if len(fields) > FIELDS_SHOWN:
        return (f"documents have {len(fields):,} fields, among them {named} "
                "(`sensesearch documents --json` shows each document's)")
    return f"documents have the field{'s' if len(fields) > 1 else ''} {named}"


def describe_scope(documents: Sequence[str] | None, conditions: Sequence[Condition], unmet: str = "") -> str:
    """What a search was kept to, for a "has no usage ..." message: " in the chosen documents where year>=1900",
    with why no document meets the conditions in brackets when `unmet` says (see `unmet`); "" for the whole
    index."""
    return ((" in the chosen documents" if documents else "") + (" " + describe(conditions) if conditions else "")
            + (f" ({unmet})" if unmet and conditions else ""))
