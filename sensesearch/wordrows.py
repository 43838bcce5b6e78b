"""Finding words in the metadata store: a form's occurrences (by lemma, in some documents, under --where
conditions), a phrase's places, forms by prefix, and the stored words that older word rules may have cut, with the
number of those rules (foldchanges.py) the store's words were cut under.

`WordRows` reads through the store's engine; store.MetaStore extends it with the rest of the tables' life.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from . import filters
from .conditions import Condition
from .foldchanges import FOLD_VERSION, StoredWord
from .schema import corpus_order, documents, occurrences, owning_document, sentences, settings, words

FOLD_VERSION_KEY = "fold_version"
"""The settings row that records how many of foldchanges.FOLD_CHANGES a store's words were cut under."""
SCANNED = 20_000
"""Occurrences `stored_words` reads a query."""
MAX_PHRASE_WORDS = 32
"""Words of a phrase looked up at most: each is one table of a join, and SQLite joins at most 64 (past that the
lookup failed as a database error, naming the database)."""


class WordRows:
    """Word lookups over the store's tables."""

    engine: Engine

    def word_id(self, form: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(words.c.id).where(words.c.form == form)).scalar()

    def occurrence_ids(self, form: str, document_keys: Sequence[str] | None = None, *, lemma: str | None = None,
                       where: Sequence[Condition] = ()) -> list[int]:
        """Ids of all occurrences of a normalised form, in corpus order (schema.corpus_order; optionally within some
        documents).

        With `lemma` (the query's own lemma), every form sharing the stored lemma of `form` counts
        too, or sharing `lemma` when `form` is not stored; `where` keeps the occurrences whose
        documents meet every condition (see sensesearch.filters), evaluated in SQL.
        """
        matches = words.c.form == form
        if lemma is not None:
            known = words.alias("known")
            stored = select(known.c.lemma).where(known.c.form == form).correlate_except(known).scalar_subquery()
            matches = matches | (words.c.lemma == func.coalesce(stored, lemma))
        query = (select(occurrences.c.id).join(words, words.c.id == occurrences.c.word_id)
                 .join(documents, documents.c.id == owning_document(occurrences.c.id))
                 .where(matches).order_by(*corpus_order(occurrences.c.id)))
        if document_keys:
            query = query.where(documents.c.key.in_(list(document_keys)))
        if where:
            query = query.where(filters.document_clause(where, documents, self.engine.dialect.name))
        with self.engine.connect() as conn:
            return [int(r) for r in conn.execute(query).scalars()]

    def phrase_occurrence_ids(self, words_at: Sequence[tuple[int, str]],
                              document_keys: Sequence[str] | None = None) -> list[tuple[int, ...]]:
        """Where a phrase occurs: one tuple of occurrence ids per place, in corpus order of its first word
        (schema.corpus_order).

        `words_at` holds (row offset, normalised form) of each stored word of the phrase, the first at
        offset 0; a place is a sentence whose stored words at position p + offset have those forms.
        Stored words of one sentence have consecutive ids, so each later word is found by primary key.
        """
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(words.c.form, words.c.id)
                                      .where(words.c.form.in_([form for _, form in words_at]))).all())
            if any(form not in found for _, form in words_at):
                return []
            parts = [occurrences.alias(f"w{i}") for i in range(len(words_at))]
            first = parts[0]
            query = select(*[p.c.id for p in parts]).where(first.c.word_id == found[words_at[0][1]])
            for i, (offset, form) in enumerate(words_at[1:], start=1):
                query = query.where(parts[i].c.id == first.c.id + i, parts[i].c.sentence_id == first.c.sentence_id,
                                    parts[i].c.position == first.c.position + offset,
                                    parts[i].c.word_id == found[form])
            query = query.join_from(first, documents, documents.c.id == owning_document(first.c.id))
            if document_keys:
                query = query.where(documents.c.key.in_(list(document_keys)))
            return [tuple(int(i) for i in row) for row in conn.execute(query.order_by(*corpus_order(first.c.id)))]

    def fold_version(self) -> int:
        """How many of foldchanges.FOLD_CHANGES had been made when the store's words were cut: FOLD_VERSION for a
        store made now (MetaStore records it), 0 for one made before they were counted (any of them may apply)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(settings.c.value).where(settings.c.key == FOLD_VERSION_KEY)).scalar()
        return int(found) if found is not None else 0

    def record_fold_version(self) -> None:
        """Record that the store's words are cut as today's rules cut them (FOLD_VERSION): for a store whose words
        no later change cuts otherwise (folder.check_stored_words), so that they are looked at once."""
        with self.engine.begin() as conn:
            if conn.execute(settings.update().where(settings.c.key == FOLD_VERSION_KEY)
                            .values(value=str(FOLD_VERSION))).rowcount == 0:
                conn.execute(settings.insert().values(key=FOLD_VERSION_KEY, value=str(FOLD_VERSION)))

    def stored_words(self) -> Iterator[tuple[StoredWord, str]]:
        """Every stored word of a sentence that holds more than printable ASCII, with its document's label, in
        occurrence order: the rules of foldchanges.py cut no printable ASCII otherwise. Each row is read once, a
        chunk of them at a time by id (occurrences has no index on sentence_id: a lookup by sentence read the table)."""
        last = -1
        with self.engine.connect() as conn:
            while rows := conn.execute(select(occurrences.c.id, occurrences.c.sentence_id, occurrences.c.start,
                                              occurrences.c.end, words.c.form)
                                       .join(words, words.c.id == occurrences.c.word_id)
                                       .where(occurrences.c.id > last).order_by(occurrences.c.id).limit(SCANNED)).all():
                last = int(rows[-1][0])
                # A chunk's sentences are one id range: occurrence ids rise with the sentence ids of their documents.
                texts = {int(i): (text, label) for i, text, label in conn.execute(
                    select(sentences.c.id, sentences.c.text, documents.c.label)
                    .join(documents, documents.c.id == sentences.c.document_id)
                    .where(sentences.c.id.between(min(int(r[1]) for r in rows), max(int(r[1]) for r in rows))))
                    if not (text.isascii() and text.isprintable())}
                for _, sentence_id, start, end, form in rows:
                    if int(sentence_id) in texts:
                        text, label = texts[int(sentence_id)]
                        yield StoredWord(text, int(start), int(end), form), label

    def top_forms(self, prefix: str, limit: int = 5) -> list[str]:
        """Known forms that start with `prefix`, most frequent first (for "did you mean")."""
        query = (select(words.c.form).join(occurrences, occurrences.c.word_id == words.c.id)
                 .where(words.c.form.startswith(prefix, autoescape=True)).group_by(words.c.form)
                 .order_by(func.count().desc()).limit(limit))
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
