"""One metadata field of a document, as both databases read it in SQL: its JSON type and its value.

Reading a field is the one dialect-specific part of `--where` (filters.py): SQLite's json_type and json_extract,
PostgreSQL's json_typeof and ->>. Both take the same regular expressions below (SQLite's REGEXP is the Python
function SQLAlchemy installs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Float, Integer, Numeric, Select, and_, case, cast, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from .dbengine import nfc_column

_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}"
"""A stored string that is an ISO date of a month or finer, as both regular expression engines read it."""
_PERIOD_TEXT = r"^[0-9]{4}(-[0-9]{2}|$)"
"""A stored string that names a period as a date condition reads it: an ISO date (of a month or finer) or a year."""
_NUMBER_TEXT = r"^[ \t\n\r\f\v]*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,4})?[ \t\n\r\f\v]*$"
"""A stored string that spells a number, as both regular expression engines read it; the white space around it
is what both databases' casts skip."""
NUMBER_TEXT_MAX = 1_000
"""Characters a stored number string may have. With exponents of at most 4 digits this keeps every one inside
PostgreSQL's numeric range (16,383 digits after the point), past which the cast failed the whole query."""


_SQLITE_TYPES = {"string": "text"}
"""JSON type names where SQLite's json_type differs from PostgreSQL's json_typeof (numbers: integer or real)."""


@dataclass(frozen=True)
class MetaField:
    """A metadata field as both databases read it: its JSON type (NULL when the document lacks the field; a JSON
    null is present) and its value (a string's text; a number as SQLite holds it, as text on PostgreSQL).

    Every comparison goes through the type first, so the dialects agree: text and dates compare strings only,
    numbers compare JSON numbers and strings that spell one, true/false compare JSON booleans only.
    """

    kind: ColumnElement[str]
    value: ColumnElement[Any]
    dialect: str

    @classmethod
    def of(cls, meta: ColumnElement[Any], name: str, dialect: str) -> MetaField:
        if dialect == "sqlite":
            return cls(_sqlite_field("json_type", meta, name), _sqlite_field("json_extract", meta, name), dialect)
        return cls(func.json_typeof(meta[name]), meta[name].as_string(), dialect)

    def holds(self, kind: str) -> ColumnElement[bool]:
        """The field holds a JSON string, number, true, false or null (`kind`), in either dialect's names for them."""
        if self.dialect == "sqlite":
            if kind == "number":
                return self.kind.in_(("integer", "real"))
            return self.kind == _SQLITE_TYPES.get(kind, kind)
        if kind in ("true", "false"):
            return and_(self.kind == "boolean", self.value == kind)
        return self.kind == kind

    def present(self) -> ColumnElement[bool]:
        return self.kind.is_not(None)

    def text(self) -> ColumnElement[str]:
        """A string's text in NFC (nfc_column); NULL for other JSON types."""
        return case((self.holds("string"), nfc_column(self.value, self.dialect)), else_=None)

    def date(self) -> ColumnElement[str]:
        """A string that starts as an ISO date with a month (1945-06...) as it is; NULL otherwise."""
        return case((and_(self.holds("string"), self.value.regexp_match(_DATE_TEXT)), self.value), else_=None)

    def period(self) -> ColumnElement[str]:
        """A string that is a year or starts as an ISO date (1945, 1945-06...) as it is; NULL otherwise, so that a
        date condition never compares "unknown" or "21/01/1945" as text (both sorted after 1945-01)."""
        return case((and_(self.holds("string"), self.value.regexp_match(_PERIOD_TEXT)), self.value), else_=None)

    def number(self) -> ColumnElement[Any]:
        """JSON numbers, and strings that spell one (_NUMBER_TEXT, white space around allowed); NULL otherwise.
        PostgreSQL compares them as numeric, which takes 1e400 (float8 refused it, failing the whole query). SQLite's
        CAST AS NUMERIC keeps a whole number an integer (a float past 2**53 is not exact: id=9007199254740993 had
        matched 9007199254740992, and 19-digit ids, a post's on most social media, are past it); SQLite compares an
        integer with a real exactly."""
        spells_one = and_(self.holds("string"), func.length(self.value) <= NUMBER_TEXT_MAX,
                          self.value.regexp_match(_NUMBER_TEXT))
        return case((or_(self.holds("number"), spells_one), cast(self.value, Numeric())), else_=None)

    def number_literal(self, value: str) -> ColumnElement[Any]:
        """A condition's number (as _NUMBER_TEXT spells it) to compare with `number()`: on SQLite an integer when it
        is a whole number a 64-bit integer holds, so that it stays exact, else a float."""
        if self.dialect != "sqlite":
            return literal(Decimal(value), Numeric)
        whole = _whole_number(value)
        return literal(whole, Integer) if whole is not None else literal(float(value), Float)


def _whole_number(value: str) -> int | None:
    """`value` as an int when it spells one without a point or exponent and fits SQLite's 64-bit integers."""
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if -(2**63) <= number < 2**63 else None


def field_names(meta: Column[Any], dialect: str) -> Select[tuple[str]]:
    """The distinct top-level keys of the JSON objects in column `meta` (SQLite's json_each, PostgreSQL's
    json_object_keys; both give keys decoded, so é is é however json.dumps escaped it)."""
    if dialect == "sqlite":
        member = func.json_each(meta).table_valued("key")
        return select(member.c.key).select_from(meta.table).join(member, true()).distinct()
    return select(func.json_object_keys(meta)).select_from(meta.table).distinct()


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
