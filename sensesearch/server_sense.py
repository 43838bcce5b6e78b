"""HTTP routes of the sense inventory: a word's named senses, every usage with its sense tag, documents by sense."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sensesearch import SenseIndex, hits_with_names, listed_names

from .server_state import IndexService

MAX_WORD_CHARS = 100
MAX_TAGGED = 2000
WordParam = Annotated[str, Query(min_length=1, max_length=MAX_WORD_CHARS, description="The word (case-insensitive).")]
SenseParam = Annotated[str, Query(min_length=1, max_length=MAX_WORD_CHARS, description="A named sense of the word.")]


def add_sense_routes(api: APIRouter, service: IndexService) -> None:
    """Register /api/inventory, /api/sense/tags and /api/sense/documents on `api` (read-only)."""

    @api.get("/api/inventory", tags=["senses"])
    def inventory(word: Annotated[str | None, Query(max_length=MAX_WORD_CHARS)] = None,
                  examples: bool = False) -> list[dict[str, Any]]:
        """Named senses of one word (or of every word with senses), with examples if asked and usage counts."""
        return service.call(lambda index: _inventories(index, word, examples))

    @api.get("/api/sense/tags", tags=["senses"])
    def tags(word: WordParam, limit: Annotated[int, Query(ge=1, le=MAX_TAGGED)] = 200) -> dict[str, Any]:
        """The word's usages in corpus order, each with its sense (null: unassigned) and margin, its document named as
    /api/usages names it; counts per sense."""
        return service.call(lambda index: _tagged(index, word, limit))

    @api.get("/api/sense/documents", tags=["senses"])
    def documents(word: WordParam, sense: SenseParam,
                  min_count: Annotated[int, Query(ge=1)] = 1) -> list[dict[str, Any]]:
        """Documents with at least `min_count` usages of the word in the sense, most first, with counts; each one's
        `document_name` as the command line's `sense documents` table names it (records r1 of two JSON Lines files:
        FILE#r1, where both had been "r1")."""
        found = service.call(lambda index: index.sense(word).documents(sense, min_count=min_count))
        named = listed_names((d.document, d.path) for d in found)
        return [{**d.to_dict(), "document_name": named[(d.document, d.path)]} for d in found]


def _inventories(index: SenseIndex, word: str | None, examples: bool) -> list[dict[str, Any]]:
    return [{**found.to_dict(examples), "usages": index.sense(found.word).counts()} for found in index.sense_words(word)]


def _tagged(index: SenseIndex, word: str, limit: int) -> dict[str, Any]:
    senses = index.sense(word)
    tags = senses.tags()
    found = senses.tagged(limit)
    rows = [{**row, "sense": sense, "margin": round(margin, 6)}
            for row, (_, sense, margin) in zip(hits_with_names([hit for hit, _, _ in found]), found)]
    return {"word": tags.word, "senses": tags.senses, "counts": tags.counts(), "usages": rows}
