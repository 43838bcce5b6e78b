"""Bins of a field's values for the sense timeline (diachronic.py): one bin per text value, one per number when
there are few whole ones, else equal-width bins of a round width (or the width asked for), counted in decimal.

Empty bins between the least and greatest value are kept, so gaps in the record stay visible; a width that would
make more than MAX_BINS bins is refused with the least width that would do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from .arguments import real_number
from .conditions import value_as_written
from .errors import QueryError, UsageError
from .jsonsafe import dumps

MAX_EXACT_VALUES = 15
MAX_BINS = 1_000
"""Bins of one timeline at most: each is a row of the table and a slice of the chart, and all are made, empty or not."""
TARGET_BINS = 10


def value_label(value: Any) -> str:
    """A value's bin label as `documents` spells it (conditions.value_as_written): JSON true and the text "True" had
    shared the bin "True", though `--where flag=true` tells them apart and finds neither by that label, and so had
    true and the text "true", now labelled in double quotes. A whole number written 1.0 is the bin of 1, as
    `--where k=1` finds both (1.0 had been a bin of its own beside 1)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return dumps(int(value))
    return value_as_written(value)


def _number(value: Any) -> float | None:
    """A finite number, or None (booleans, text, and nan or inf, which no bin holds)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, (int, float)) else float(str(value))
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _decimal(number: float) -> Decimal:
    """`number` as the decimal it is written as (0.3, not the binary float just below it): in binary, 0.3 / 0.1 is
    2.9999999999999996, so a value of 0.3 fell into the bin 0.2-0.3 and a bin started at 0.30000000000000004."""
    return Decimal(repr(float(number)))


def _bin_index(number: float, width: Decimal) -> Decimal:
    """floor(number / width) in decimal: which bin of `width`, counted from the one that starts at zero, holds
    `number`. Bins are counted apart from there, never from the first bin's start: 1e308 - 44 in decimal's 28 digits
    is 1e308, so with a width of 1e308 the year -44 had fallen into the bin 0-1e308."""
    return (_decimal(number) / width).to_integral_value(ROUND_FLOOR)


_ENDLESS = 2 ** 62
"""The bin count of a width too small to count bins of."""


def _bin_count(low: float, high: float, width: float) -> int:
    """How many bins of `width` from the one holding `low` to the one holding `high` (counted, never built); past
    decimal range (a width of 1e-320 over values near 1e308) as good as endless."""
    try:
        exact = _decimal(width)
        return min(int(_bin_index(high, exact) - _bin_index(low, exact)) + 1, _ENDLESS)
    except ArithmeticError:  # decimal's overflow and invalid operations among them
        return _ENDLESS


def _round_width(span: float) -> float:
    """A 1, 2 or 5 times a power of ten giving at most about TARGET_BINS bins over `span`."""
    raw = max(span / TARGET_BINS, 1e-12) if math.isfinite(span) else 1e307  # -1e308 to 1e308 spans past floats
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _label(start: float, width: float, by: str) -> str:
    if by == "decade" and width == 10:  # another width (--bin-width 5, or widened) is a range: "1945s" named nothing
        return f"{int(start)}s"
    if width == 1 and float(start).is_integer():
        return str(int(start))
    # Whole numbers in full up to 15 digits (years, counts), else as %g: 1e308 had been spelt in 309 digits.
    spell = (lambda x: str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}")
    return f"{spell(start)}–{spell(start + width)}"


def check_bin_width(bin_width: float | None) -> float | None:
    """`bin_width` as a float, or None (choose one); UsageError unless a finite number above 0. The one check of the
    CLI's --bin-width, the HTTP API's bin_width and make_bins (nan passes a plain `<= 0` test, and no bin is
    infinitely wide)."""
    return None if bin_width is None else real_number(bin_width, "the bin width", positive=True)


def check_by_field(by: str | None) -> str | None:
    """`by` as given, or None; UsageError for a blank name. The one check of the CLI's --by and the HTTP API's `by`:
    "" had meant no field at all, silently (a report without its timeline), and " " was looked up as a field."""
    if by is not None and not by.strip():
        raise UsageError("name a field: year, decade, document, path or a metadata field")
    return by


def make_bins(values: Sequence[Any], by: str, bin_width: float | None = None
              ) -> tuple[list[tuple[str, float | None, float | None]], list[int | None], float | None]:
    """Bins for `values`: (label, start, end) each, every value's bin index (None: no value), the width used.

    A document's name or path (`by` document or path) labels its bin as listings write names, bare (the terminal
    draws a line break in one as ␊): spelled as a metadata value, "a, b.txt" and "a\nb.txt" had been labelled in
    JSON's quotes."""
    present = [v for v in values if v is not None and v != ""]
    numbers = [_number(v) for v in present]
    bin_width = check_bin_width(bin_width)
    if by in ("document", "path") or not present or any(n is None for n in numbers):
        if bin_width is not None and present:
            raise QueryError(f"{by} has values that are not numbers; a bin width applies to numeric fields only")
        label = str if by in ("document", "path") else value_label
        labelled = [None if v is None or v == "" else label(v) for v in values]
        where = {label: i for i, label in enumerate(sorted({label for label in labelled if label is not None}))}
        return ([(label, None, None) for label in where],
                [None if label is None else where[label] for label in labelled], None)
    low, high = min(numbers), max(numbers)  # type: ignore[type-var]
    distinct = sorted(set(numbers))  # type: ignore[type-var]
    if bin_width is None:
        if by == "decade":
            bin_width = 10.0
        elif by == "year" or (len(distinct) <= MAX_EXACT_VALUES and all(float(n).is_integer() for n in distinct)
                              and high - low < MAX_EXACT_VALUES):
            bin_width = 1.0
        else:
            bin_width = _round_width(high - low)
        if _bin_count(low, high, bin_width) > MAX_BINS:  # years 1 to 2024 by year, say: widen as for any field
            bin_width = _round_width(high - low)
    count = _bin_count(low, high, bin_width)
    if count > MAX_BINS:
        least = _round_width((high - low) * TARGET_BINS / (MAX_BINS - 1))
        many = f"{count:,}" if count < _ENDLESS else "countless"  # past decimal range the count is only a bound
        raise QueryError(f"a bin width of {bin_width:g} cuts {by} ({low:g} to {high:g}) into {many} bins; at most "
                         f"{MAX_BINS:,}: choose a width of at least {least:g}")
    width = _decimal(bin_width)
    first = _bin_index(low, width)  # type: ignore[arg-type]
    starts = [float((first + i) * width) for i in range(count + 1)]
    bins = [(_label(starts[i], bin_width, by), starts[i], starts[i + 1]) for i in range(count)]
    index: list[int | None] = []
    for v in values:
        n = None if v is None or v == "" else _number(v)
        index.append(None if n is None else min(int(_bin_index(n, width) - first), count - 1))
    return bins, index, bin_width
