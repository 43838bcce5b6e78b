"""What may reach a terminal: text with its control characters drawn, never obeyed.

Its own module, not part of kwic.py: every command-line print and table cell goes through it, not only KWIC lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import regex

from .visible import spelled_apart

_SPACE = re.compile(r"\s+")
# Bidirectional embeddings, overrides and isolates reorder what a terminal shows of everything after them (a file
# name holding U+202E printed its tail backwards, as "Trojan Source" hides code): drawn like controls.
_CONTROL = regex.compile(r"[\p{Cc}\u202a-\u202e\u2066-\u2069]")
_PICTURES = {chr(c): chr(0x2400 + c) for c in range(0x20)} | {"\x7f": "\u2421"}


def flat(text: str) -> str:
    """`text` with every run of white space (line breaks included) as one space."""
    return _SPACE.sub(" ", text)


def shown(text: str) -> str:
    """`text` on one terminal line: white space flattened, other control characters (which a terminal
    would obey, e.g. ESC sequences) drawn as their Unicode control pictures or U+FFFD, one cell each."""
    return _CONTROL.sub(lambda m: _PICTURES.get(m.group(), "\ufffd"), flat(text))


def named(text: str) -> str:
    """A name (a file name, a label) on one line, every control character drawn, line breaks and tabs too (␊, ␍,
    ␉): flattened to spaces, "a\nb.txt" and "a b.txt" printed alike. Bytes that are not UTF-8 show as \\xNN."""
    return _CONTROL.sub(lambda m: _PICTURES.get(m.group(), "\ufffd"), _escaped(text))


def named_apart(names: Iterable[str]) -> dict[str, str]:
    """Each of the names of one listing drawn (named), and spelled apart where two would then read alike
    (visible.spelled_apart: a composed and a decomposed "\u00c5.txt" had been listed as one name twice)."""
    drawn = {name: named(name) for name in names}
    spelled = spelled_apart(drawn.values())
    return {name: spelled[text] for name, text in drawn.items()}


def _escaped(text: str) -> str:
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte: left to the stream's own escaping
        return text


def drawn(text: str) -> str:
    """`text` with its control characters other than line breaks and tabs drawn as control pictures (or U+FFFD),
    nothing else changed: printed file names, metadata or typed lines can never steer the terminal. Bytes of a
    file name that are not UTF-8 (lone surrogates, PEP 383) show as \\xNN, as stored labels spell them."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in "\n\t" else _PICTURES.get(m.group(), "\ufffd"),
                        _escaped(text))
