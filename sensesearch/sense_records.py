"""The records of a word's sense inventory: its named senses, each defined by example usages, and the rule for a
sense's name.

Plain values, read and written by inventory.Inventory (the tables in the metadata store) and handed to the
public API (sensesearch.WordInventory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import regex

from .errors import SenseNotFoundError, UsageError
from .normalize import nfc
from .visible import hidden_character, look_alike, shown_text

_SPACES = regex.compile(" {2,}")
_CLASH_ADVICE = "add to it as it is spelt, or give the new sense a name of its own"


@dataclass(frozen=True)
class Example:
    """One example usage: its sentence, the target's char span in it, its unit vector (dim float32), and origin.

    source: "text" (given by the user), "file" (a labelled file) or "cluster" (a stored usage,
    then occurrence_id names it while the index holds that usage; None once its document is removed or changed).
    """

    text: str
    start: int
    end: int
    vector: np.ndarray
    source: str = "text"
    occurrence_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "source": self.source,
                "occurrence_id": self.occurrence_id}


@dataclass(frozen=True)
class SenseEntry:
    """A named sense of a word and its examples."""

    name: str
    examples: tuple[Example, ...]

    def to_dict(self, with_examples: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "n_examples": len(self.examples)}
        if with_examples:
            data["examples"] = [e.to_dict() for e in self.examples]
        return data


@dataclass(frozen=True)
class WordInventory:
    """A word's senses and how its usages are tagged (method, k for knn, margin threshold, forms covered)."""

    word: str
    forms: tuple[str, ...]
    method: str
    k: int
    threshold: float
    revision: str
    senses: tuple[SenseEntry, ...] = field(default_factory=tuple)

    def sense_names(self) -> list[str]:
        return sorted(s.name for s in self.senses)

    def find(self, name: str) -> str | None:
        """The stored name of the sense `name` means (in any case or normal form: find_name), or None."""
        return find_name(self.sense_names(), name)

    def training(self) -> tuple[np.ndarray, list[str]]:
        """(m, dim) float32 example vectors and their m sense names."""
        rows = [(e.vector, s.name) for s in self.senses for e in s.examples]
        if not rows:
            raise SenseNotFoundError(f"{self.word!r} has no sense examples")
        return np.stack([r[0] for r in rows]).astype(np.float32), [r[1] for r in rows]

    def to_dict(self, with_examples: bool = False) -> dict[str, Any]:
        return {"word": self.word, "forms": list(self.forms), "method": self.method,
                "k": self.k if self.method == "knn" else None, "threshold": self.threshold,
                "revision": self.revision, "senses": [s.to_dict(with_examples) for s in self.senses]}


def check_name(name: str) -> str:
    """A new sense name as spelt (spelling: stripped, runs of spaces made one, NFC); UsageError when it is not text, is
    empty, holds ':' (as in word:sense) or a character a reader cannot see as written (visible.hidden_character: a
    control character, a zero-width or bidi format character, a space other than U+0020; not a joiner that shapes the
    letters beside it, as in Persian), or is "unassigned" in any case (name_key)."""
    if not isinstance(name, str):
        raise UsageError(f"the sense name must be text, not {type(name).__name__} {name!r}")
    # Not text_argument's cleaning: a NUL or lone surrogate in a name is refused, not replaced.
    clean = spelling(name)
    hidden = hidden_character(clean)
    if hidden is not None:
        # "finance\u200b" and "fin\u202eecnan" had been senses that print as "finance", each its own.
        raise UsageError(f"a sense name must show every character it holds (no control characters, zero-width or "
                         f"bidi format characters, or spaces other than U+0020), not {name!r}: it holds {hidden}")
    if not clean or ":" in clean or name_key(clean) == "unassigned":
        raise UsageError(f"a sense name must be non-empty, without ':', and not 'unassigned' in any case (kept for "
                         f"usages below the margin threshold), not {name!r}")
    return clean


def spelling(name: str) -> str:
    """`name` as a sense name is spelt: stripped, each run of spaces one space, in NFC. A run of spaces had made
    "river  side" a sense apart from "river side", which a listing prints alike; NFC, as --where values and document
    names are read: "café" typed decomposed (macOS, some keyboards) is the same sense, not a twin."""
    return nfc(_SPACES.sub(" ", name.strip()))


def name_key(name: str) -> str:
    """What sense names a reader takes for one name share: the canonical caseless match of the Unicode Standard (ch.
    3.13, D145: NFC, full case folding, NFC again) of the name as it shows (visible.shown_text) and is spelt
    (spelling); "Finance", "FINANCE" and "finance" are one name, and so are "finance\u200b", stored before check_name
    refused it, and "river  side", stored before runs of spaces were made one."""
    return nfc(spelling(shown_text(name)).casefold())


def find_name(names: Sequence[str], name: str) -> str | None:
    """The name among stored `names` that `name` means, or None: the one spelt as given, else the one of its spelling
    (spelling: NFC, one space for a run), else the one equal under name_key (any case). UsageError when several are:
    names stored before sensesearch told them apart ("Finance" and "finance", "café" in NFC and NFD), which only the
    exact spelling picks."""
    wanted = name.strip()
    for same in (lambda n: n == wanted, lambda n: spelling(n) == spelling(wanted),
                 lambda n: name_key(n) == name_key(wanted)):
        found = [n for n in names if same(n)]
        if len(found) > 1:
            raise UsageError(f"{name!r} may name any of the senses {', '.join(map(repr, found))}: give the one meant "
                             f"as it is spelt")
        if found:
            return found[0]
    return None


def new_name(word: str, names: Sequence[str], name: str) -> str:
    """The name examples of sense `name` (as check_name gives it) of `word` are stored under, among the word's stored
    `names`: the stored one of its spelling (kept as stored: one in NFD, or with a run of spaces, from before names
    were so spelt), else `name`. UsageError for a clash: a stored name equal to it under name_key only, which would
    print as its twin, or one it reads as by its letters (visible.look_alike: "bаnk", a Cyrillic а, beside "bank")."""
    stored = find_name(names, name)
    if stored is not None and spelling(stored) == name:
        return stored
    if stored is not None:
        raise UsageError(f"{word!r} has the sense {stored!r}, which {name!r} differs from only in case (or in "
                         f"characters that do not show): {_CLASH_ADVICE}")
    for stored in names:
        alike = look_alike(stored, name)
        if alike is not None:
            raise UsageError(f"{word!r} has the sense {stored!r}, which {name!r} reads as ({alike}): {_CLASH_ADVICE}")
    return name
