"""Subcorpora by metadata: parse `--where` conditions and turn them into SQL over the documents table.

A condition is FIELD OP VALUE, e.g. `year>=1900`, `party=Democratic`, `path=corpora/state_union/19*`.
FIELD is `path` (the file a document came from), `document` (its label) or a metadata field
(JSONL fields, sidecar columns; `meta.NAME` reaches a field called path or document). OP is one
of = != < <= > >=. The VALUE decides the comparison: a number compares numerically (with numbers
stored as JSON numbers or as numeric strings), an ISO date (1945, 1945-01, 1945-01-21, with time)
compares as a date string, naming a period (< and >= compare with its start, <= and > with its end; a bare
year is a number and a date both, so date>=1945 and year>=1945 alike work), `true`/`false` match JSON
booleans, anything else compares as text (exactly, case-sensitively, NFC); with = and != a value holding * ? or [..] is a glob and
`a|b|c` means any of them, each compared by its own kind. The stored value's JSON type decides what it
can match: text, dates and globs match strings, numbers match JSON numbers and strings that spell one,
true/false match JSON booleans. Text (paths and labels too) compares in Unicode NFC on both sides, as canonically
equivalent spellings are one text (UAX #15): a value typed "Émile" matches one stored decomposed, as macOS file
names and many exported files are, the way `-d` names a document. Documents lacking the field match no condition on it (not even !=);
a JSON null is a value, which != matches. Several conditions all have to hold.

One text may hold several conditions parted by `;` (`year>=1900; party=Democratic`), read so on every surface (the
CLI's --where, the API's `where`, the HTTP API and the page's where box): split_conditions is the one reader, and
`\\;` is a semicolon inside a condition (`title=War\\; and peace`). A field no bare name can write (empty, white space
at an end, holding = ! < > ; or a line break, starting with a double quote) is written as a JSON string,
`"first name "=Ann`: a quoted field is always that metadata key, exactly.

Conditions become one boolean clause over the documents table, evaluated by the database: the
search joins occurrences to their documents, so nothing is filtered in Python. Reading a field
(metafield.MetaField: its JSON type and value) is the one dialect-specific part (SQLite's json_type and
json_extract, PostgreSQL's json_typeof and ->>); both take the same regular expressions (SQLite's
REGEXP is the Python function SQLAlchemy installs) and SQLite its own GLOB syntax.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Table, and_, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .arguments import one_or_many
from .errors import QueryError, UsageError
from .dbengine import nfc_column
from .globs import glob_to_regex, glob_to_sqlite, split_alternatives
from .metafield import MetaField
from .normalize import clean_text, nfc

OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")
BUILTIN_FIELDS = ("path", "document")
_CONDITION = re.compile(r"^\s*([^=!<>]+?)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.DOTALL)
_NUMBER = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,4})?$")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?$")
_YEAR = re.compile(r"^\d{4}$")
_GLOB_CHARS = re.compile(r"[*?\[]")
_QUOTED_FIELD = re.compile(r"\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.DOTALL)
SEPARATOR = ";"
_SEPARATOR_AT = re.compile(r"(?<!\\);")
"""A `;` that parts conditions: one not escaped as `\\;`."""
MAX_CONDITIONS = 200
"""Conditions one search takes at most: SQLite refused some 1,000 as an expression tree too deep, a database failure
rather than a usage error (`a|b|c` alternatives are one IN list each and have no such limit)."""


@dataclass(frozen=True)
class Condition:
    """One parsed `--where` condition: FIELD OP VALUE, as the user wrote them (OP normalised: == is =)."""

    field: str
    op: str
    value: str

    def __post_init__(self) -> None:
        # A caller may make one directly (the API takes Condition objects): Condition("year", "~", "1900") had failed
        # as a raw KeyError inside the SQL, one of int fields as AttributeError, and path<x or year> "" matched
        # nothing, silently, where the parser refuses them.
        for name in ("field", "op", "value"):
            if not isinstance(getattr(self, name), str):
                raise UsageError(f"a Condition's {name} must be text, not {getattr(self, name)!r}")
        if self.op == "==":
            object.__setattr__(self, "op", "=")
        if self.op not in OPERATORS:
            raise QueryError(f"{self.op!r} is no operator: one of {' '.join(OPERATORS[1:])}")
        if not self.field.strip():
            raise QueryError(f"the condition {str(self)!r} names no field")
        if self.value == "":
            raise QueryError(f"the condition {str(self)!r} has no value after {self.op}")
        if self.op not in ("=", "!=") and self.kind not in ("number", "date", "text"):
            raise QueryError(f"{str(self)!r}: {self.op} compares numbers, dates or text, not {self.kind} values")
        if self.field in BUILTIN_FIELDS and self.op not in ("=", "!="):
            raise QueryError(f"{str(self)!r}: {self.field} takes = or != (with * ? globs), not {self.op}")

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
        """As typed, so that it reads back as this one condition: a `;` in it escaped as `\\;`."""
        return f"{self.field}{self.op}{self.value}".replace(SEPARATOR, "\\" + SEPARATOR)


def split_conditions(text: str) -> list[str]:
    """The conditions in one text, parted at every `;` not written `\\;` (which is a semicolon inside a condition),
    each stripped, blank ones (`year>=1900;`) left out; a blank text is itself (parse_condition refuses it). The one
    reader of `;` for every surface: the CLI's --where and the API had read `year>=1900;party=Dem` as one text
    comparison of year, matching nothing or the wrong documents, while the web page split it."""
    parts = [part.replace("\\" + SEPARATOR, SEPARATOR).strip() for part in _SEPARATOR_AT.split(text)]
    return [part for part in parts if part] or [text]


def parse_condition(text: str) -> Condition:
    """Parse one FIELD OP VALUE; QueryError with an example when it is not one, or when `;` parts it into several
    (parse_conditions reads those; `\\;` is a semicolon in a value). Read as indexed metadata is
    (normalize.clean_text), so a value holding a NUL matches the stored one."""
    parts = split_conditions(text) if isinstance(text, str) else [text]
    if len(parts) > 1:
        raise QueryError(f"{text!r} holds {len(parts)} conditions parted by ';': give them as a list (or to "
                         "parse_conditions), or write \\; for a semicolon inside a value or a quoted field")
    return _parse_one(parts[0])


def _parse_one(text: str) -> Condition:
    """One condition, its `\\;` already read as `;` (split_conditions)."""
    if not isinstance(text, str):
        raise UsageError(f"a where condition must be text such as 'year>=1900', not {text!r}")
    cleaned = clean_text(text)
    if cleaned.lstrip().startswith('"'):
        parsed = _quoted_field(cleaned, text)
    else:
        found = _CONDITION.match(cleaned)
        parsed = (found.group(1).strip(), found.group(2), found.group(3)) if found else None
    if parsed is None or not parsed[0]:
        raise QueryError(f"cannot read the condition {text!r}: write FIELD OP VALUE with OP one of "
                         f"{' '.join(OPERATORS[1:])}, e.g. year>=1900 or path=corpora/state_union/19*")
    field, op, value = parsed
    op = "=" if op == "==" else op
    if value == "":
        raise QueryError(f"the condition {text!r} has no value after {op}")
    after = value.lstrip("=<>!")
    if value[0] in "=<>!" and (_NUMBER.match(after) or _DATE.match(after) or (not after and op not in ("=", "!="))):
        # year>>5, year=>5, year<>5, year>>: a second operator read as the value matched nothing, silently.
        # Text values may start so (tag=!urgent, title=<untitled>, mark=!); a number or a date after the marks, or
        # nothing after a comparison's, is a typo.
        raise QueryError(f"cannot read the condition {text!r}: one operator, one of {' '.join(OPERATORS[1:])}, "
                         "between FIELD and a number or date")
    return Condition(field, op, value)  # which checks what an operator takes


def _quoted_field(text: str, given: str) -> tuple[str, str, str] | None:
    """`"KEY" OP VALUE`, KEY a JSON string: how a condition names a metadata key no bare field can write (empty, white
    space at an end, = ! < > in it), as field (the quoted text, which meta_name reads back), operator and value; None
    when no operator follows. QueryError naming the quoting when the string does not end."""
    start = len(text) - len(text.lstrip())
    try:
        key, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        raise QueryError(f"cannot read the quoted field in {given!r}: write it as a JSON string, e.g. "
                         '"first name "=Ann (\\" for a double quote inside it)') from None
    found = _QUOTED_FIELD.match(text, end)
    if not isinstance(key, str) or not found:
        return None
    return text[start:end], found.group(1), found.group(2)


def parse_conditions(texts: str | Condition | Sequence[str | Condition] | None) -> tuple[Condition, ...]:
    """Every condition of a repeated `--where` option (already parsed ones pass through), each text read by
    split_conditions (`year>=1900; party=Dem` is two); one condition alone is a list of one (arguments.one_or_many:
    never its characters). UsageError for an item that is neither; QueryError for a part that is no condition
    (saying how `;` parts them when it did), or for more than MAX_CONDITIONS conditions in all."""
    conditions = []
    for item in one_or_many(texts, "where", Condition) or ():
        if not isinstance(item, (str, Condition)):
            raise UsageError(f"each where condition must be text such as 'year>=1900', not {item!r}")
        if isinstance(item, Condition):
            conditions.append(item)
            continue
        parts = split_conditions(item)
        for part in parts:
            try:
                conditions.append(_parse_one(part))
            except QueryError as exc:
                if len(parts) == 1:
                    raise
                raise QueryError(f"{exc} (in {item!r}, where ';' parts conditions: write \\; for a semicolon "
                                 "inside a value or a quoted field)") from None
    if len(conditions) > MAX_CONDITIONS:
        raise QueryError(f"at most {MAX_CONDITIONS} where conditions, not {len(conditions):,}: "
                         "a|b|c names alternatives in one")
    return tuple(conditions)


def document_clause(conditions: Sequence[Condition], documents: Table, dialect: str) -> ColumnElement[bool]:
    """One SQL boolean over `documents` (the store's table) that holds where every condition holds."""
    return and_(true(), *(_clause(c, documents, dialect) for c in conditions))


def _clause(condition: Condition, documents: Table, dialect: str) -> ColumnElement[bool]:
    field, op = condition.field, condition.op
    if field == "path":
        matched = _path_match(condition.value, documents, dialect)
    elif field == "document":
        values = split_alternatives(condition.value)
        globs = [v for v in values if _GLOB_CHARS.search(v)]
        plain = [v for v in values if v not in globs]
        label = nfc_column(documents.c.label, dialect)
        matched = or_(*([label.in_([nfc(v) for v in plain])] if plain else []),
                      *([_glob_any(label, globs, dialect)] if globs else []))
    else:
        return _meta_clause(condition, MetaField.of(documents.c.meta, meta_name(field), dialect))
    return not_(matched) if op == "!=" else matched


def meta_name(field: str) -> str:
    """The metadata key a field name reads: `meta.NAME` is NAME (so a field called path or document can be named),
    a JSON string ("a=b") exactly the key it spells, in NFC as corpus.py stores keys."""
    if field.startswith('"'):
        try:
            key = json.loads(field)
        except ValueError:
            key = None
        if isinstance(key, str):
            return nfc(clean_text(key))  # a \u0000 typed is the U+FFFD the key was stored with
    return nfc(field[len("meta."):] if field.startswith("meta.") and len(field) > 5 else field)


def _path_match(value: str, documents: Table, dialect: str) -> ColumnElement[bool]:
    """A path as it was given when indexing, or the tail of it or of the absolute path the index keeps (key). Every
    alternative's globs go in one match per column (_glob_any): an OR of seven terms an alternative had been too deep
    for SQLite at some 150 alternatives, failing as a broken database."""
    tails = []
    for pattern in split_alternatives(value):
        pattern = pattern.removeprefix("./")
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
        matched = _equals_any(field, split_alternatives(value))
        return and_(field.present(), not_(func.coalesce(matched, false()))) if op == "!=" else matched
    if condition.kind == "number":
        left, right = field.number(), field.number_literal(value)
        numeric = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        # A bare year (1945) is a number and an ISO date both: year>=1945 and date>=1945 alike.
        return or_(numeric, _period_compare(field.date(), op, value)) if _YEAR.match(value) else numeric
    if condition.kind == "date":
        return _period_compare(field.period(), op, value)
    left, right = field.text(), literal(nfc(value), String)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _period_compare(stored: ColumnElement[Any], op: str, value: str) -> ColumnElement[bool]:
    """ISO date strings against a date that names a period (a year, a month, a day): < and >= compare with its
    start, <= and > with its end, so date<=1945 holds for 1945-06-01 and date>1945-05 does not."""
    start = literal(value, String)
    within = stored.startswith(value)
    return {"<": stored < start, ">=": stored >= start,
            "<=": or_(stored <= start, within), ">": and_(stored > start, not_(within))}[op]


def _equals_any(field: MetaField, values: Sequence[str]) -> ColumnElement[bool]:
    """The field equals one of `values`, each compared by its own kind (number, true/false, glob, text). Plain
    numbers and texts go in one IN list each: SQLite refuses an OR of some 1,000 terms as too deep."""
    numbers = [v for v in values if _NUMBER.match(v)]
    booleans = sorted({v for v in values if v in ("true", "false")})
    globs = [v for v in values if v not in numbers and v not in booleans and _GLOB_CHARS.search(v)]
    texts = [v for v in values if v not in numbers and v not in booleans and v not in globs]
    options = [field.holds(v) for v in booleans]
    if globs:
        options.append(_glob_any(field.text(), globs, field.dialect))
    if numbers:
        options.append(field.number().in_([field.number_literal(v) for v in numbers]))
    if texts:
        options.append(field.text().in_([nfc(v) for v in texts]))
    # A date names a period (date=1945-06 holds for every day of June), and so does a bare year (date=1945 holds for
    # 1945-06-01): one match of the periods' starts, as one IN list holds the plain values, where an OR of one
    # term a period had been too deep for SQLite at some 1,000 (a database failure, not a usage error).
    periods = [v + "-*" for v in numbers if _YEAR.match(v)] + [v + "*" for v in texts if _DATE.match(v)]
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


def field_as_written(key: str) -> str:
    """How a condition or --by names the metadata key `key`: a JSON string where a bare name cannot write it (empty,
    white space at an end, = ! < > ; or a character that does not print in it, a leading double quote) or where a
    list of keys would read it as two (a comma: "a, b" listed bare among "a, b, year"), its `;` escaped as
    split_conditions reads it; `meta.KEY` where the key alone would read the document's path or label, or lose its
    own `meta.` (meta_name); else the key. Such keys had been listed bare among the fields there are, in a form no
    condition could name."""
    if (not key or key != key.strip() or key.startswith('"') or not key.isprintable()
            or any(mark in key for mark in "=!<>," + SEPARATOR)):
        return json.dumps(key, ensure_ascii=False).replace(SEPARATOR, "\\" + SEPARATOR)
    return f"meta.{key}" if key in BUILTIN_FIELDS or key.startswith("meta.") else key


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
