"""The changes of `normalize.fold` that cut or key some words otherwise, one entry each, and how to tell their words.

An index keeps the words its documents were cut into, under the keys the sensesearch that indexed them gave them.
After a change of the fold some of those words are other words now ("bank👍🏽" is "bank" and an emoji): words added
then would not match them, and `usages` would find the old ones or the new by when their document was indexed, which
the first rule forbids (answers never depend on how the index was built). So a metadata store records how many of
FOLD_CHANGES built it (MetaStore.fold_version); before an index older than that takes documents, its stored words are
looked at once for those a later change cuts or keys otherwise (folder.check_stored_words), and such words refuse the
documents, naming them.

A new change of `fold` that gives any word another key or cut is one more FoldChange at the end of FOLD_CHANGES.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import regex

from .normalize import GLUING, SEPARATORS, TATWEEL, extends_cluster, symbol_touches, word_key

REINDEX = ("`remove` the documents holding such words and index them again, or index the corpus into a new folder")
"""What to do about an index's words that older rules cut: the end of every refusal that names them."""


@dataclass(frozen=True)
class StoredWord:
    """A stored occurrence: characters `start`..`end` of its sentence `text`, stored under the key `form`."""

    text: str
    start: int
    end: int
    form: str

    @property
    def written(self) -> str:
        """The word as its document writes it."""
        return self.text[self.start:self.end]


@dataclass(frozen=True)
class FoldChange:
    """A change of `fold`: `rule` says what sensesearch did before it and does now (a refusal quotes it), and
    `cut_before(word)` whether a stored word was cut or keyed by the rule before it."""

    rule: str
    cut_before: Callable[[StoredWord], bool]


def _rekeyed(word: StoredWord) -> bool:
    """Whether the key `fold` now gives the word as written (to the end of its last grapheme cluster) is not the key
    it is stored under. A word stored now is its key, so only older rules make this true."""
    end = word.end
    while end < len(word.text) and extends_cluster(word.text[end]):
        end += 1
    return word_key(word.text[word.start:end]) != word.form


def _in_key(pattern: str) -> Callable[[StoredWord], bool]:
    """Whether a word's stored key holds `pattern`, and is not the key it gets today."""
    found = regex.compile(pattern)
    return lambda word: found.search(word.form) is not None and _rekeyed(word)


def _in_word(pattern: str) -> Callable[[StoredWord], bool]:
    """Whether a word as written holds `pattern`, and its stored key is not the key it gets today."""
    found = regex.compile(pattern)
    return lambda word: found.search(word.written) is not None and _rekeyed(word)


_SOFT_BREAK_AFTER = regex.compile(r"\u00ad[ \t]*(?:\r\n|[\n\r\x0b\x0c\x85\u2028\u2029])[ \t]*[\p{L}\p{M}\p{N}]")
_SPACE_SPLIT = _in_word(f"[{SEPARATORS}]")

FOLD_CHANGES: tuple[FoldChange, ...] = (
    FoldChange("sensesearch of 2026-11-30 and earlier kept invisible format characters (a soft hyphen, a joiner, a "
               "bidi mark) in word keys and read Turkish \u0130 and \u0131 as letters other than i",
               _in_key(r"[\p{Cf}\u034f\ufe00-\ufe0f\U000e0100-\U000e01ef\u0131]|i\u0307")),
    FoldChange("sensesearch of 2026-12-02 and earlier joined a superscript or subscript to the word it marks "
               "(bank\u00b9 was the word bank1), where it now stands apart",
               _in_word(r"[\p{dt=sup}\p{dt=sub}]")),
    FoldChange("sensesearch of 2026-12-02 and earlier joined words across a form feed, vertical tab, NEL or "
               "zero-width space, which now part words, and cut a word at a line break after a soft hyphen, which now "
               "joins it",
               lambda word: _SPACE_SPLIT(word) or _SOFT_BREAK_AFTER.match(word.text, word.end) is not None),
    FoldChange("sensesearch of 2026-12-02 and earlier ended a word before the combining marks of its last character "
               "where the uncased model strips them (\u092e\u0948\u0902 was stored as \u092e)",
               lambda word: word.end < len(word.text) and extends_cluster(word.text[word.end]) and _rekeyed(word)),
    FoldChange("sensesearch of 2026-12-02 and earlier took a space and a stray combining mark after it into the word "
               "that follows",
               lambda word: word.form[:1].isspace()),
    FoldChange("sensesearch of 2026-12-03 and earlier kept the modifier letter apostrophe \u02bc (U+02BC) and the "
               "minus sign \u2212 (U+2212) inside words, where they now part words as ' and - do",
               _in_key(f"[{GLUING}]")),
    FoldChange(f"sensesearch of 2026-12-03 and earlier kept the Arabic tatweel {TATWEEL} (U+0640) in the word it "
               "stretches, where it is now left out",
               _in_key(TATWEEL)),
    FoldChange("sensesearch of 2026-12-03 and earlier kept a symbol such as an emoji, \u00a9 or \u20ac written against "
               "a word in it, where it now stands apart",
               lambda word: symbol_touches(word.form) and _rekeyed(word)),
)
FOLD_VERSION = len(FOLD_CHANGES)
"""What a metadata store made now records as the rules that built it (MetaStore.fold_version)."""


def rules_cutting(word: StoredWord, changes: Sequence[FoldChange] = FOLD_CHANGES) -> list[str]:
    """The rules of the `changes` before which `word` was cut or keyed as it is stored: none for a word cut today."""
    return [change.rule for change in changes if change.cut_before(word)]


@dataclass(frozen=True)
class OlderWords:
    """Stored words that older rules cut: (the word as written, its document's label) of a few, and those rules."""

    named: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]

    def __str__(self) -> str:
        words = ", ".join(f"{written!r} in {label!r}" for written, label in self.named)
        return f"words cut by older word rules ({words}): {'; '.join(self.rules)}; {REINDEX}"


def older_words(stored: Iterable[tuple[StoredWord, str]], changes: Sequence[FoldChange],
                limit: int = 3) -> OlderWords | None:
    """The first `limit` words of `stored` ((word, label of its document) pairs) that one of `changes` cuts or keys
    otherwise, with the rules of those changes; None when there is none (every word is read as it is stored)."""
    named: list[tuple[str, str]] = []
    rules: set[str] = set()
    for word, label in stored:
        found = rules_cutting(word, changes)
        if found and (word.written, label) not in named:
            named.append((word.written, label))
            rules.update(found)
            if len(named) == limit:
                break
    return OlderWords(tuple(named), tuple(c.rule for c in changes if c.rule in rules)) if named else None
