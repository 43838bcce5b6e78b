"""Which characters of a name a person gives (a sense's, say) a reader can see as written.

A name holding a zero-width space, a bidi control or a line break prints as another name, or as nothing: such names are
refused where they are given (sense_records.check_name), and names stored before that are found by what they show.
"""

from __future__ import annotations

import unicodedata

import regex

_HIDDEN = regex.compile(r"[[\p{Cc}\p{Cf}\p{Cs}\p{Z}\p{Default_Ignorable_Code_Point}]--[\x20\p{Variation_Selector}]]",
                        regex.V1)
"""What a name must not hold (hidden_character): control characters (Cc), format characters (Cf: zero width space,
(non-)joiner, BOM, soft hyphen, bidi embeddings, overrides and isolates), lone surrogates (Cs), every separator but
the space U+0020 (NBSP, ideographic space, line separator), and the other Default_Ignorable_Code_Points
(DerivedCoreProperties.txt: the combining grapheme joiner, Hangul fillers). Not the variation selectors, which choose a
glyph of the character before them (the emoji form of "\u2764\ufe0f", Mongolian letter forms), never hide one."""


def hidden_character(text: str) -> str | None:
    """The first character of `text` a reader cannot see as written, named ("U+200B ZERO WIDTH SPACE at character
    4"), or None: a name holding one prints as another name, or prints nothing at all (_HIDDEN)."""
    found = _HIDDEN.search(text)
    if found is None:
        return None
    char = found.group()
    # Control characters and surrogates have no Name property; unicodedata answers the default then.
    name = unicodedata.name(char, "a control character" if unicodedata.category(char) == "Cc" else "a lone surrogate")
    return f"U+{ord(char):04X} {name} at character {found.start() + 1}"


def shown_text(text: str) -> str:
    """`text` as a reader sees it: the characters hidden_character finds removed, those that are white space (a tab,
    NBSP) made a space. Names stored before they were checked may hold them, and are found by what they show."""
    return _HIDDEN.sub(lambda found: " " if found.group().isspace() else "", text)
