"""Which characters of a name a person gives (a sense's, say) a reader can see as written, which names read alike,
and names listed so that a reader can tell them apart.

A name holding a zero-width space, a bidi control or a line break prints as another name, or as nothing: such names are
refused where they are given (sense_records.check_name), and names stored before that are found by what they show. Two
names whose letters differ only in look-alikes of another script ("bank" and "bаnk" with a Cyrillic а) print alike too:
look_alike tells them so.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

import regex
from idna.core import valid_contextj

_HIDDEN = regex.compile(r"[[\p{Cc}\p{Cf}\p{Cs}\p{Z}\p{Default_Ignorable_Code_Point}]--[\x20\p{Variation_Selector}]]",
                        regex.V1)
"""What a name must not hold (hidden_character): control characters (Cc), format characters (Cf: zero width space,
(non-)joiner, BOM, soft hyphen, bidi embeddings, overrides and isolates), lone surrogates (Cs), every separator but
the space U+0020 (NBSP, ideographic space, line separator), and the other Default_Ignorable_Code_Points
(DerivedCoreProperties.txt: the combining grapheme joiner, Hangul fillers). Not the variation selectors, which choose a
glyph of the character before them (the emoji form of "\u2764\ufe0f", Mongolian letter forms), never hide one. The
joiners U+200C and U+200D are let through where they shape the letters beside them (_joins)."""

_UNNAMED = {"Cc": "a control character", "Cs": "a lone surrogate"}
_JOINERS = "\u200c\u200d"
_CONTEXT = 500
"""Characters either side of a joiner that _joins hands to idna, which refuses a label of over 1,024: the rule reads
only the letters next to the joiner and the combining marks between."""


_EMOJI_BEFORE = regex.compile(r"\p{Extended_Pictographic}[\p{Emoji_Modifier}\ufe0f]*\Z")
_EMOJI_AFTER = regex.compile(r"\p{Extended_Pictographic}")
_EMOJI_REACH = 8
"""Characters before a ZWJ that _EMOJI_BEFORE reads: an emoji, a skin tone and a presentation selector at most."""


def _joins(text: str, pos: int) -> bool:
    """Whether the joiner at `pos` shapes the letters beside it, by the CONTEXTJ rules of IDNA (RFC 5892 Appendix A.1,
    A.2): either after a virama (the half form or explicit virama of Indic scripts), or, ZWNJ only, between letters
    that would join (Persian "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", Urdu, Kurdish). Both had been refused
    as hidden wherever they stood, so a Persian word could not name a sense. A ZWJ between two emoji (each with its
    skin tone or presentation selector) makes one emoji of them, an emoji ZWJ sequence of Unicode TS #51 ("👩‍⚕️",
    "🏳️‍🌈"): it had been refused as hidden too, though the joined emoji is what a reader sees."""
    if text[pos] == "\u200d" and _EMOJI_AFTER.match(text, pos + 1) and _EMOJI_BEFORE.search(
            text, max(0, pos - _EMOJI_REACH), pos):
        return True
    start = max(0, pos - _CONTEXT)
    try:
        return valid_contextj(text[start:pos + _CONTEXT], pos - start)
    except ValueError:
        return False  # a character Unicode has not assigned beside the joiner: no rule says it joins


_FLAG_TAGS = regex.compile(r"(?<=\U0001f3f4)[\U000e0020-\U000e007e]+\U000e007f")
"""The tags of a subdivision flag, an emoji tag sequence of Unicode TS #51: the black flag, the region's code in tag
letters, a cancel tag ("\U0001f3f4" + "gbeng" in tags: England's flag). Tags are Default_Ignorable, but these are what
the flag a reader sees is drawn from: the flags of England, Scotland and Wales had been refused as hidden characters,
while the ZWJ sequences beside them were kept. Tags after anything else (an emoji, a letter) hide as before."""


def _hidden(text: str) -> Iterator[regex.Match[str]]:
    """The characters of `text` a reader cannot see as written (_HIDDEN), each as its match."""
    flags = {pos for tags in _FLAG_TAGS.finditer(text) for pos in range(*tags.span())}
    return (found for found in _HIDDEN.finditer(text) if found.start() not in flags
            and (found.group() not in _JOINERS or not _joins(text, found.start())))


def hidden_character(text: str) -> str | None:
    """The first character of `text` a reader cannot see as written, named ("U+200B ZERO WIDTH SPACE at character
    4"), or None: a name holding one prints as another name, or prints nothing at all (_HIDDEN)."""
    if text.isascii() and text.isprintable():  # ASCII hides only control characters: --by labels 3x faster so
        return None
    found = next(_hidden(text), None)
    return None if found is None else _named(text, found.start())


def _named(text: str, pos: int) -> str:
    """The character at `pos` of `text` as messages name it: "U+0430 CYRILLIC SMALL LETTER A at character 2"."""
    char = text[pos]
    # Control characters, surrogates and unassigned code points have no Name property: unicodedata answers the default.
    name = unicodedata.name(char, _UNNAMED.get(unicodedata.category(char), "an unassigned character"))
    return f"U+{ord(char):04X} {name} at character {pos + 1}"


def hidden_escaped(json_text: str) -> str:
    """JSON text with each character hidden_character finds in it (a zero-width space, NBSP, a bidi control: json.dumps
    escapes control characters alone) spelled as JSON's \\u escape, so that it shows every character its strings
    hold and still reads back as the same value. " x" and "\u00a0x" had been written as two JSON strings that read
    alike, and a key holding a zero-width space as one that names another key when pasted into a condition."""
    kept, end = [], 0
    for found in _hidden(json_text):
        kept += [json_text[end:found.start()], json.dumps(found.group())[1:-1]]
        end = found.end()
    return "".join(kept) + json_text[end:]


def shown_text(text: str) -> str:
    """`text` as a reader sees it: the characters hidden_character finds removed, those that are white space (a tab,
    NBSP) made a space. Names stored before they were checked may hold them, and are found by what they show."""
    kept, end = [], 0
    for found in _hidden(text):
        kept += [text[end:found.start()], " " if found.group().isspace() else ""]
        end = found.end()
    return "".join(kept) + text[end:]


def look_alike(first: str, second: str) -> str | None:
    """None when `second` reads apart from `first` (or is `first`); else why it reads as `first`, to quote: its first
    character `first` lacks ("U+0430 CYRILLIC SMALL LETTER A at character 2 looks like a letter of it"), where it has
    one.

    Alike is the confusable skeleton of Unicode TS #39 (disarm.skeleton_key: current confusables data; case and runs
    of white space folded; digits kept apart from letters, and "m" from "rn"): "bank" and "bаnk" (a Cyrillic а) had
    been two senses that print alike. "банк" and "τράπεζα" read apart from any Latin name."""
    from disarm import skeleton_key  # 40-60 ms to import, for sense names alone: not on every command's path

    skeleton = skeleton_key(first)
    # A name of private-use characters only has the skeleton "": any two such would read alike.
    if first == second or not skeleton or skeleton != skeleton_key(second):
        return None
    return next((f"{_named(second, pos)} looks like a letter of it" for pos, char in enumerate(second)
                 if char not in first), "the two differ only in characters that look alike or do not show")


def read_as(text: str) -> str:
    """What a reader takes `text` for: the characters shown_text keeps, in NFC, since canonically equivalent spellings
    (a composed "\u00c5", a decomposed "A\u030a") print alike."""
    return unicodedata.normalize("NFC", shown_text(text))


_CLUSTER = regex.compile(r"\X", regex.DOTALL)


def spelled_apart(shown: Iterable[str]) -> dict[str, str]:
    """Each of the names `shown` in one listing as it is, except names that would read alike (read_as) while they
    differ: in those, each grapheme cluster a reader does not see as written is spelled as the escapes of its code
    points ("A\\u030a.txt" beside "\u00c5.txt"). File names that differ only in their Unicode form, both legal on
    Linux, had been listed as one name twice."""
    names = list(dict.fromkeys(shown))
    readings: dict[str, list[str]] = {}
    for name in names:
        readings.setdefault(read_as(name), []).append(name)
    spelled = {name: name for name in names}
    for alike in readings.values():
        if len(alike) > 1:
            spelled.update((name, "".join(c if read_as(c) == c else _escapes(c) for c in _CLUSTER.findall(name)))
                           for name in alike)
    return spelled


def _escapes(cluster: str) -> str:
    return "".join(char if " " <= char <= "~" else f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF
                   else f"\\U{ord(char):08x}" for char in cluster)


def quoted_apart(names: Sequence[str]) -> list[str]:
    """Each of `names` quoted as repr quotes it, and spelled apart from the others (spelled_apart): repr shows a
    zero-width space or a line break as an escape, but a decomposed "A\u030a" as it is."""
    spelled = spelled_apart(repr(name) for name in names)
    return [spelled[repr(name)] for name in names]


def quoted(names: Sequence[str], shown: int | None = None) -> str:
    """`names` joined by ", ", each quoted (quoted_apart), then ", ..." if there are more than `shown` of them: joined
    bare, "a, b.txt" read as the two names "a" and "b.txt", and a line break in one broke the line it was on."""
    listed = ", ".join(quoted_apart(names[:shown]))
    return listed + (", ..." if shown is not None and len(names) > shown else "")
