"""Subcorpora by metadata: parse `--where` conditions and turn them into SQL over the documents table.

A condition is FIELD OP VALUE, e.g. `year>=1900`, `party=Democratic`, `path=corpora/state_union/19*`.
FIELD is `path` (the file a document came from), `document` (its label) or a metadata field
(JSONL fields, sidecar columns; `meta.NAME` reaches a field called path or document). OP is one
of = != < <= > >=. The VALUE decides the comparison: a number compares numerically (with numbers
stored as JSON numbers or as numeric strings), an ISO date (1945, 1945-01, 1945-01-21, with time)
compares as a date string, `true`/`false` match JSON booleans, anything else compares as text
(exactly, case-sensitively); with = and != a value holding * ? or [..] is a glob and
`a|b|c` means any of them. Documents lacking the field match no condition on it (not even !=).
Several conditions all have to hold.

Conditions become one boolean clause over the documents table, evaluated by the database: the
search joins occurrences to their documents, so nothing is filtered in Python. The JSON access
is the one dialect-specific part (SQLite's json_extract/json_type, PostgreSQL's ->> and ~).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, String, Table, and_, case, cast, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from .errors import QueryError
from .normalize import clean_text

OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")
BUILTIN_FIELDS = ("path", "document")
_CONDITION = re.compile(r"^\s*([^=!<>]+?)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.DOTALL)
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?$")
_GLOB_CHARS = re.compile(r"[*?\[]")
_PG_NUMBER = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


@dataclass(frozen=True)
class Condition:
    """One parsed `--where` condition: FIELD OP VALUE, as the user wrote them (OP normalised: == is =)."""

    field: str
    op: str
    value: str

    @property
    def kind(self) -> str:
        """How VALUE compares: number, date, boolean, glob or text."""
        if _NUMBER.match(self.value):
            return "number"
        if _DATE.match(self.value):
            return "date"
        if self.value in ("true", "false"):
            return "boolean"
        if self.op in ("=", "!=") and _GLOB_CHARS.search(self.value):
            return "glob"
        return "text"

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value}"


def parse_condition(text: str) -> Condition:
    """Parse FIELD OP VALUE; QueryError with an example when it is not one. Read as indexed metadata is
    (normalize.clean_text), so a value holding a NUL matches the stored one."""
    found = _CONDITION.match(clean_text(text))
    if not found or not found.group(1).strip():
        raise QueryError(f"cannot read the condition {text!r}: write FIELD OP VALUE with OP one of "
                         f"{' '.join(OPERATORS[1:])}, e.g. year>=1900 or path=corpora/state_union/19*")
    field, op, value = found.group(1).strip(), found.group(2), found.group(3)
    op = "=" if op == "==" else op
    if value == "":
        raise QueryError(f"the condition {text!r} has no value after {op}")
    condition = Condition(field, op, value)
    if op not in ("=", "!=") and condition.kind not in ("number", "date", "text"):
        raise QueryError(f"{text!r}: {op} compares numbers, dates or text, not {condition.kind} values")
    if field in BUILTIN_FIELDS and op not in ("=", "!="):
        raise QueryError(f"{text!r}: {field} takes = or != (with * ? globs), not {op}")
    return condition


def parse_conditions(texts: Sequence[str] | None) -> tuple[Condition, ...]:
    """Every condition of a repeated `--where` option (already parsed ones pass through)."""
    return tuple(t if isinstance(t, Condition) else parse_condition(t) for t in texts or ())


def document_clause(conditions: Sequence[Condition], documents: Table, dialect: str) -> ColumnElement[bool]:
    """One SQL boolean over `documents` (the store's table) that holds where every condition holds."""
    return and_(true(), *(_clause(c, documents, dialect) for c in conditions))


def glob_to_regex(pattern: str) -> str:
    """An anchored POSIX regular expression matching what the shell-style glob `pattern` matches."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and pattern.find("]", i + 2) != -1:
            # As in the shell, a "]" right after "[" (or "[!") belongs to the class.
            close = pattern.find("]", i + 3 if pattern[i + 1:i + 2] == "!" else i + 2)
            if close == -1:
                out.append(re.escape(ch))
                i += 1
                continue
            body = pattern[i + 1:close]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out) + "$"


def _clause(condition: Condition, documents: Table, dialect: str) -> ColumnElement[bool]:
    field, op = condition.field, condition.op
    if field == "path":
        matched = _path_match(condition.value, documents, dialect)
    elif field == "document":
        matched = or_(*(_text_match(documents.c.label, v, dialect) for v in condition.value.split("|")))
    else:
        name = field[len("meta."):] if field.startswith("meta.") and len(field) > 5 else field
        return _meta_clause(condition, name, documents, dialect)
    return not_(matched) if op == "!=" else matched


def _path_match(value: str, documents: Table, dialect: str) -> ColumnElement[bool]:
    """A path as it was given when indexing, or the tail of it or of the absolute path the index keeps (key)."""
    alternatives = []
    for pattern in value.split("|"):
        pattern = pattern.removeprefix("./")
        # A JSONL record's key is the file's absolute path + "#" + its id.
        tails = [pattern] if pattern.startswith("/") else [pattern, "*/" + pattern]
        options = [_text_match(documents.c.path, pattern, dialect)]
        for tail in tails:
            options += [_text_match(documents.c.path, tail, dialect, force_glob=True),
                        _text_match(documents.c.key, tail, dialect, force_glob=True),
                        _text_match(documents.c.key, tail + "#*", dialect, force_glob=True)]
        alternatives.append(or_(*options))
    return or_(*alternatives)


def _text_match(column: ColumnElement[str], value: str, dialect: str, force_glob: bool = False) -> ColumnElement[bool]:
    if not (force_glob or _GLOB_CHARS.search(value)):
        return column == value
    if dialect == "sqlite":
        return column.op("GLOB")(value)
    return column.regexp_match(glob_to_regex(value))


def _meta_clause(condition: Condition, name: str, documents: Table, dialect: str) -> ColumnElement[bool]:
    kind, op = condition.kind, condition.op
    values = condition.value.split("|") if op in ("=", "!=") else [condition.value]
    if kind == "boolean":
        matched = _json_boolean(documents, name, condition.value == "true", dialect)
        return _negate_present(matched, documents, name, dialect) if op == "!=" else matched
    if op in ("=", "!="):
        matched = or_(*(_equals(documents, name, v, dialect) for v in values))
        return _negate_present(matched, documents, name, dialect) if op == "!=" else matched
    if kind == "number":
        left: ColumnElement = _json_number(documents, name, dialect)
        right: ColumnElement = literal(float(condition.value), Float)
    else:
        left, right = _json_text(documents, name, dialect), literal(condition.value, String)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _equals(documents: Table, name: str, value: str, dialect: str) -> ColumnElement[bool]:
    if _NUMBER.match(value):
        return _json_number(documents, name, dialect) == float(value)
    if _GLOB_CHARS.search(value):
        return _text_match(_json_text(documents, name, dialect), value, dialect)
    return _json_text(documents, name, dialect) == value


def _negate_present(matched: ColumnElement[bool], documents: Table, name: str, dialect: str) -> ColumnElement[bool]:
    """NOT matched, among documents that have the field (a missing field matches no condition)."""
    return and_(_json_present(documents, name, dialect), not_(func.coalesce(matched, false())))


def _sqlite_field(function: str, meta: ColumnElement[Any], name: str) -> ColumnElement[Any]:
    """SQLite's json_type or json_extract of the field `name`, for a key of any spelling.

    The metadata is stored as json.dumps spells it, a non-ASCII key with \\u escapes (é as \\u00e9), and
    SQLite before 3.45 matches a path's key against the key as spelt, not as meant: `année` found nothing.
    Such a key is looked up both ways. No path of those versions can name a key holding a double quote
    (the path's key ends at the next one, escaped or not), so such a key is found by json_each, which
    gives every key decoded: slower, as it walks the whole object, and needed only there.
    """
    if '"' in name:
        member = func.json_each(meta).table_valued("key", "value", "type")
        column = member.c.type if function == "json_type" else member.c.value
        return select(column).where(member.c.key == name).limit(1).scalar_subquery()
    spelt = "$." + json.dumps(name)
    meant = '$."' + name.replace("\\", "\\\\") + '"'
    call = getattr(func, function)
    return call(meta, spelt) if spelt == meant else func.coalesce(call(meta, spelt), call(meta, meant))


def _json_text(documents: Table, name: str, dialect: str) -> ColumnElement[str]:
    """The field as text (strings only on SQLite: a number never equals a word)."""
    if dialect == "sqlite":
        return case((_sqlite_field("json_type", documents.c.meta, name) == "text",
                     _sqlite_field("json_extract", documents.c.meta, name)), else_=None)
    return documents.c.meta[name].as_string()


def _json_number(documents: Table, name: str, dialect: str) -> ColumnElement[float]:
    """The field as a number: JSON numbers, and strings that spell one; NULL otherwise."""
    if dialect == "sqlite":
        kind = _sqlite_field("json_type", documents.c.meta, name)
        raw = _sqlite_field("json_extract", documents.c.meta, name)
        spelt = func.ltrim(func.trim(raw), "+-")
        return case((kind.in_(("integer", "real")), raw),
                    (and_(kind == "text", spelt != "", spelt.op("GLOB")("*[0-9]*"),
                          not_(spelt.op("GLOB")("*[^0-9.eE]*"))), cast(func.trim(raw), Float)),
                    else_=None)
    raw_text = documents.c.meta[name].as_string()
    return case((raw_text.regexp_match(_PG_NUMBER), cast(raw_text, Float)), else_=None)


def _json_boolean(documents: Table, name: str, value: bool, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return _sqlite_field("json_type", documents.c.meta, name) == ("true" if value else "false")
    return documents.c.meta[name].as_string() == ("true" if value else "false")


def _json_present(documents: Table, name: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return _sqlite_field("json_type", documents.c.meta, name).is_not(None)
    return documents.c.meta[name].as_string().is_not(None)


def describe(conditions: Sequence[Condition]) -> str:
    """The conditions as one readable phrase, for messages ("where year>=1900 and party=Democratic")."""
    return "where " + " and ".join(str(c) for c in conditions) if conditions else ""
