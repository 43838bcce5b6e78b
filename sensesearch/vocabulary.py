"""The words of one ingest run: surface strings to word ids, and the rows of the words new to the store.

A surface string (the text a word occurrence covers) becomes a word by its normalised form
(query.normalize_form); punctuation gets no word. Each distinct surface is looked up once per run:
after that a dictionary answers for a whole chunk of surfaces at once.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

import numpy as np

from .query import is_punctuation, normalize_form

PUNCTUATION = -1
"""The word id of a punctuation surface: it gets no occurrence."""
UNSEEN = 0
"""Not a word id (they start at 1): a surface not looked up yet in this run."""

WordRow = tuple[int, str, str]
"""A new word's row: (id, form, lemma)."""


class RunVocabulary:
    """Word ids for the surfaces of one run, giving new forms the next free ids (from `next_word` on) and a lemma.

    `word_ids`: every form already stored, with its id (the writer's word_ids); it grows with the run.
    `lemma_of`: a surface string's lemma (lemmas.lemmatizer).
    """

    def __init__(self, word_ids: dict[str, int], next_word: int, lemma_of: Callable[[str], str]) -> None:
        self.word_ids = word_ids
        self.next_word = next_word
        self.lemma_of = lemma_of
        self.surface_ids: dict[str, int] = {}

    def ids_of(self, surfaces: list[str]) -> tuple[np.ndarray, list[WordRow]]:
        """(n,) int64 word ids of `surfaces` (PUNCTUATION for punctuation), and the rows of the words they add."""
        word_ids = np.fromiter(map(self.surface_ids.get, surfaces, repeat(UNSEEN)), dtype=np.int64,
                               count=len(surfaces))
        new_words: list[WordRow] = []
        for at in np.flatnonzero(word_ids == UNSEEN).tolist():
            # A surface new to this run may come again in the same call: by then it is known.
            known = self.surface_ids.get(surfaces[at], UNSEEN)
            word_ids[at] = known if known != UNSEEN else self._look_up(surfaces[at], new_words)
        return word_ids, new_words

    def _look_up(self, surface: str, new_words: list[WordRow]) -> int:
        """The word id of a surface string seen first now, remembered for the rest of the run."""
        if is_punctuation(surface):
            self.surface_ids[surface] = PUNCTUATION
            return PUNCTUATION
        form = normalize_form(surface)
        word_id = self.word_ids.get(form)
        if word_id is None:
            word_id = self.word_ids[form] = self.next_word
            self.next_word += 1
            new_words.append((word_id, form, self.lemma_of(surface)))
        self.surface_ids[surface] = word_id
        return word_id
