"""Checks of the values the public API is given, shared by every method that takes them and by the command line.

Python does not enforce annotations, so without these a Python caller met faults the CLI and HTTP API refuse
up front: `usages(word, limit=-1)` sliced the last usage off, a string where a list of names belongs was read
one character at a time, and a seed past 2**32 - 1 or a fractional k reached scikit-learn as its own error.
Each check raises UsageError naming the argument, before anything slow (the model load) runs.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from typing import TypeVar

from .config import SEED_MAX
from .errors import UsageError
from .normalize import clean_text

Item = TypeVar("Item")


def whole_number(value: object, name: str, least: int | None = None, most: int | None = None) -> int:
    """`value` as an int; UsageError unless it is a whole number (not a bool, float or text) in least..most."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{name} must be a whole number, not {value!r}")
    number = int(value)
    if least is not None and number < least:
        raise UsageError(f"{name} must be at least {least}, not {_spelled(number)}")
    if most is not None and number > most:
        raise UsageError(f"{name} must be at most {most:,}, not {_spelled(number)}")
    return number


def _spelled(number: int) -> str:
    """`number` with thousands separators, or its size where Python will not write it out (over 4,300 digits,
    sys.get_int_max_str_digits): k=10**5000 had raised ValueError in the message meant to refuse it."""
    digits = int(abs(number).bit_length() * math.log10(2)) + 1
    if digits < 1_000:
        return f"{number:,}"
    return f"a {'negative ' if number < 0 else ''}number of about {digits:,} digits"


def optional_number(value: object, name: str, least: int | None = None, most: int | None = None) -> int | None:
    """None (the argument's "no limit" or "choose for me"), or `value` checked as whole_number."""
    return None if value is None else whole_number(value, name, least, most)


def check_seed(seed: object) -> int:
    """A random seed: a whole number in 0..SEED_MAX (UsageError otherwise), as the CLI's --seed takes."""
    return whole_number(seed, "seed", 0, SEED_MAX)


def real_number(value: object, name: str, least: float | None = None, most: float | None = None,
                positive: bool = False) -> float:
    """`value` as a finite float in least..most (above 0 if `positive`); UsageError otherwise, NaN and infinity
    included (NaN compares false with every bound, so a bare comparison would let it through)."""
    wanted = ("a finite number above 0" if positive else f"a number in {least:g}..{most:g}"
              if least is not None and most is not None else f"a finite number of at least {least:g}"
              if least is not None else "a finite number")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name} must be {wanted}, not {type(value).__name__} {value!r}")
    try:
        number = float(value)
    except OverflowError:  # a whole number past the floats (10**400): as infinite as float("inf")
        number = math.inf if value > 0 else -math.inf
    if (not math.isfinite(number) or (positive and number <= 0) or (least is not None and number < least)
            or (most is not None and number > most)):
        raise UsageError(f"{name} must be {wanted}, not {number:g}")
    return number


def text_argument(value: object, name: str) -> str:
    """`value`, which must be text, as indexed text is read (normalize.clean_text: NUL and lone surrogates become
    U+FFFD one for one, so a typed word finds what such characters were stored as, and no tokenizer sees them)."""
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text, not {type(value).__name__} {value!r}")
    return clean_text(value)


def flag(value: object, name: str) -> bool:
    """A yes/no argument; UsageError for anything but a bool (lemma="no" is truthy, and had widened the search)."""
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, not {value!r}")
    return value


def word_argument(value: object, name: str = "the word") -> str:
    """A word or phrase to look up, read as text_argument reads it; UsageError when it is empty or blank (`usages ""`
    had answered "'' does not occur", and `compare ""` loaded the model first)."""
    word = text_argument(value, name)
    if not word.strip():
        raise UsageError(f"{name} is empty: name a word")
    return word


def one_or_many(values: Item | Iterable[Item] | None, name: str, single: type | tuple[type, ...] = str
                ) -> list[Item] | None:
    """A list argument as a list: None stays None, and one value of type `single` (str and os.PathLike are always
    single) is a one-item list, not the characters of a string. UsageError for a value that is not a collection."""
    if values is None:
        return None
    if isinstance(values, (str, os.PathLike)) or isinstance(values, single):
        return [values]  # type: ignore[list-item]
    if isinstance(values, (bytes, dict)) or not isinstance(values, Iterable):
        raise UsageError(f"{name} must be a list, not {type(values).__name__} {values!r}")
    return list(values)


def name_list(values: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None, name: str) -> list[str] | None:
    """Names (documents, paths, example texts) as a list of str: one name is a one-item list; UsageError for an
    item that is not text or a path."""
    listed = one_or_many(values, name)
    if listed is None:
        return None
    for item in listed:
        if not isinstance(item, (str, os.PathLike)):
            raise UsageError(f"each of {name} must be text or a path, not {type(item).__name__} {item!r}")
    return [os.fspath(item) for item in listed]  # type: ignore[misc]


def callback(value: Item | None, name: str) -> Item | None:
    """None, or a function to call: UsageError for anything else, before any work is done (`progress=5` had failed
    as a raw TypeError once the first chunk was written, and was taken silently when nothing was to be indexed)."""
    if value is not None and not callable(value):
        raise UsageError(f"{name} must be a function or None, not {type(value).__name__} {value!r:.60}")
    return value


def choice(value: object, name: str, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else UsageError naming them."""
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise UsageError(f"{name} must be one of {', '.join(options)}, not {value!r}")
    return value
