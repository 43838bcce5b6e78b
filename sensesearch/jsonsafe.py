"""JSON in and out without surprises: bounded records on the way in, strict JSON on the way out.

Python's `json` accepts `NaN` and `Infinity` (not JSON), reads 1e400 as inf and 1e-400 as 0, raises
RecursionError on deeply nested input, and writes `NaN` back out. A corpus record that gets past the
reader is stored and shown by every `--json` output and API answer, so hostile records are refused
here, when they are read (a number no float holds among them: storing null or 0 for it would change
the value without a word), and every JSON writer goes through `dumps`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError

MAX_DEPTH = 32
"""Nesting levels a corpus record may have (the record itself is level 1)."""
MAX_META_BYTES = 64 * 1024
"""UTF-8 bytes a record's fields other than "text" may take, written as compact JSON."""


@dataclass(frozen=True)
class _Unheld:
    """A number of a record that no float holds, as written (`NaN`, `1e400`), and why: check_metadata names its
    field."""

    written: str
    why: str = "not a JSON number"


_MANTISSA_DIGITS = re.compile(r"[1-9]")


def held_float(written: str) -> float | None:
    """The float a decimal number spells (JSON's, a CSV cell's), or None where no float holds it: past the float
    range (1e400 reads as inf) or a number other than 0 below it (1e-400 reads as 0.0). Stored so, the one had become
    null and the other 0, with no word of it."""
    value = float(written)
    if math.isinf(value) or (value == 0.0 and _MANTISSA_DIGITS.search(re.split("[eE]", written)[0])):
        return None
    return value


def _real_number(written: str) -> float | _Unheld:
    value = held_float(written)
    if value is not None:
        return value
    past = math.isinf(float(written))
    return _Unheld(written, f"{'past' if past else 'below'} the range of a float (it reads as "
                            f"{'infinity' if past else '0'})")


def load_record(line: str) -> Any:
    """Parse one JSON Lines record, bounded in depth and in the size of its non-"text" fields.

    Raises InputError with the reason when the line is not valid JSON, is nested deeper than MAX_DEPTH, carries more
    than MAX_META_BYTES besides "text", or a number no float holds: `NaN`, `Infinity` and `-Infinity` (Python
    extensions, not JSON; they had become null, as JavaScript's JSON.stringify writes them), 1e400 or 1e-400 (see
    held_float). Such a record is refused, as one with a whole number past what Python reads, naming the field and
    the number as written: null or a string in its place is the file's author's choice, not the reader's.
    """
    try:
        record = json.loads(line, parse_constant=_Unheld, parse_float=_real_number, parse_int=_whole_number)
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise InputError(f"not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if depth(record, stop_after=MAX_DEPTH) > MAX_DEPTH:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(record, dict):
        check_metadata({key: value for key, value in record.items() if key != "text"}, 'fields other than "text"')
    return record


def _whole_number(digits: str) -> int:
    """A JSON integer as Python reads it; InputError for one of more digits than Python converts (4,300,
    sys.get_int_max_str_digits), which had been refused as "not valid JSON" although it is."""
    try:
        return int(digits)
    except ValueError:
        raise InputError(f"a number of {len(digits.lstrip('-')):,} digits, more than the "
                         f"{sys.get_int_max_str_digits():,} read (write it as a string)") from None


def check_metadata(meta: Any, what: str = "metadata") -> None:
    """Raise InputError if `meta` nests deeper than MAX_DEPTH, holds what JSON cannot (a date, a set: once `plain`;
    a number no float holds, see _check_numbers) or takes more than MAX_META_BYTES as JSON.

    Every Document's metadata passes here, whether read from JSONL or built by a caller of the API; a value JSON
    cannot hold failed later, inside `add`, with a TypeError.
    """
    if depth(meta, stop_after=MAX_DEPTH) > MAX_DEPTH:
        raise InputError(f"{what} nested deeper than {MAX_DEPTH} levels")
    _check_numbers(meta)
    try:
        text = json.dumps(plain(meta), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} cannot be written as JSON: {exc}") from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_META_BYTES:
        raise InputError(f"{what} take{'s' if what == 'metadata' else ''} {size:,} bytes, "
                         f"more than the {MAX_META_BYTES:,} allowed")


def _check_numbers(meta: Any) -> None:
    """InputError naming the first field (and how many more) that holds a number JSON has none for: NaN or an
    infinity (a float of the API's caller, numpy's too) or a record's number that no float holds (_Unheld). `plain`
    had made each of them null, so a document was stored with a value its source never gave, without a word."""
    found: list[tuple[str, str, str]] = []
    pending: list[tuple[Any, str]] = [(meta, "")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, (np.ndarray, np.generic)):
            node = node.tolist()
        if isinstance(node, dict):
            pending.extend(reversed([(item, where + (f"[{_name(key)}]" if where else _name(key)))
                                     for key, item in node.items()]))
        elif isinstance(node, (list, tuple)):
            pending.extend(reversed([(item, f"{where}[{i}]") for i, item in enumerate(node)]))
        elif isinstance(node, _Unheld):
            found.append((where, node.written, node.why))
        elif isinstance(node, float) and not math.isfinite(node):
            found.append((where, repr(node), "not a JSON number"))
    if found:
        where, written, why = found[0]
        more = f" (and {len(found) - 1:,} more)" if len(found) > 1 else ""
        raise InputError(f"field {where} holds {written}, {why}{more}: write null for no value, or the number as a "
                         f"string ({_name(written)})")


def _name(key: Any) -> str:
    return json.dumps(str(key), ensure_ascii=False)


def depth(value: Any, stop_after: int | None = None) -> int:
    """Nesting levels of lists and objects in `value` (a scalar is 0), without recursion.

    With `stop_after`, counting stops once that many levels are exceeded.
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, level = pending.pop()
        if not isinstance(node, (dict, list)):
            continue
        deepest = max(deepest, level)
        if stop_after is not None and deepest > stop_after:
            break
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, level + 1) for child in children)
    return deepest


def plain(value: Any) -> Any:
    """`value` with numpy numbers and arrays made plain and non-finite floats made None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def dumps(value: Any, *, indent: int | None = None, ascii_only: bool = False) -> str:
    """Strict JSON text of `value` (see `plain`); every JSON output of the CLI and the server uses this."""
    separators = None if indent is not None else (",", ":")
    return json.dumps(plain(value), ensure_ascii=ascii_only, allow_nan=False, indent=indent, separators=separators)
