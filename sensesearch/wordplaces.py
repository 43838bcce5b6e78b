"""Words and phrases: where a user's word occurs, as one stored word or as adjacent stored words, and what to say
when it does not.

`WordPlaces` reads the rows of a snapshot source (parts.SnapshotSource); search.Searcher extends it with the
vectors, scores and hits of those places.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .arguments import flag, word_argument
from .errors import NotAWordError, QueryError, WordNotFoundError
from .conditions import Condition
from .filters import describe_scope
from .lemmas import lemmatizer
from .normalize import older_keys
from .query import Phrase, bare_word, gap_key, is_one_word, is_punctuation, normalize_form, phrase_of, word_spans
from .wordrows import MAX_PHRASE_WORDS

if TYPE_CHECKING:
    from .parts import SnapshotSource
    from .store import MetaStore


NO_USAGES_YET = "the index holds no usages yet; index a corpus first"
"""What every lookup of an index that stores no occurrence says, whatever it asked for."""


class WordPlaces:
    """The usages of a word or phrase, read from a snapshot source's rows."""

    def __init__(self, source: SnapshotSource, splitter: Callable[[], Any]) -> None:
        """`splitter`: what cuts a phrase into words (query.word_spans: anything with a `plan` or an `encode`)."""
        self.source = source
        self.splitter = splitter

    @property
    def rows(self) -> MetaStore:
        """The metadata rows of the generation now loaded (not reloaded: see search.py's module docstring)."""
        return self.source.meta

    def places(self, word: str, documents: Sequence[str] | None = None, lemma: bool = False,
               where: Sequence[Condition] = ()) -> list[tuple[int, ...]]:
        """Occurrence ids of each usage of `word`: 1-tuples for a stored word, n-tuples for a phrase.

        A word the pre-tokenizer splits (don't, well-known, 银行) or several words (interest rate) is a
        phrase: its stored words at the same row offsets of one sentence, with the same text between.
        `lemma` widens one stored word to every form of its lemma (a phrase is matched as written: the lemmatiser
        reads "don't" as "do"); `where` keeps documents meeting the conditions.
        WordNotFoundError when there is none; its message names no option (only a front end knows its own).
        UsageError when `word` is not text. The word is read as a query's marked word is (clean_text): a lone
        surrogate finds the U+FFFD it was stored as, and never reaches the tokenizer, which cannot encode it.
        """
        word = word_argument(word)
        lemma = flag(lemma, "lemma")
        core = bare_word(word)  # "bank." and “bank” are the word bank: no tokenizer needed to see it
        if is_punctuation(core):
            raise NotAWordError(f"{word.strip()!r} is punctuation or symbols, which the index does not store: "
                                "ask for a word")
        form = normalize_form(core)
        one_word = is_one_word(core)
        lemma_of = lemmatizer(self.source.config.lemma_language) if lemma else None
        lemma_form = lemma_of(form) if lemma_of is not None and one_word else None
        ids = self.rows.occurrence_ids(form, documents, lemma=lemma_form, where=where)
        if ids:
            return [(i,) for i in ids]
        for older in dict.fromkeys(older_keys(core) + older_keys(word.strip())):
            # An index made before a change of fold (foldchanges.py) stores "donʼt" as one word, which it still finds
            # as it did; adding to such an index is refused (folder.check_stored_words). The word as typed too: a
            # symbol at its end ("bank👍🏽") is no part of the word today, and bare_word had left it out.
            ids = self.rows.occurrence_ids(older, documents, lemma=lemma_of(older) if lemma_of else None, where=where)
            if ids:
                return [(i,) for i in ids]
        phrase = Phrase(core, ((0, form),), ()) if one_word else phrase_of(word, word_spans(self.splitter(), word))
        if len(phrase.words_at) > MAX_PHRASE_WORDS:
            # A phrase of 64 words had failed as the database's own "at most 64 tables in a join".
            raise QueryError(f"a phrase of at most {MAX_PHRASE_WORDS} words is looked up, not {len(phrase.words_at)}")
        if len(phrase.words_at) > 1:
            places = self._within(self._phrase_places(phrase, documents), where)
            if places:
                return places
        elif phrase.keys and phrase.keys[0] != form:  # one stored word in inner punctuation: "'bank'-"
            form = phrase.keys[0]
            lemma_form = lemma_of(form) if lemma_of is not None else None
            ids = self.rows.occurrence_ids(form, documents, lemma=lemma_form, where=where)
            if ids:
                return [(i,) for i in ids]
        raise self._not_found(word, form, phrase, documents, lemma_form, where)

    def _within(self, places: list[tuple[int, ...]], where: Sequence[Condition]) -> list[tuple[int, ...]]:
        """The places in documents that meet `where` (all places when there is no condition)."""
        if not where or not places:
            return places
        ranges = [(d.first_occurrence, d.first_occurrence + d.n_occurrences) for d in self.rows.documents_where(where)]
        return [p for p in places if any(low <= p[0] < high for low, high in ranges)]

    def _phrase_places(self, phrase: Phrase, documents: Sequence[str] | None) -> list[tuple[int, ...]]:
        candidates = self.rows.phrase_occurrence_ids(phrase.words_at, documents)
        rows = self.rows.occurrences_by_id([i for place in candidates for i in place])
        found = []
        for place in candidates:
            words = [rows.get(i) for i in place]
            if all(w is not None for w in words) and all(
                    gap_key(a.sentence_text[a.end:b.start]) == gap
                    for a, b, gap in zip(words, words[1:], phrase.gaps)):  # type: ignore[union-attr]
                found.append(place)
        return found

    def _not_found(self, word: str, form: str, phrase: Phrase, documents: Sequence[str] | None,
                   lemma: str | None = None, where: Sequence[Condition] = ()) -> WordNotFoundError:
        if not self.rows.holds_usages():
            # An empty index (new, or every document removed): `query` had added "try --any-word", which then
            # said this, and `usages` named the word as though others were there.
            return WordNotFoundError(NO_USAGES_YET, any_word_helps=False)
        unmet = self.rows.why_none_meet(where)
        scope = describe_scope(documents, where, unmet)
        if len(phrase.words_at) > 1:
            message = (f"{word!r} does not occur in the index{scope} as the adjacent words "
                       + " ".join(phrase.keys))
        else:
            what = f"{word!r} (lemma {lemma!r})" if lemma is not None else repr(word)
            everywhere = len(self.rows.occurrence_ids(form, lemma=lemma)) if scope else 0
            if everywhere:
                # The word is there: the scope is what left nothing, and words "starting alike" would name itself.
                return WordNotFoundError(f"{what} has no usage{scope}, though the index has {everywhere} "
                                         f"usage{'s' if everywhere != 1 else ''} of it", any_word_helps=not unmet)
            message = f"{what} does not occur in the index{scope}"
            similar = self.rows.top_forms(form[:3]) if len(form) >= 3 else []
            if similar:
                message += f" (known words starting alike: {', '.join(similar)})"
        return WordNotFoundError(message, any_word_helps=not unmet)
