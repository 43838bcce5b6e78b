"""Lemmas of stored word forms: one offline lemmatiser (simplemma), chosen by the index's language setting.

A lemma is a property of a word type, not of an occurrence: simplemma looks a form up in its
dictionary for the language (and falls back to rules, then to the form itself), without context.
So "banks" and "banked" both get the lemma "bank", whatever sentence they stand in. Case matters
to it in some languages (German "Haus" is a noun, "haus" a verb form), so the lemma is taken from
a surface spelling as it stood in the text and then case-folded like the stored form.
Source: Barbaresi (2023), simplemma, https://github.com/adbar/simplemma (54 languages, data shipped).
"""

from __future__ import annotations

import functools
import unicodedata

from .errors import ConfigMismatchError
from .normalize import fold_text

DEFAULT_LANGUAGE = "en"
LEMMA_CACHE = 200_000


def supported_languages() -> frozenset[str]:
    """ISO 639 codes simplemma ships dictionaries for."""
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return frozenset(SUPPORTED_LANGUAGES)


def parse_language(setting: str) -> tuple[str, ...]:
    """The language codes of a setting such as "en" or "de,en" (tried in that order).

    Raises ConfigMismatchError naming the codes simplemma does not know.
    """
    codes = tuple(code.strip().lower() for code in setting.split(",") if code.strip())
    if not codes:
        raise ConfigMismatchError("the lemma language is empty: use an ISO 639 code such as en")
    unknown = [code for code in codes if code not in supported_languages()]
    if unknown:
        raise ConfigMismatchError(f"no lemmatiser for language {', '.join(unknown)}; known: "
                                  + ", ".join(sorted(supported_languages())))
    return codes


class Lemmatizer:
    """Maps word spellings to case-folded lemmas; remembers the spellings it has seen."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language
        self._codes = parse_language(language)
        self._cached = functools.lru_cache(maxsize=LEMMA_CACHE)(self._lemmatize)

    def __call__(self, surface: str) -> str:
        """The lemma of `surface` (best as written in the text), case-folded and NFKC like stored forms.

        The surface is first read as the model reads it (normalize.fold_text: NFKC, invisible characters removed,
        case kept), so the lemma of a word type does not hang on the spelling it happened to come in first: "ﬁles"
        (a ligature) or fullwidth "ＲＡＮ" would otherwise be unknown to the dictionary and be their own lemmas.
        """
        return self._cached(fold_text(surface))

    def _lemmatize(self, form: str) -> str:
        from simplemma import lemmatize

        lang = self._codes[0] if len(self._codes) == 1 else self._codes
        # simplemma raises on some inputs it cannot split (odd scripts); the form is its own lemma then.
        try:
            lemma = lemmatize(form, lang=lang)
        except (ValueError, KeyError, IndexError):
            return form
        return unicodedata.normalize("NFKC", lemma).casefold() or unicodedata.normalize("NFKC", form).casefold()


@functools.lru_cache(maxsize=8)
def lemmatizer(language: str = DEFAULT_LANGUAGE) -> Lemmatizer:
    """A shared Lemmatizer per language setting (its dictionary takes a moment to load)."""
    return Lemmatizer(language)
