"""Bytes to text: the one decoder of every text a user hands over in a file (corpora, query files, compare's lines,
labelled sense examples, metadata sidecars), so a file that one command reads, every command reads alike.

UTF-8 first, a byte-order mark's encoding where there is one; UTF-8 that has a few stray bytes of a legacy encoding
(the commonest mix in real corpora: a cp1252 quote pasted into UTF-8 text) or that was cut inside its last
character stays UTF-8, those bytes alone repaired; anything else is left to charset-normalizer's detector, the
readings it cannot tell apart ranked by how widely their encodings are used.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from fractions import Fraction
from pathlib import Path

from charset_normalizer import from_bytes

from .errors import InputError

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_STRAY = re.compile("[\udc80-\udcff]+")
"""Bytes the UTF-8 decoder could not read, as its surrogateescape handler hands them over (PEP 383)."""
_STRAY_LETTER = re.compile("[\udca0-\udcff]")
_SOUND = re.compile("[\u00a0-\u036f\u0800-\ud7ff\ue000-\U0010ffff]|[\u0370-\u07ff]{2,}")
"""Characters that make bytes look like UTF-8: all but C1 controls, and the two-byte scripts (Greek to NKo) only in
runs, since a cp1252 capital or ß before a cp1252 quote is a valid two-byte sequence of one of them ("ß“" = U+07D4)."""
MOSTLY_ASCII = Fraction(4, 5)
"""The share of ASCII bytes past which text is taken for Latin script (exact: 1 byte in 5 is not past it)."""
_WEB_ORDER = ("cp1252", "latin_1", "iso8859_15", "cp1251", "gb18030", "gbk", "gb2312", "shift_jis", "cp932",
              "cp1256", "iso8859_2", "euc_jp", "iso8859_9", "cp1250", "big5", "cp950", "cp1254", "euc_kr", "cp949",
              "cp874", "tis_620", "cp1253", "iso8859_7", "cp1255", "cp1257", "koi8_r", "koi8_u")
"""Legacy encodings, most used first: their share of web sites in W3Techs' survey of January 2010 (ISO-8859-1 as
the cp1252 browsers read it, then Windows-1251, GB2312, Shift JIS, Windows-1256, ISO-8859-2, EUC-JP, ISO-8859-9,
Windows-1250, Big5, Windows-1254, EUC-KR, Windows-874), then the other Windows and KOI8 code pages. Python's codec
names, each family's supersets next to it."""
_SINGLE_BYTE = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "koi8_r")
"""The Windows code pages of Europe and the Middle East, and KOI8-R: read as well as the detector's readings where
it has little evidence."""
SHORT_TEXT = 256
"""Bytes below which the detector has too little evidence to be taken at its word (its readings then tie, and it
prefers multi-byte ones: six bytes of cp1251 "Привет" came out as three GB18030 ideographs)."""
_TIE_CHAOS = 0.005
_TIE_COHERENCE = 0.02
"""The margins within which charset-normalizer's ranking (CharsetMatch.__lt__) calls two readings' mess ratio and
language coherence equal."""
_UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = (("utf-32", b"\xff\xfe\x00\x00"), ("utf-32", b"\x00\x00\xfe\xff"),
         ("utf-16", b"\xff\xfe"), ("utf-16", b"\xfe\xff"))
STRAY_ENCODING = "cp1252"
"""How stray bytes in UTF-8 text are read: Windows' Western code page, where such bytes (curly quotes, dashes,
accented letters) mostly come from; its five undefined bytes become U+FFFD."""
REPAIRED = f"utf-8+{STRAY_ENCODING}"


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode bytes to text; returns (text, encoding), the encoding "utf-8+cp1252" for UTF-8 with stray bytes read
    as cp1252 (see `repaired_utf8`). A byte-order mark is not part of the text. Raises InputError for binary data.
    """
    if data.startswith(_UTF8_BOM):
        # Declared UTF-8: its faults are repaired whatever their number, as in UTF-8 without the mark.
        text, encoding = _utf8_repaired(data[len(_UTF8_BOM):])
        return text, "utf-8-sig" + encoding.removeprefix("utf-8")
    for encoding, bom in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    if b"\x00" in data and not _text_with_stray_nuls(data):
        raise _binary(data)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    repaired = repaired_utf8(data)
    if repaired is not None:
        return repaired
    candidates, clear = _detected(data)
    if not candidates:
        raise InputError("not text in any encoding the detector knows")
    non_ascii = len(data.translate(None, bytes(range(128))))
    mostly_ascii = non_ascii <= (1 - MOSTLY_ASCII) * len(data)
    if not mostly_ascii and (clear or len(data) >= SHORT_TEXT):
        return candidates[0]
    # Little evidence (a few non-ASCII bytes, or few bytes at all): the detector's readings and those of the common
    # single-byte code pages, which it may leave out (it offered only CJK readings of "Michał poszedł"), are judged
    # by how plausible their text is; in mostly-ASCII text fewer characters also tell (multi-byte quotes read as one).
    for encoding in _SINGLE_BYTE:
        try:
            candidates.append((data.decode(encoding), encoding))
        except UnicodeDecodeError:
            pass
    return min(candidates, key=lambda c: (_oddity(c[0], count_all=mostly_ascii), _web_rank(c[1])))


HEAD_BYTES = 1 << 16
"""The first bytes of a file that `check_head` reads before the rest."""


def check_head(head: bytes) -> None:
    """InputError when a file's first bytes already make it binary for `decode_bytes`, whatever follows (no
    byte-order mark, and a run of NUL bytes, which no text with stray NULs holds): a multi-gigabyte disk image or
    sparse file named .txt was read whole, taking a minute and more memory than its size, only to be skipped."""
    if head.startswith((_UTF8_BOM, *(bom for _, bom in _BOMS))) or b"\x00\x00" not in head:
        return
    raise _binary(head)


def _binary(data: bytes) -> InputError:
    if _like_utf16(data):
        return InputError("binary file (contains NUL bytes, every other byte as UTF-16 text without a byte-order "
                          "mark has them: save it as UTF-8, or as UTF-16 with a byte-order mark)")
    return InputError("binary file (contains NUL bytes)")


def _detected(data: bytes) -> tuple[list[tuple[str, str]], bool]:
    """charset-normalizer's readings of `data` (text, encoding), best first, each named by the most used of the
    encodings that give the same text; readings the detector cannot tell apart (as its own ranking judges a tie:
    mess and coherence within its margins, as many multi-byte characters) put the most used encoding first.
    Also whether the best is clear: no other text ties with it.

    With a few non-ASCII bytes every reading ties, and the detector's order is then alphabetical: "Fuß" in cp1252
    came out as cp1006 (Urdu), "Ærø" as cp037 (EBCDIC).
    """
    # Without a byte-order mark, UTF-16 and UTF-32 text of any Latin-script language holds NUL bytes, which make a
    # file binary before detection; a reading of NUL-free bytes as either ("Déjà vu" as 䓩櫠⁶甊) is noise.
    matches = [m for m in from_bytes(data) if m.encoding and not m.encoding.startswith(("utf_16", "utf_32"))]
    if not matches:
        return [], False
    first = matches[0]
    tied = [abs(m.chaos - first.chaos) < _TIE_CHAOS and abs(m.coherence - first.coherence) <= _TIE_COHERENCE
            and m.multi_byte_usage == first.multi_byte_usage for m in matches]
    readings = [(str(m), _name(data, str(m), [m.encoding, *m.could_be_from_charset])) for m in matches]
    ahead = sorted((r for r, t in zip(readings, tied) if t), key=lambda r: _web_rank(r[1]))
    clear = all(text == readings[0][0] for text, _ in ahead)
    return ahead + [r for r, t in zip(readings, tied) if not t], clear


def _name(data: bytes, text: str, encodings: list[str]) -> str:
    """The most used of `encodings` that decodes `data` to `text` (the detector's list of alternatives holds some
    that give other text: cp1252 among a UTF-16 reading's)."""
    def same(encoding: str) -> bool:
        try:
            return data.decode(encoding) == text
        except (UnicodeDecodeError, LookupError):
            return False
    own = _web_rank(encodings[0])
    better = sorted((e for e in encodings[1:] if _web_rank(e) < own), key=_web_rank)
    return next((e for e in better if same(e)), encodings[0])


def _web_rank(encoding: str) -> int:
    return _WEB_ORDER.index(encoding) if encoding in _WEB_ORDER else len(_WEB_ORDER)


def repaired_utf8(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of bytes that are UTF-8 but for a few (`_utf8_repaired`), or None when they read better as a
    legacy encoding.

    UTF-8 needs at least one valid multi-byte character, and at least as many as the stray bytes in 0xA0-0xFF, where
    single-byte encodings keep their letters (a cp1252 "é" followed by ASCII is one such stray; Big5 and the like
    are mostly such bytes, with a valid UTF-8 pair here and there by chance). Stray bytes in 0x80-0x9F are cp1252's
    quotes and dashes, pasted into UTF-8 text in pairs, and weigh nothing: "café “nice”" stays UTF-8. A last
    character cut short is a stray too: "Fuß" in latin-1 at the end of an ASCII file stays latin-1.
    """
    escaped = data.decode("utf-8", errors="surrogateescape")
    sound = len(_SOUND.findall(escaped))
    letters = len(_STRAY_LETTER.findall(escaped))
    return _utf8_repaired(data) if sound and sound >= letters else None


NUL_SHARE_MAX = 0.01
"""Above this share of NUL bytes a file is binary (UTF-16 without a byte-order mark is near 0.5 in Latin scripts)."""


def _like_utf16(data: bytes) -> bool:
    """Whether NUL bytes stand at every other position, as in UTF-16 text of Latin script without a byte-order mark
    (only said, not decoded: random binary data of 16-bit numbers has the same look)."""
    pairs = len(data) // 2
    odd, even = data[1::2].count(0), data[0::2].count(0)
    # The other half holds the letters: a file of NULs only (a sparse or zeroed file) is no UTF-16 text.
    return pairs >= 2 and max(odd, even) >= 0.9 * pairs and min(odd, even) <= 0.1 * pairs


def _text_with_stray_nuls(data: bytes) -> bool:
    """Whether `data` is UTF-8 text holding a few NUL bytes (a damaged export, a NUL-padded record), which are
    stored as U+FFFD (normalize.clean_text) rather than the whole file skipped as binary: at most NUL_SHARE_MAX of
    the bytes, none in a run, and the rest valid UTF-8. Images, archives and BOM-less UTF-16 fail one or another."""
    nuls = data.count(b"\x00")
    if nuls > NUL_SHARE_MAX * len(data) or b"\x00\x00" in data:
        return False
    try:
        data.replace(b"\x00", b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_repaired(data: bytes) -> tuple[str, str]:
    """`data` read as UTF-8, stray bytes as STRAY_ENCODING one character each (encoding "utf-8+cp1252"), a last
    character cut short as U+FFFD (encoding "utf-8"), as a decoder that replaces errors would make it."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    text = decoder.decode(data, final=False)
    tail = decoder.getstate()[0]
    # One lead byte left is as likely a stray legacy letter ("Fu\xdf") as a cut character: read as the other strays.
    cut = len(tail) > 1
    text += "" if cut else tail.decode("utf-8", errors="surrogateescape")
    stray = _STRAY.search(text) is not None
    text = _STRAY.sub(_stray_text, text) + ("\ufffd" if cut else "")
    return text, REPAIRED if stray else "utf-8"


def _stray_text(run: re.Match[str]) -> str:
    return bytes(ord(ch) - 0xDC00 for ch in run.group()).decode(STRAY_ENCODING, errors="replace")


def read_text(path: str | Path) -> tuple[str, str]:
    """A file's text and encoding (`decode_bytes`). Raises OSError when it cannot be read, InputError for binary data."""
    return decode_bytes(Path(path).read_bytes())


def line_break(text: str) -> str:
    """What ends `text`'s lines: "\n" (a "\r" before it dropped), or "\r" in a file with no "\n" at all, whose lines
    end as classic Mac OS ended them (`compare` had read such a file as one line, while `index` cut it at each)."""
    return "\r" if "\r" in text and "\n" not in text else "\n"


def physical_lines(text: str) -> list[str]:
    """`text` cut at its line breaks (line_break) only, unlike str.splitlines, which also cuts at U+2028, U+0085, form
    feeds and other separators that can sit inside one record or sentence."""
    lines = [line.removesuffix("\r") for line in text.split(line_break(text))]
    return lines[:-1] if lines and lines[-1] == "" else lines


def _oddity(text: str, count_all: bool = True) -> tuple[int, int]:
    """(implausible, all) non-ASCII characters of one reading of bytes that give the detector little evidence;
    `all` is counted only with `count_all` (0 otherwise).

    Implausible: controls, unassigned and private-use code points; a letter beside a letter of another script in one
    word ("a駉": latin-1 "año" read as GB18030), or a capital after a small letter ("еЯнбй": Greek read as cp1251);
    a symbol or number between two letters ("przes³anie": Polish ł read as cp1252; punctuation such as ’ or · may
    stand there); a word of three or more Latin letters none of them ASCII ("áàíê": Russian банк read as cp1252),
    which no Latin-script language spells. In mostly-ASCII text, also
    a lone CJK character ("the 舰 decrease": cp1252 "½¢" read as GB18030; Chinese words come in runs), and fewer
    characters means multi-byte sequences read as one (Big5 curly quotes read as "manĪ”s" in cp775).
    """
    odd = 0
    found = list(_NON_ASCII.finditer(text))
    judged_words: set[int] = set()
    for match in found:
        ch, at = match.group(), match.start()
        category = unicodedata.category(ch)
        before, after = text[at - 1:at] if at else "", text[at + 1:at + 2]
        if category[0] == "C":
            odd += 1
        elif category[0] in "SN" and before.isalpha() and after.isalpha():
            odd += 1
        elif category[0] == "L":
            if any(n.isalpha() and _script(n) != _script(ch) for n in (before, after)) or (
                    category == "Lu" and before.islower()):
                odd += 1
                continue
            first = at
            while first and text[first - 1].isalpha():
                first -= 1
            if first in judged_words:
                continue
            judged_words.add(first)
            last = at
            while last < len(text) and text[last].isalpha():
                last += 1
            word = text[first:last]
            if len(word) >= 3 and not any(c.isascii() for c in word) and all(_script(c) == "LATIN" for c in word):
                odd += 1
            elif count_all and len(word) == 1 and _script(ch) == "CJK":
                odd += 1
    return odd, len(found) if count_all else 0


def _script(letter: str) -> str:
    """The script of a letter, from its Unicode name; Chinese, Japanese and Korean are one (kanji and kana mix)."""
    name = unicodedata.name(letter, "")
    script = name.split(" ", 1)[0]
    return "CJK" if script in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "HALFWIDTH", "FULLWIDTH") else script
