"""Lemmas of stored word forms: one offline lemmatiser (simplemma), chosen by the index's language setting.

A lemma is a property of a word type, not of an occurrence: simplemma looks a form up in its
dictionary for the language (and falls back to rules, then to the form itself), without context.
So "banks" and "banked" both get the lemma "bank", whatever sentence they stand in. The lemma is
that of the stored (case-folded) form, so it never depends on which spelling of a word an index met
first; case matters to simplemma in some languages (German "Haus" is a noun, "haus" a form of the
verb hausen), so there a form is read capitalised, as nouns are written.
Source: Barbaresi (2023), simplemma, https://github.com/adbar/simplemma (54 languages, data shipped).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import unicodedata

from .errors import ConfigMismatchError
from .normalize import word_key

DEFAULT_LANGUAGE = "en"
LEMMA_CACHE = 200_000
CAPITALISED_NOUNS = frozenset({"de", "lb"})
"""Languages that write every noun with a capital letter: a word form is read capitalised first ("haus" as Haus,
not as a form of the verb hausen)."""


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
        self._warming: threading.Thread | None = None

    def warm(self) -> None:
        """Load the dictionaries now, on a thread of their own, so that the load overlaps other start-up work (a
        model loading): simplemma loads a language's dictionary at its first word, 0.19 s for English (cProfile of
        an ingest on this machine). A lemma asked for meanwhile waits for the load; a second call does nothing."""
        if self._warming is None:
            self._warming = threading.Thread(target=self._load, name="sensesearch-lemmas", daemon=True)
            self._warming.start()

    def __call__(self, word: str) -> str:
        """The lemma of a word form, case-folded and NFKC like stored forms; any spelling of the form gives the same.

        The lemma is a function of the stored form (normalize.word_key) alone, not of the spelling that
        happened to be indexed first: otherwise "states" would get the lemma "states" in an index that met
        "United States" first and "state" in one that met "the several states" first, and lemma search would
        depend on the order of the files. simplemma reads the form lower-cased, or capitalised first in
        CAPITALISED_NOUNS languages.
        """
        return self._cached(word_key(word))

    def _lemmatize(self, form: str) -> str:
        if self._warming is not None:
            self._warming.join()  # one load of the dictionaries, not a second one beside it
        spelling = form[:1].upper() + form[1:] if self._codes[0] in CAPITALISED_NOUNS else form
        # simplemma raises on some inputs it cannot split (odd scripts); the form is its own lemma then.
        try:
            lemma = self._simplemma(spelling)
        except (ValueError, KeyError, IndexError):
            return form
        return unicodedata.normalize("NFKC", lemma).casefold() or form

    def _load(self) -> None:
        # A failure here comes again, and is handled, at the first real word.
        with contextlib.suppress(ValueError, KeyError, IndexError):
            self._simplemma("a")

    def _simplemma(self, spelling: str) -> str:
        from simplemma import lemmatize

        return lemmatize(spelling, lang=self._codes[0] if len(self._codes) == 1 else self._codes)


@functools.lru_cache(maxsize=8)
def lemmatizer(language: str = DEFAULT_LANGUAGE) -> Lemmatizer:
    """A shared Lemmatizer per language setting (its dictionary takes a moment to load)."""
    return Lemmatizer(language)
