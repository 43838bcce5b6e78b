"""Unicode folding in one place: text to folded text, with an offset map back to the original.

A word a reader sees as the same must be stored, looked up and embedded as the same, whatever
form it came in. Two levels, both defined here and nowhere else:

`fold_text` (what the model reads; corpus sentences and query sentences alike) folds
- white space of every kind (form feed, vertical tab, NEL, the line and paragraph separators U+2028/U+2029,
  the information separators U+001C..U+001F, the zero-width space U+200B): each becomes a space, so it parts
  words as a space does whatever the tokenizer (SEPARATORS);
- invisible format characters: General_Category Cf (UAX #44), e.g. soft hyphen U+00AD, zero width
  (non-)joiner U+200C/U+200D, word joiner U+2060, byte order mark U+FEFF,
  bidi marks U+200E/U+200F/U+202A..U+202E; also the variation selectors U+FE00..U+FE0F and
  U+E0100..U+E01EF and the combining grapheme joiner U+034F, which are Default_Ignorable_Code_Point
  (DerivedCoreProperties.txt) though not Cf; and the Arabic tatweel (kashida) U+0640, which only stretches the joint
  between two letters (justification, emphasis: "كـتـب" is the word "كتب", The Unicode Standard, ch. 9.2), though
  Unicode calls it a letter (Lm) and NFKC keeps it. They are removed, and so is a line break after a soft hyphen
  (a word cut at a line end: "govern\u00ad\nment" reads as government).
- canonical and compatibility equivalents: Normalization Form KC (UAX #15), so NFD "cafe\\u0301"
  and NFC "café" are one string, ligatures such as U+FB01 "ﬁ" become "fi", and NBSP a space;
- superscripts and subscripts (decomposition tags <super> and <sub>): NFKC makes them plain digits and
  letters, and a space is put where text goes up or down, so a footnote mark "bank¹", "m²" or "Acme™" is
  the word and a mark apart ("bank" "1"), not one word "bank1";
- symbols (General_Category So and Sc, beyond ASCII: emoji, "©", "°", "€") written against a word: a space is put
  between, so "bank👍🏽", "20°C" and "€100" are the words "bank", "20", "C", "100" and the symbols apart. BERT's
  pre-tokenizer parts words at punctuation (and at ASCII symbols such as "$"), not at these, so "bank👍🏽" had been one
  word (which the model read as [UNK]) that no lookup of bank reached, where "$100" is "$" and "100";
- character widths: fullwidth and halfwidth forms (U+FF00..U+FFEF, widths as in UAX #11) are
  compatibility equivalents of their ordinary forms, so NFKC folds them ("ｂａｎｋ" -> "bank",
  halfwidth katakana -> katakana);
- look-alikes of the apostrophe and the hyphen that a BERT pre-tokenizer keeps inside a word, where the mark they
  stand for parts it (GLUING): the modifier letter apostrophe U+02BC (category Lm; ftfy reads it as a single quote, and
  Unicode's confusables.txt maps it to U+0027) becomes "'", and the minus sign U+2212 (Sm) "-", so "donʼt", "Oʼbrien"
  and "−5" are the words of "don't", "O'brien" and "-5" (had been one word each: "−5" was a word no lookup reached).
  Look-alikes that are punctuation already (’ ‘ ‛ ′ ‐ ‒ –) part words as "'" and "-" do and stay as written: the
  model knows them. The ʻokina U+02BB stays a letter: Hawaiian, Tongan and Uzbek write it as one, and folding it
  would cut every such word in two.
Case is kept: a cased model reads case, and an uncased model's own tokenizer lowercases.

`word_key` (stored word keys and user query words) is `fold_text` plus case folding:
- full case folding of CaseFolding.txt (statuses C and F; the Unicode Standard, ch. 3.13 "Default
  Case Algorithms" and ch. 5.18), so German sharp s "ß" and capital "ẞ" fold to "ss" and final
  sigma "ς" to "σ";
- Turkic dotted capital I "İ" (U+0130), whose full folding is "i" + U+0307, and the dotless "ı"
  (U+0131) both fold to "i" (the T mappings of CaseFolding.txt, taken both ways), so that Turkish
  and non-Turkish capitalisation of one word agree; "sık" and "sik" become one key, the price;
- NFKC again after folding, since case folding can un-normalise text (the compatibility caseless
  match of ch. 3.13, definition D146).
Accents are kept: "café" and "cafe" are different words.

Offsets: `fold` works on extended grapheme clusters (UAX #29, the `regex` module's \\X; white space is a cluster of
its own, never the base of a stray mark after it) after the ignorables are removed, each cluster normalised on its own; every folded character records the
cluster of the original it came from, so a folded span maps back to whole clusters of the original
text. Text that folding leaves as it is maps to itself, widened to whole clusters too: an uncased
BERT tokenizer strips combining marks (its accent stripping removes category Mn), so its offsets
stop before a word's last marks ("मैं" ended after "म", "كَتَبَ" before its final fatha). A word is
thus the same span whatever else its sentence holds. Offsets are Python str indices (Unicode code
points) into the unnormalised text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import regex

TATWEEL = "\u0640"
"""The Arabic tatweel (kashida): no letter of the word it stretches, so `fold` removes it (see the module docstring);
sensesearch of 2026-12-03 and earlier kept it, and the word with it ("كـتـب" was a word apart from "كتب")."""
_OLDER_IGNORABLE = r"(?!\u200b)[\p{Cf}\u034f\ufe00-\ufe0f\U000e0100-\U000e01ef]"
IGNORABLE = _OLDER_IGNORABLE[:-1] + TATWEEL + "]"
"""The characters `fold` removes, as a `regex` class (the zero-width space is a separator, see SEPARATORS)."""
_IGNORABLE = regex.compile(IGNORABLE)
_IGNORABLE_BY_AGE = {True: _IGNORABLE, False: regex.compile(_OLDER_IGNORABLE)}
SEPARATORS = "\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
    "\u200a\u200b\u2028\u2029\u202f\u205f\u3000"
"""What `fold` makes a space: every White_Space character (PropList.txt) but space, tab, CR and LF, the information
separators U+001C..U+001F (Python's str.isspace), and the zero-width space, which marks a word boundary where no space
is shown (Thai, Khmer; The Unicode Standard, ch. 23.2). BERT's tokenizer deletes the control characters among them (form
feed, vertical tab, NEL), which glued "the\fbank" (a page break from pdftotext) into one word."""
_SPACED = str.maketrans(dict.fromkeys(SEPARATORS, " "))
_SEPARATOR = regex.compile(f"[{SEPARATORS}]")
_SOFT_BREAK = r"|(?<=\u00ad)[ \t]*(?:\r\n|[\n\r\x0b\x0c\x85\u2028\u2029])[ \t]*"
_REMOVED = regex.compile(IGNORABLE + _SOFT_BREAK)
_REMOVED_BY_AGE = {True: _REMOVED, False: regex.compile(_OLDER_IGNORABLE + _SOFT_BREAK)}
"""What `fold` removes: the ignorables, and a line break after a soft hyphen, which marks where a word was cut at a line
end (OCR, typeset text): "govern\u00ad\nment" is the word government."""
_VISIBLE = regex.compile(r"[^\s\p{Cf}\u034f\ufe00-\ufe0f\U000e0100-\U000e01ef" + TATWEEL + "]")
CLUSTER = regex.compile(r"\s|\X", regex.DOTALL)
"""An extended grapheme cluster (UAX #29), white space always one of its own: UAX #29 joins the combining marks after
a space to it (a defective combining sequence, as stray marks from OCR or pasted text are), and a span widened to such
a cluster took the space into the word (" \u0301bank" for the cased pre-tokenizer word "\u0301bank")."""
APOSTROPHES = "'\u2019\u2018\u201b\u02bc\u2032\u2035\uff07"
"""The apostrophe and its look-alikes (Unicode's confusables.txt maps each to U+0027): curly quotes, the modifier letter
apostrophe, the prime and reversed prime, the fullwidth apostrophe. Not the ʻokina U+02BB, a letter (see the module
docstring), nor the acute accent of "didn´t": NFKC makes it a space and a combining mark, which the uncased model
strips, so it is no word of the sentence at all where an apostrophe is one (its rows cannot line up)."""
HYPHENS = "-\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
"""The hyphen-minus and its look-alikes (confusables.txt): hyphen, non-breaking hyphen, figure dash, en dash (the
typeset compound "Mason–Dixon", the range "1990–95"), minus sign, small and fullwidth hyphen-minus. Not the em dash,
which parts clauses."""
GLUING = "\u02bc\u2212"
"""The look-alikes in APOSTROPHES and HYPHENS that BERT's pre-tokenizer keeps inside a word (a letter, a math symbol),
where the mark they stand for parts it; `fold` makes them that mark. The others are punctuation and part words as it
does, so they stay as written (the model reads them as they are)."""
_GLUED = regex.compile(f"[{GLUING}]")
_UNGLUED = str.maketrans({c: "'" if c in APOSTROPHES else "-" for c in GLUING})
_MARKS = str.maketrans({**dict.fromkeys(APOSTROPHES, "'"), **dict.fromkeys(HYPHENS, "-")})
_SYMBOL = regex.compile(r"(?![\x00-\x7f])[\p{So}\p{Sc}]")
"""A symbol that parts words (see the module docstring): Unicode's other and currency symbols, emoji among them, but not
the ASCII ones ($, which BERT's pre-tokenizer parts words at already), nor math symbols (the fraction slash of NFKC's
"1⁄2" for "½") or modifier symbols (the acute accent of "didn´t", a skin tone in its emoji's cluster)."""
_SYMBOL_TOUCH = regex.compile(r"(?![\x00-\x7f])[\p{So}\p{Sc}]\p{M}*[\p{L}\p{N}]|[\p{L}\p{M}\p{N}](?![\x00-\x7f])[\p{So}\p{Sc}]")
_OLDER_KEPT = regex.compile(rf"[{GLUING}{TATWEEL}\p{{dt=sup}}\p{{dt=sub}}]|" + _SYMBOL_TOUCH.pattern)
"""What older sensesearch kept inside a word that `fold` now cuts or changes there (foldchanges.FOLD_CHANGES)."""
_LETTER = regex.compile(r"[\p{L}\p{M}\p{N}]")
_TURKIC = str.maketrans({"\u0130": "i", "\u0131": "i"})
_UNSTORABLE = regex.compile("[\ud800-\udfff\x00]")
_EXTENDS_CLUSTER = regex.compile(r"[\p{M}\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=SpacingMark}]")
"""Characters that join the cluster before them (marks, ZWJ and the like): text without one is all one-character
clusters, so spans into it need no widening."""


@dataclass(frozen=True)
class Folded:
    """`text` folded from `original`; `starts[i]`, `ends[i]` is the original span of folded character i.

    Both maps are int64 arrays of len(text), or None where every character kept its place (identity: folding changed
    nothing, or only made separators spaces).
    `clustered`: whether spans may end or start inside a grapheme cluster of `original` (of `text`, unchanged).
    """

    original: str
    text: str
    starts: np.ndarray | None = None
    ends: np.ndarray | None = None
    clustered: bool = False

    @property
    def changed(self) -> bool:
        return self.starts is not None

    @property
    def maps_spans(self) -> bool:
        """Whether `spans` may change a span (folding changed the text, or it has clusters of several characters)."""
        return self.changed or self.clustered

    def spans(self, spans: np.ndarray) -> np.ndarray:
        """(n, 2) int32 [start, end) spans of non-empty stretches of `text`, as spans of `original` covering
        whole extended grapheme clusters."""
        spans = np.asarray(spans).reshape(-1, 2)
        if len(spans) == 0 or not self.maps_spans:
            return spans
        if self.starts is None or self.ends is None:
            return whole_clusters(self.original, spans)
        mapped = np.stack([self.starts[spans[:, 0]], self.ends[spans[:, 1] - 1]], axis=1)
        if self.clustered:
            # A removed ignorable may extend the cluster before it (a variation selector, as in the ideographic
            # variation sequence "葛\U000e0100", a ZWJ, the CGJ): the word ended inside that cluster of the original,
            # and the selector was left to no word (KWIC drew it at the start of the right context).
            return whole_clusters(self.original, mapped)
        return mapped.astype(np.int32)


def whole_clusters(text: str, spans: np.ndarray) -> np.ndarray:
    """(n, 2) int32 spans of `text` widened to whole extended grapheme clusters (UAX #29): a start inside a cluster
    moves back to the cluster's first character, an end inside one moves on past its last."""
    edges = np.fromiter((0, *(m.end() for m in CLUSTER.finditer(text))), dtype=np.int64)
    starts = edges[np.searchsorted(edges, spans[:, 0], side="right") - 1]
    ends = edges[np.searchsorted(edges, spans[:, 1], side="left")]
    return np.stack([starts, ends], axis=1).astype(np.int32)


def fold(text: str, unglue: bool = True) -> Folded:
    """`text` with separators made spaces, ignorables removed, NFKC applied and GLUING look-alikes made the marks they
    stand for (see the module docstring), with its offset map. `unglue=False`: GLUING, TATWEEL and symbols kept in
    words, and superscripts joined to them, as older sensesearch folded (`older_keys`)."""
    glued = unglue and _GLUED.search(text) is not None
    spaced = text.translate(_SPACED) if _SEPARATOR.search(text) else text
    if spaced.isascii():
        return Folded(text, spaced)
    if not glued and _IGNORABLE_BY_AGE[unglue].search(spaced) is None and unicodedata.is_normalized("NFKC", spaced) \
            and not (unglue and _SYMBOL_TOUCH.search(spaced)):
        return Folded(text, spaced, clustered=_EXTENDS_CLUSTER.search(spaced) is not None)
    removed = np.zeros(len(text), dtype=bool)
    for found in _REMOVED_BY_AGE[unglue].finditer(text):
        removed[found.start():found.end()] = True
    kept = np.flatnonzero(~removed).tolist()
    stripped = "".join(spaced[i] for i in kept)
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = ""
    after_symbol = False
    tail = ""  # the last character folded so far
    for cluster in CLUSTER.finditer(stripped):
        out = unicodedata.normalize("NFKC", cluster.group())
        out = out.translate(_UNGLUED) if glued else out
        up = raised(cluster.group()) if unglue else ""
        symbol = unglue and _SYMBOL.match(out) is not None
        touches = symbol != after_symbol and _LETTER.match(tail if symbol else out) is not None
        if (up != position or touches) and parts and not out[:1].isspace() and not parts[-1][-1:].isspace():
            # Where text goes up or down a line (footnote "bank¹", "m²", "H₂O", "Acme™") a space keeps NFKC's plain
            # digits and letters from joining the word: "bank1" had been a word of its own, never found as bank.
            # So between a symbol and a word: "bank👍🏽" is the word bank and an emoji (see the module docstring).
            out = " " + out
        position = up
        after_symbol, tail = symbol, out[-1]
        parts.append(out)
        starts.extend([kept[cluster.start()]] * len(out))
        ends.extend([kept[cluster.end() - 1] + 1] * len(out))
    return Folded(text, "".join(parts), np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                  clustered=_EXTENDS_CLUSTER.search(text) is not None)


def same_marks(text: str) -> str:
    """`text` with every look-alike of the apostrophe or the hyphen (APOSTROPHES, HYPHENS) made "'" or "-": what must
    agree between the words of a phrase, so "don’t", "don't" and "didn´t" are one spelling there."""
    return text.translate(_MARKS)


def symbol_touches(text: str) -> bool:
    """Whether `text` holds a symbol written against a letter or digit, which `fold` parts from it (_SYMBOL)."""
    return _SYMBOL_TOUCH.search(text) is not None


def extends_cluster(char: str) -> bool:
    """Whether `char` joins the grapheme cluster before it (a combining mark, ZWJ, a variation selector)."""
    return _EXTENDS_CLUSTER.match(char) is not None


def raised(cluster: str) -> str:
    """"super" or "sub" for a superscript or subscript character (its compatibility decomposition is tagged so in
    UnicodeData.txt: ¹, ⁿ, ₂, ™), "" for any other."""
    tag = unicodedata.decomposition(cluster[0])
    return tag[1:tag.index(">")] if tag.startswith(("<super>", "<sub>")) else ""


def fold_text(text: str) -> str:
    """What the model reads for `text`: ignorables removed, NFKC (no case folding)."""
    return fold(text).text


def only_ignorables(text: str) -> bool:
    """Whether `text` holds nothing but characters `fold` removes (so the model reads nothing of it)."""
    return not _IGNORABLE.sub("", text)


def same_word_span(text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether spans `a` and `b` (start, end characters) of `text` differ at most by ignorables `fold` removes at
    their edges: the same word as the model reads it. Spans stored by sensesearch of 2026-12-03 and earlier end
    before the variation selector, ZWJ or CGJ of a word's last cluster ('bank' of 'bank\ufe0f'); the encoder's
    spans now take it in."""
    return all(only_ignorables(text[min(x, y):max(x, y)]) for x, y in zip(a, b, strict=True))


def has_visible(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] holds anything but white space and the ignorables `fold` removes (a BOM, a
    zero-width space): text with nothing else is no sentence and no document, since the model reads nothing there."""
    return _VISIBLE.search(text, start, len(text) if end is None else end) is not None


def clean_text(text: str) -> str:
    """`text` with what a store cannot keep as text replaced by U+FFFD, one character for one (offsets stay): lone
    surrogates (from JSON escapes such as "\\ud800", or bytes that are not UTF-8; no UTF-8 for them) and NUL
    (PostgreSQL refuses it in text, and SQLite's length() stops at it, so verify took a sentence holding one for
    too short for its words). Applied to every text read (corpus.py) and every word or query given, so they agree."""
    return _UNSTORABLE.sub("\ufffd", text)


def nfc(text: str) -> str:
    """`text` in Unicode Normalization Form C (canonically equivalent spellings made one; UAX #15)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def word_key(word: str) -> str:
    """The lookup key of a word: `clean_text`, `fold_text`, Turkic I folded, full case folding, NFKC again."""
    if word.isascii() and word.isprintable():
        # The same key: printable ASCII is its own NFKC form, holds nothing to clean, fold or remove, and case-folds
        # as it lowers. Every new surface of an ingest takes this path (most of them, in English text).
        return word.lower()
    return _key(word, True)


def older_keys(word: str) -> list[str]:
    """The keys older sensesearch gave `word` where they differ from `word_key`'s, newest first: an index made then
    stores "donʼt" as that one word, "donʼt", "كـتـب" with its tatweel and "bank¹" as bank1 (it holds a GLUING
    look-alike, a TATWEEL, a superscript or a symbol against a letter), and one of 2026-11-30 and earlier every word
    as NFKC and case folding alone left it ("co\u00adoperate" with its soft hyphen, "İstanbul" as "i̇stanbul"). A
    lookup of the word must still find them there (wordplaces.py); "bank¹" and "İstanbul" had found nothing."""
    now = word_key(word)
    keys = [_key(word, False)] if _OLDER_KEPT.search(word) is not None else []
    keys.append(unicodedata.normalize("NFKC", clean_text(word)).casefold())
    return [key for i, key in enumerate(keys) if key != now and key not in keys[:i]]


def _key(word: str, unglue: bool) -> str:
    folded = unicodedata.normalize("NFKC", fold(clean_text(word), unglue).text).translate(_TURKIC)
    return unicodedata.normalize("NFKC", folded.casefold()).replace("i\u0307", "i")
