"""JSON in and out without surprises: bounded records on the way in, strict JSON on the way out.

Python's `json` accepts `NaN` and `Infinity` (not JSON), raises RecursionError on deeply nested
input, and writes `NaN` back out. A corpus record that gets past the reader is stored and shown by
every `--json` output and API answer, so hostile records are refused here, when they are read, and
every JSON writer goes through `dumps`.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from .errors import InputError

MAX_DEPTH = 32
"""Nesting levels a corpus record may have (the record itself is level 1)."""
MAX_META_BYTES = 64 * 1024
"""UTF-8 bytes a record's fields other than "text" may take, written as compact JSON."""


def load_record(line: str) -> Any:
    """Parse one JSON Lines record, bounded in depth and in the size of its non-"text" fields.

    `NaN`, `Infinity` and `-Infinity` (Python extensions, not JSON) become null, as JavaScript's
    JSON.stringify writes them. Raises InputError with the reason when the line is not valid JSON,
    is nested deeper than MAX_DEPTH, or carries more than MAX_META_BYTES besides "text".
    """
    try:
        record = json.loads(line, parse_constant=lambda _name: None, parse_int=_whole_number)
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
    """Raise InputError if `meta` nests deeper than MAX_DEPTH, holds what JSON cannot (a date, a set: once `plain`)
    or takes more than MAX_META_BYTES as JSON.

    Every Document's metadata passes here, whether read from JSONL or built by a caller of the API; a value JSON
    cannot hold failed later, inside `add`, with a TypeError.
    """
    if depth(meta, stop_after=MAX_DEPTH) > MAX_DEPTH:
        raise InputError(f"{what} nested deeper than {MAX_DEPTH} levels")
    try:
        text = json.dumps(plain(meta), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} cannot be written as JSON: {exc}") from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_META_BYTES:
        raise InputError(f"{what} take{'s' if what == 'metadata' else ''} {size:,} bytes, "
                         f"more than the {MAX_META_BYTES:,} allowed")


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
