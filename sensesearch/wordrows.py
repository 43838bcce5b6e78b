"""Finding words in the metadata store: a form's occurrences (by lemma, in some documents, under --where
conditions), a phrase's places, forms by prefix or by the characters they hold.

`WordRows` reads through the store's engine; store.MetaStore extends it with the rest of the tables' life.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from . import filters
from .schema import corpus_order, documents, occurrences, owning_document, sentences, words

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
                       where: Sequence[filters.Condition] = ()) -> list[int]:
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

    def words_holding(self, chars: str, limit: int = 3) -> list[tuple[str, str]]:
        """(form, label of a document using it) of up to `limit` stored words whose form holds one of `chars`."""
        query = (select(words.c.form, documents.c.label)
                 .join(occurrences, occurrences.c.word_id == words.c.id)
                 .join(sentences, sentences.c.id == occurrences.c.sentence_id)
                 .join(documents, documents.c.id == sentences.c.document_id)
                 .where(or_(*(words.c.form.contains(c, autoescape=True) for c in chars)))
                 .group_by(words.c.form, documents.c.label).order_by(documents.c.label, words.c.form).limit(limit))
        with self.engine.connect() as conn:
            return [(str(form), str(label)) for form, label in conn.execute(query)]

    def top_forms(self, prefix: str, limit: int = 5) -> list[str]:
        """Known forms that start with `prefix`, most frequent first (for "did you mean")."""
        query = (select(words.c.form).join(occurrences, occurrences.c.word_id == words.c.id)
                 .where(words.c.form.startswith(prefix, autoescape=True)).group_by(words.c.form)
                 .order_by(func.count().desc()).limit(limit))
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
