"""Re-encode an index's vectors from the sentences its metadata store already holds (no corpus files needed).

Used by `verify --repair` when the vector codec cannot tell usages apart or some documents' vectors are lost,
and by SenseIndex.reindex.
Each stored occurrence names its sentence and its row (`position`) in the encoder's output for that
sentence; the fresh vector is taken from that row, after checking that the encoder still finds the
same word there (same character span), so a changed model or tokenizer is reported, not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Row, select, true

from .config import IndexConfig
from .errors import ConfigMismatchError, EncoderOutputError, ModelLoadError
from .ivf import Assign
from .foldchanges import StoredWord
from .rescore import Encode, stored_row_vector
from .schema import ID_BATCH, occurrences, sentences, words
from .store import MetaStore
from .vectors import VECTORS_FILE, VectorStore

SENTENCES_PER_BATCH = 512
OCCURRENCES_PER_PAGE = 16_384


def reencoded_vectors(store: MetaStore, encode: Encode, dim: int, compression: str,
                      progress: Callable[[int], None] | None = None, assign: Assign | None = None) -> VectorStore:
    """A new vector store holding a fresh vector for every stored occurrence, its codec trained on a sample of all.

    Raises ConfigMismatchError when the encoder no longer finds a stored word at its stored span.
    `assign` chooses the lists when the result is an IVF index (ivf.py), FAISS on the CPU by default.
    Memory: exact (fp16) codes of every vector until the codec is trained once at the end.
    """
    fresh = VectorStore.create(dim, compression)
    done = 0
    for ids, vectors in encoded_occurrences(store, encode, dim):
        fresh.add(ids, vectors)
        done += len(ids)
        if progress:
            progress(done)
    fresh.train_codec()
    fresh.fit_layout(assign)
    return fresh


def encoded_occurrences(store: MetaStore, encode: Encode, dim: int,
                        documents: Sequence[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Fresh vectors of the stored occurrences, of every document or of `documents` (ids) only, a batch of
    SENTENCES_PER_BATCH sentences at a time: (occurrence ids (n,) int64, unit vectors (n, dim) float32).

    Raises ConfigMismatchError when the encoder no longer finds a stored word at its stored span.
    """
    if documents is None:
        yield from _encoded(store, encode, dim, true())
        return
    # ID_BATCH documents a query: one IN list of them all passed SQLite's and PostgreSQL's limits on bound values
    # past 999 (older SQLite), 32,766 or 65,535 documents, and `verify --repair` then dropped every one of them.
    chosen = list(documents)
    for first in range(0, len(chosen), ID_BATCH):
        yield from _encoded(store, encode, dim, sentences.c.document_id.in_(chosen[first:first + ID_BATCH]))


def _encoded(store: MetaStore, encode: Encode, dim: int,
             chosen: ColumnElement[bool]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches of encoded_occurrences for the occurrences whose sentence meets `chosen`.

    Occurrences are read in pages of OCCURRENCES_PER_PAGE by their primary key, each with its sentence's text, so
    the table is read once: each batch of sentences had looked its occurrences up by sentence id, which no index
    serves, a whole read of the table a batch (with the model left out: 3.9 s for 632k occurrences, 22.8 s for
    1.97M, growing with the square of the index). A page's last sentence waits for the next page, so that a
    sentence is encoded once."""
    last, page = -1, OCCURRENCES_PER_PAGE
    with store.engine.connect() as conn:
        while True:
            rows = conn.execute(select(occurrences.c.id, occurrences.c.sentence_id, occurrences.c.position,
                                       occurrences.c.start, occurrences.c.end, words.c.form, sentences.c.text)
                                .select_from(occurrences.join(sentences, sentences.c.id == occurrences.c.sentence_id)
                                             .join(words, words.c.id == occurrences.c.word_id))
                                .where(chosen, occurrences.c.id > last)
                                .order_by(occurrences.c.id).limit(page)).all()
            if not rows:
                return
            if len(rows) == page:
                rows = [row for row in rows if row[1] != rows[-1][1]]
                if not rows:  # one sentence fills the page: read a larger one
                    page *= 2
                    continue
            last, page = int(rows[-1][0]), OCCURRENCES_PER_PAGE
            for batch in _sentence_batches(rows):
                yield _batch_vectors(batch, encode, dim)


def _sentence_batches(rows: Sequence[Row[Any]]) -> Iterator[list[Row[Any]]]:
    """`rows` (occurrences in id order, each with its sentence id second) cut into runs of at most
    SENTENCES_PER_BATCH sentences, never between two occurrences of one sentence that follow each other."""
    batch: list[Row[Any]] = []
    seen: set[int] = set()
    for row in rows:
        if row[1] not in seen and len(seen) == SENTENCES_PER_BATCH:
            yield batch
            batch, seen = [], set()
        seen.add(row[1])
        batch.append(row)
    if batch:
        yield batch


def _batch_vectors(rows: Sequence[Row[Any]], encode: Encode, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(occurrence ids, fresh unit vectors) of `rows`: their sentences encoded once each."""
    texts = {int(row[1]): row[6] for row in rows}
    at = {sentence_id: i for i, sentence_id in enumerate(texts)}
    encoded = encode(list(texts.values()))
    ids = np.fromiter((int(row[0]) for row in rows), dtype=np.int64, count=len(rows))
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    for i, (occurrence_id, sentence_id, position, start, end, form, text) in enumerate(rows):
        word = StoredWord(text, start, end, form)
        vectors[i] = stored_row_vector(encoded[at[int(sentence_id)]], position, word, occurrence_id, sentence_id)
    return ids, vectors


def rewrite_vectors(folder: Path, config: IndexConfig, store: MetaStore, encoder: Callable[[], Encode]) -> str:
    """A new vectors file at `folder`: a vector for every stored occurrence, from the stored sentences (the model is
    needed, the corpus is not); returns what was done, in words.

    `encoder` gives the checked model's encode function; it is called only when there is something to encode.
    """
    if not store.counts()["occurrences"]:
        VectorStore.create(config.dim, config.compression).save(folder / VECTORS_FILE)
        return "wrote an empty vectors file (the metadata holds no occurrences)"
    fresh = reencoded_vectors(store, encoder(), config.dim, config.compression)
    fresh.save(folder / VECTORS_FILE)
    return f"re-encoded {fresh.ntotal} vectors from the stored sentences ({fresh.describe()})"


def remade_lost_vectors(config: IndexConfig, store: MetaStore, lost: set[int], damaged_kept: set[int],
                        untrusted: set[int], encoder: Callable[[], Encode],
                        actions: list[str]) -> tuple[list[tuple[np.ndarray, np.ndarray]], set[int]]:
    """Fresh vectors for the documents whose rows are sound but whose vectors were lost or doubled, made from the
    stored sentences before anything is written (a failed encode leaves the disk as it was), and the documents left
    as they are (rows and vectors untouched; the repair must not drop their doubled vectors either).

    The rows are the record of what was indexed, and vectors are remade from them as a lost vectors file is. When the
    model cannot remake any (not loadable, not the index's, or its output refused), every such document is left as
    it is, to be remade by a later repair where the model loads: dropping them lost the only record of a document
    for a model folder moved aside, and `index` refuses a changed model anyway. Only a document whose own words the
    model no longer finds at their stored spans is added to `untrusted`, to be dropped and indexed again.
    """
    # Rows that fail their digest are no record to remake vectors from: the vectors would be of the damaged text, in
    # place of the good ones still stored, or, where the damage moved a word, the encode failed and dropped every
    # document here, this one too, though its file no longer holds its text. They stay, as the content line says.
    damaged = lost & damaged_kept
    if damaged:
        actions.append(f"left the vectors lost from {count_documents(len(damaged))} whose rows fail their content "
                       "digest as they are (they cannot be remade from damaged rows); restore meta.sqlite from a "
                       "backup, then run --repair again")
    remade = sorted(lost - damaged)
    if not remade:
        return [], damaged
    try:
        fresh, failed = _encoded_documents(store, encoder(), config.dim, remade)
    except (ModelLoadError, ConfigMismatchError, EncoderOutputError) as exc:
        # The model failed, not the rows (a span mismatch of one document is _encoded_documents' to sort out).
        actions.append(f"left the rows and vectors of {count_documents(len(remade))} whose vectors were lost or "
                       f"doubled as they are: the index's model could not be used ({exc}); run `sensesearch verify "
                       "--repair` again where it loads")
        return [], damaged | set(remade)
    if failed:
        untrusted.update(doc for doc, _ in failed)
        actions.append(f"could not re-encode the vectors lost from {count_documents(len(failed))} ({failed[0][1]})")
    if fresh:
        done = len(remade) - len(failed)
        actions.append(f"re-encoded {sum(len(ids) for ids, _ in fresh)} vectors of {count_documents(done)} "
                       "whose vectors were lost or doubled, from the stored sentences")
    return fresh, damaged


def _encoded_documents(store: MetaStore, encode: Encode, dim: int, chosen: list[int]
                       ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[int, ConfigMismatchError]]]:
    """Fresh (ids, vectors) of the `chosen` documents, and those whose words the model no longer finds at their
    stored spans with the first such error of each: one such document failed the whole encode, and every other
    document with lost vectors was dropped with it."""
    try:
        return list(encoded_occurrences(store, encode, dim, chosen)), []
    except ConfigMismatchError:
        pass  # find which documents fail, one at a time (the batched pass above is the common case)
    fresh: list[tuple[np.ndarray, np.ndarray]] = []
    failed: list[tuple[int, ConfigMismatchError]] = []
    for doc in chosen:
        try:
            fresh += list(encoded_occurrences(store, encode, dim, [doc]))
        except ConfigMismatchError as exc:
            failed.append((doc, exc))
    return fresh, failed


def count_documents(documents: int) -> str:
    """'1 document', '2 documents': the repair report's count."""
    return f"{documents} document{'s' if documents != 1 else ''}"
