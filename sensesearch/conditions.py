"""Read `--where` conditions: FIELD OP VALUE texts into Condition records, and metadata keys to and from the names
conditions give them (filters.py turns conditions into SQL over the documents table).

A condition is FIELD OP VALUE, e.g. `year>=1900`, `party=Democratic`, `path=corpora/state_union/19*`. FIELD is `path`
(the file a document came from), `document` (its label) or a metadata field (JSONL fields, sidecar columns; `meta.NAME`
reaches a field called path or document). OP is one of = != < <= > >=. The VALUE decides the comparison: a number
compares numerically (with numbers stored as JSON numbers or as numeric strings), an ISO date (1945, 1945-01,
1945-01-21, with time) compares as a date string, naming a period (< and >= compare with its start, <= and > with its
end; a bare year is a number and a date both, so date>=1945 and year>=1945 alike work), `true`/`false` match JSON
booleans and `null` JSON null, anything else compares as text (exactly, case-sensitively, NFC); with = and != a value
holding * ? or [..] is a glob and `a|b|c` means any of them, each compared by its own kind (term_kind). A value (or
alternative) written as a JSON string is exactly the text it spells, never a number, date, glob or alternatives:
`title="War, and peace"`, `k="5"`, `k="a|b"`, `k=" x"`. The stored value's JSON type decides what it can match: text,
dates and globs match strings, numbers match JSON numbers and strings that spell one, true/false match JSON booleans,
null JSON null. Text (paths and labels too) compares in Unicode NFC on both sides, as canonically equivalent
spellings are one text (UAX #15): a value typed "Émile" matches one stored decomposed, as macOS file names and many
exported files are, the way `-d` names a document. Documents lacking the field match no condition on it (not even
!=); a JSON null is a value, which != matches. Several conditions all have to hold.

One text may hold several conditions parted by `;` (`year>=1900; party=Democratic`), read so on every surface (the CLI's
--where, the API's `where`, the HTTP API and the page's where box): split_conditions is the one reader, and `\\;` is a
semicolon inside a condition (`title=War\\; and peace`). A field no bare name can write (empty, white space at an end,
holding = ! < > ; or a line break, starting with a double quote) is written as a JSON string, `"first name "=Ann`: a
quoted field is always that metadata key, exactly.

Listings write keys and values so (field_as_written, value_as_written), and a spelling they print, `FIELD=VALUE`, read
back by this parser keeps the documents holding that value: one mechanism, the parser's own reading, decides where a
listing quotes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .arguments import one_or_many
from .errors import QueryError, UsageError
from .globs import GLOB_CHARS, split_alternatives
from .jsonsafe import dumps
from .normalize import clean_text, nfc
from .visible import hidden_character, hidden_escaped

OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")
BUILTIN_FIELDS = ("path", "document")
_CONDITION = re.compile(r"^\s*([^=!<>]+?)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$", re.DOTALL)
NUMBER = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,4})?$")
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?$")
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
        for term in self.terms:
            term_kind(term, self.op in ("=", "!="))  # a quoted one that is no JSON string is refused here
        if self.op not in ("=", "!=") and self.kind not in ("number", "date", "text"):
            raise QueryError(f"{str(self)!r}: {self.op} compares numbers, dates or text, not {self.kind} values")
        if self.field in BUILTIN_FIELDS and self.op not in ("=", "!="):
            raise QueryError(f"{str(self)!r}: {self.field} takes = or != (with * ? globs), not {self.op}")

    @property
    def terms(self) -> list[str]:
        """The values VALUE names: with = and != each of its `a|b|c` alternatives (globs.split_alternatives), else
        VALUE alone."""
        return split_alternatives(self.value) if self.op in ("=", "!=") else [self.value]

    @property
    def kind(self) -> str:
        """How VALUE compares (term_kind): number, date, boolean, null, glob or text; "alternatives" for several
        (`a|b`), each of which compares by its own kind."""
        terms = self.terms
        return term_kind(terms[0], self.op in ("=", "!=")) if len(terms) == 1 else "alternatives"

    def __str__(self) -> str:
        """As typed, so that it reads back as this one condition: a `;` in it escaped as `\\;`."""
        return f"{self.field}{self.op}{self.value}".replace(SEPARATOR, "\\" + SEPARATOR)


def term_kind(term: str, globs: bool = True) -> str:
    """How one value of a condition compares (one alternative of = and !=, or the value of < <= > >=): text when
    written as a JSON string (`"War, and peace"`: exactly the text it spells, term_text), else number, an ISO date,
    boolean (true, false), null (JSON null), glob (with `globs`, holding * ? or [) or text. QueryError for a value
    that starts with a double quote but is not one whole JSON string."""
    if term.startswith('"'):
        term_text(term)
        return "text"
    if NUMBER.match(term):
        return "number"
    if DATE.match(term):
        return "date"
    if term in ("true", "false"):
        return "boolean"
    if term == "null":
        return "null"
    if globs and GLOB_CHARS.search(term):
        return "glob"
    return "text"


def term_text(term: str) -> str:
    """The text a value compares as: one written as a JSON string is the text it spells, read as indexed metadata is
    (clean_text: a \\u0000 typed is the U+FFFD stored), so that listings can write any value so (value_as_written);
    any other as it is. QueryError for a value that starts with a double quote but is not one whole JSON string."""
    if not term.startswith('"'):
        return term
    text, end = _json_string(term, 0, term)
    if end != len(term):
        raise QueryError(f"cannot read the value {term!r}: a value starting with a double quote is a JSON string, "
                         'e.g. "War, and peace" (\\" for a double quote inside it, "a"|"b" for either)')
    return clean_text(text)


def _json_string(text: str, start: int, given: str) -> tuple[str, int]:
    """The JSON string that starts at `start` of `text` and where it ends; QueryError naming `given` when there is
    none."""
    try:
        found, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        found, end = None, start
    if not isinstance(found, str):
        raise QueryError(f"cannot read the quoted text in {given!r}: write it as a JSON string, e.g. "
                         '"first name "=Ann or title="War, and peace" (\\" for a double quote inside it)')
    return found, end


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
    if value[0] in "=<>!" and (NUMBER.match(after) or DATE.match(after) or (not after and op not in ("=", "!="))):
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
    end = _json_string(text, start, given)[1]
    found = _QUOTED_FIELD.match(text, end)
    if not found:
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


def value_as_written(value: Any) -> str:
    """How listings (`documents`, `--by` bins) spell a metadata value, so that `FIELD=` and the spelling pasted as a
    condition keeps the documents holding it: text bare where a condition reads it back as that text or as the number
    or date it spells (_reads_back) and a reader can take it so, else everything as JSON spells it (null, true, 1.5,
    "a|b", "[draft]"), which
    term_kind and term_text read back as that value (a number matching numbers and numeric strings, as any number
    does; lists and objects are shown, though no condition reads them), with `;` written `\\;` as split_conditions
    reads it and a character a reader cannot see (visible.hidden_character: a line break, a tab, a zero-width space,
    NBSP, a bidi control) as its \\u escape (visible.hidden_escaped). A comma is quoted too, as it parts a
    document's fields ("War, and peace" had read as a field "and peace" with no value). Spelled so but read as
    plain text, "War, and peace", " x", "a|b" and "[draft]" had kept no document or other ones, and
    "War; and peace" had been refused as two conditions."""
    if isinstance(value, str) and "," not in value and hidden_character(value) is None and _reads_back(value):
        return value
    return hidden_escaped(dumps(value)).replace(SEPARATOR, "\\" + SEPARATOR)


def _reads_back(text: str) -> bool:
    """Whether `FIELD=text` is, to the condition parser, one condition that keeps the text `text`: on that very text,
    or on the number or date it spells (`year=1990` keeps the text "1990" and the number 1990, `date=1945-01-20` the
    text "1945-01-20" and the times of that day, as a condition on them means), not on a glob, alternatives or JSON
    string, nor on `text` stripped, cut at a `;` or read as an operator. Dates and years, most often text in JSON,
    had been listed and charted in quotes (`"1945-01-20"` on a timeline's axis)."""
    try:
        read = parse_conditions("k=" + text)
    except QueryError:
        return False
    return read == (Condition("k", "=", text),) and read[0].kind in ("text", "number", "date") \
        and term_text(text) == text


def field_as_written(key: str) -> str:
    """How a condition or --by names the metadata key `key`: a JSON string where a bare name cannot write it (empty,
    white space at an end, = ! < > ; or a character that does not print in it, a leading double quote) or where a
    list of keys would read it as two (a comma: "a, b" listed bare among "a, b, year"), its `;` escaped as
    split_conditions reads it; `meta.KEY` where the key alone would read the document's path or label, or lose its
    own `meta.` (meta_name); else the key. Such keys had been listed bare among the fields there are, in a form no
    condition could name."""
    if (not key or key != key.strip() or key.startswith('"') or hidden_character(key) is not None
            or any(mark in key for mark in "=!<>," + SEPARATOR)):
        return hidden_escaped(json.dumps(key, ensure_ascii=False)).replace(SEPARATOR, "\\" + SEPARATOR)
    return f"meta.{key}" if key in BUILTIN_FIELDS or key.startswith("meta.") else key
