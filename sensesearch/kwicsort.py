"""The orders of concordance lines: as ranked or listed, or sorted by the words of the left or right context.

Sorting by context is how concordancers let a lexicographer see a word's patterns (what precedes it, what
follows it); the keys are the context's words in Unicode collation order, so that neither punctuation nor
where an accented letter's code point lies decides the order. Source: Unicode Technical Standard #10 (UCA),
through pyuca's default table (DUCET).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import regex

from .normalize import fold_text
from .records import Hit, UsagePage

QUERY_SORTS = ("score", "left", "right")
"""How query hits may be ordered: by score (as ranked), by left context (nearest word first) or by right context."""
USAGE_SORTS = ("position", "left", "right")
"""How usages may be ordered: by position in the corpus (as listed), or by left or right context."""


_CONTEXT_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")


CONTEXT_WORDS = 10
"""Words of a context that sort it, nearest the keyword first; lines equal in all of them keep their order."""
CONTEXT_CHARS = 50 * CONTEXT_WORDS


@functools.lru_cache(maxsize=1)
def _collator() -> Any:
    from pyuca import Collator  # its collation table loads in about 0.1 s, only when lines are sorted

    return Collator()


@functools.lru_cache(maxsize=100_000)
def _word_key(word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A word's UCA key: its primary weights (letters alone, no accents or case) and its whole key."""
    whole = tuple(_collator().sort_key(word))
    return whole[:whole.index(0)] if 0 in whole else whole, whole


def context_key(context: str, nearest_last: bool = False) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """The sort key of a context: its words as the model reads them (normalize.fold_text: NFKC, invisible
    characters gone), runs of letters, marks and digits (punctuation, symbols and emoji do not count), the
    CONTEXT_WORDS nearest the keyword, nearest first, in Unicode Collation Algorithm order (pyuca, the default
    table DUCET): every word's letters first, so that an accent or a capital decides only between contexts
    otherwise equal ("the apple", "The apple", "the zebra"). `nearest_last`: the context is a left one, whose
    last word stands next to the keyword. Source: Unicode Technical Standard #10, section 1.1 (levels)."""
    # The characters nearest the keyword hold its CONTEXT_WORDS words but in odd text: the rest is never read.
    near = context[-CONTEXT_CHARS:] if nearest_last else context[:CONTEXT_CHARS]
    words = _CONTEXT_WORD.findall(fold_text(near))
    nearest = (words[::-1] if nearest_last else words)[:CONTEXT_WORDS]
    keys = [_word_key(w) for w in nearest]
    return [k[0] for k in keys], [k[1] for k in keys]


def sort_hits(hits: Sequence[Hit], by: str | None) -> list[Hit]:
    """Order hits as given (by None, "score" or "position"), by the words left of the keyword (nearest first), or
    right of it (`context_key`; ties keep their order); ValueError for another order."""
    if by in (None, "score", "position"):
        return list(hits)
    if by == "left":
        return sorted(hits, key=lambda h: context_key(h.left, nearest_last=True))
    if by == "right":
        return sorted(hits, key=lambda h: context_key(h.right))
    raise ValueError(f"sort must be score, position, left or right, not {by!r}")


def usage_page(total: int, first: Callable[[int | None], list[Hit]], sort: str, limit: int | None) -> UsagePage:
    """The first `limit` of `total` usages in the order `sort` names, from `first(n)`: the hits of the first n
    usages in corpus order (None: all). Sorting by context reads them all, so the limit is taken after it."""
    if sort in ("score", "position"):
        return UsagePage(first(limit), total)
    return UsagePage(sort_hits(first(None), sort)[:limit], total)
