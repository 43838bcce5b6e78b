"""WordSenses: the Python API of one word's sense inventory, tags and search by sense (SenseIndex.sense(word))."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .arguments import one_or_many, optional_number, text_argument, word_argument
from .errors import InputError, QueryError, SenseNotFoundError, UsageError, WordNotFoundError
from .evaldata import WsdItem
from .conditions import Condition
from .inventory import Inventory
from .lemmas import lemmatizer
from .query import bare_key, bare_word, normalize_form, parse_marked
from .records import Hit, UsagePage
from .sense_examples import (DEFAULT_CLUSTER_EXAMPLES, cluster_examples, encode_items, item_forms, marked_item,
                             read_labelled)
from .sense_records import Example, WordInventory, check_name, new_name
from .sensetags import SenseDocument, WordTags, forget, sense_documents, sense_query, sense_usages, word_tags

if TYPE_CHECKING:
    from . import SenseIndex

log = logging.getLogger(__name__)

NOTHING_TO_TAG = (WordNotFoundError, SenseNotFoundError, InputError)
"""What tagging raises where a word has no usage, no sense or no example to tag with: counts() is None then. Not a
failing database or disk (StorageError), which had been answered as "no senses" too."""


class WordSenses:
    """Named senses of one word in one index: define them, tag every usage, search within a sense.

    Example:
        senses = index.sense("bank")
        senses.add("finance", ["She paid the cheque into the [[bank]]."])
        senses.add("river", ["They fished from the grassy [[bank]]."])
        hits = senses.usages("finance")
    """

    def __init__(self, index: SenseIndex, word: str) -> None:
        self.index = index
        self.word = bare_key(word_argument(word))  # "bank." is bank, as `usages` reads it
        if not self.word:
            raise InputError("name a word")
        self._inventory = Inventory(index.store)
        # A form another word's inventory tags (banks, once an example of bank marked it) means that inventory, as
        # searches by sense read it: `sense add banks ...` had made a second inventory that hid bank's senses from
        # `usages banks --sense`, and `sense config banks` found none.
        owner = self._inventory.covering(self.word)
        if owner is not None:
            self.word = owner.word

    def inventory(self) -> WordInventory | None:
        """The word's senses and tagging settings, or None when it has none."""
        return self._inventory.get(self.word)

    def add(self, name: str, examples: str | Sequence[str] = ()) -> WordInventory:
        """Add marked example sentences ("... the [[bank]] ...") to sense `name` (made if new); needs the model.

        One sentence is a list of one; `name` may name a sense the word has (as stored, or in NFC). UsageError for a
        name or an example that is not text, a name check_name refuses or one that differs from a sense of the word
        only in case (sense_records.new_name), InputError for an example without the word marked (and QueryError for
        one that marks another word), all before the model loads."""
        name = self._new_names([name])[name]
        items = [marked_item(self.word, text_argument(text, "an example"), name)
                 for text in one_or_many(examples, "examples") or ()]
        if not items:
            raise InputError(f"give at least one example sentence of {self.word!r} with the word marked [[like this]]")
        forms, strangers = self._forms_of_word(item_forms(items))
        if strangers:
            raise QueryError(f"an example marks {strangers[0]!r}, which is not a form of {self.word!r} (nor of its "
                             f"lemma): mark {self.word!r} itself, e.g. \"the [[{self.word}]] ...\"")
        self.index._require_writer()
        return self._store(name, encode_items(self.index.encoder, items, "text"), forms)

    def add_from_cluster(self, name: str, cluster: int, k: int | None = None, seed: int = 0,
                         limit: int = DEFAULT_CLUSTER_EXAMPLES) -> WordInventory:
        """Add the `limit` most central usages of induced sense `cluster` (as `senses` numbers it) to `name`.

        k and seed as `senses` takes them; UsageError for a name as `add` refuses it, or a cluster or limit that is not
        a whole number from 1."""
        name = self._new_names([name])[name]
        self.index._require_writer()
        return self._store(name, cluster_examples(self.index, self.word, cluster, k=k, seed=seed, limit=limit), ())

    def add_from_file(self, path: str | Path) -> dict[str, int]:
        """Add every labelled example of a TSV/JSONL file or CoarseWSD word folder; examples added per sense (one
        the sense already has is not added again)."""
        return self.add_items(read_labelled(path, self.word))

    def add_items(self, items: Sequence[WsdItem], source: str = "file", forms: Sequence[str] = ()) -> dict[str, int]:
        """Add labelled items (sentence, target span, sense name in `sense`); examples added per sense.

        The forms the items mark, and `forms`, join the word forms whose usages are tagged. The items' sense names are
        checked as `add` checks one, all before any is stored: "Finance" and "finance" in one file are a clash too.
        """
        if not items:
            raise InputError(f"no labelled examples of {self.word!r}")
        stored = self._new_names(sorted({item.sense for item in items}))
        forms, strangers = self._forms_of_word(sorted(set(item_forms(items)) | {normalize_form(f) for f in forms}))
        if not forms:
            # Not a slip but another word's file (a CoarseWSD-20 folder of bank given for crane): it had made the word's
            # senses of that word's examples, with a warning only, after encoding them all.
            raise QueryError(f"no example marks {self.word!r} or a form of it (they mark "
                             f"{', '.join(map(repr, strangers[:5]))}): give the examples of {self.word!r}")
        self.index._require_writer()
        vectors = encode_items(self.index.encoder, items, source)
        by_sense: dict[str, list[Example]] = {}
        for item, example in zip(items, vectors):
            by_sense.setdefault(stored[item.sense], []).append(example)
        if strangers:
            # Labelled data has such slips (CoarseWSD-20 marks "perl" once among its java examples): the example is
            # kept, as labelled, but the usages of another word are not tagged as this word's.
            log.warning("%s: examples that mark %s, not a form of %r, leave those words' usages untagged",
                        source, ", ".join(map(repr, strangers)), self.word)
        # Counted, not taken from the input: an example a sense already has is not added again.
        before = example_counts(self.inventory())
        for name, chosen in sorted(by_sense.items()):
            grown = self._store(name, chosen, forms)
        after = example_counts(grown)
        return {name: after.get(name, 0) - before.get(name, 0) for name in sorted(by_sense)}

    def _new_names(self, names: Sequence[str]) -> dict[str, str]:
        """Each of `names` and the name its examples are stored under (check_name, then sense_records.new_name against
        the word's senses and the names before it); UsageError for the first refused, before the model loads."""
        known = self.inventory()
        taken = known.sense_names() if known is not None else []
        stored = {}
        for name in names:
            stored[name] = new_name(self.word, taken, check_name(name))
            if stored[name] not in taken:
                taken.append(stored[name])
        return stored

    def _forms_of_word(self, forms: Sequence[str]) -> tuple[list[str], list[str]]:
        """(forms of this word: the word itself or a form with its lemma, the other forms), as word keys."""
        lemma_of = lemmatizer(self.index.config.lemma_language)
        own = lemma_of(self.word)
        kept = [form for form in forms if form == self.word or lemma_of(form) == own]
        return kept, [form for form in forms if form not in kept]

    def _store(self, name: str, examples: Sequence[Example], forms: Sequence[str]) -> WordInventory:
        result = self._inventory.add(self.word, name, examples, forms)
        self._retag()
        return result

    def _retag(self) -> None:
        """Tag the word's usages anew and store them: readers never store the cache, so writers fill it."""
        forget(self.index, self.word)
        try:
            word_tags(self.index, self.word)
        except NOTHING_TO_TAG:
            pass  # no usage or no sense left to tag with: readers will say so themselves

    def remove(self, name: str | None = None) -> list[str]:
        """Remove sense `name`, or the whole inventory of the word; returns the names removed."""
        self.index._require_writer()
        removed = self._inventory.remove(self.word, name)
        self._retag()
        return removed

    def configure(self, method: str | None = None, k: int | None = None,
                  threshold: float | None = None) -> WordInventory:
        """Set the tagging method (centroid|knn), k for knn, and the margin below which usages stay unassigned."""
        self.index._require_writer()
        result = self._inventory.configure(self.word, method, k, threshold)
        self._retag()
        return result

    def tags(self) -> WordTags:
        """Every usage's sense and margin (cached; recomputed after the corpus or the inventory changes)."""
        return word_tags(self.index, self.word)

    def counts(self) -> dict[str, int] | None:
        """Usages per sense (and "unassigned"); None while the word has no usage or no sense to tag with."""
        try:
            return self.tags().counts()
        except NOTHING_TO_TAG:
            return None

    def tagged(self, limit: int | None = None) -> list[tuple[Hit, str | None, float]]:
        """Every usage (up to `limit`, corpus order; None: all) with its sense name (None: unassigned) and margin.

        UsageError for a limit that is not a whole number from 1."""
        limit = optional_number(limit, "limit", least=1)
        tags = self.tags()
        ids = tags.ids[:limit]
        tag_of = tags.by_id()
        return [(hit, *tag_of[hit.occurrence_id]) for hit in self.index.hits(ids.tolist())]

    def usages(self, sense: str, limit: int | None = None, documents: str | Sequence[str] | None = None,
               where: Sequence[Condition | str] = (), sort: str = "position") -> list[Hit]:
        """Usages tagged `sense` (or "unassigned"), in corpus order or sorted by context, within `documents` and
        `where` as for SenseIndex.usages; each hit's score is its margin (arguments and errors:
        sensetags.sense_usages)."""
        return self.usage_page(sense, limit, documents, where, sort).hits

    def usage_page(self, sense: str, limit: int | None = None, documents: str | Sequence[str] | None = None,
                   where: Sequence[Condition | str] = (), sort: str = "position") -> UsagePage:
        """`usages` and how many usages the sense has in all (within `documents` and `where`)."""
        return sense_usages(self.index, self.word, sense, limit=limit, documents=documents, where=where, sort=sort)

    def query(self, text: str, sense: str, k: int = 10, documents: str | Sequence[str] | None = None,
              where: Sequence[Condition | str] = ()) -> list[Hit]:
        """The k usages in `sense` nearest to the [[marked]] word of `text` (within `documents` and `where`, as for
        SenseIndex.query); cosine (arguments and errors: sensetags.sense_query)."""
        return sense_query(self.index, self.word, text, sense, k=k, documents=documents, where=where)

    def documents(self, sense: str, min_count: int = 1) -> list[SenseDocument]:
        """Documents with at least `min_count` usages in `sense`, with counts, most first."""
        return sense_documents(self.index, self.word, sense, min_count=min_count)


def parse_word_sense(value: str) -> tuple[str, str]:
    """"bank:finance" -> ("bank", "finance"); SenseSearchError when either part is missing."""
    word, sep, sense = value.partition(":")
    if not sep or not word.strip() or not sense.strip():
        raise UsageError(f"name the sense as WORD:SENSE, e.g. bank:finance, not {value!r}")
    return word.strip(), sense.strip()


def query_by_sense(index: SenseIndex, text: str, sense: str, k: int = 10, any_word: bool = False,
                   documents: Sequence[str] | None = None, where: Sequence[Condition | str] = ()) -> list[Hit]:
    """`query --sense`: SENSE or WORD:SENSE (WORD defaults to the marked word, or the word whose inventory tags it
    as one of its forms); same-word search only, over every form the inventory tags (so --lemma adds nothing)."""
    if any_word:
        # Two options that cannot go together: a usage error (exit 2), refused before the model loads.
        raise UsageError("a sense belongs to one word: search by sense without any-word")
    word, name = sense_of_query(text, sense)
    return index.sense(word).query(text, name, k=k, documents=documents, where=where)


def check_search_sense(sense: str | None) -> str | None:
    """`sense` as given, or None; UsageError for a blank name (or WORD: with none). The one check of the CLI's --sense
    and the HTTP API's `sense`: "" had meant no sense at all, so an unset shell variable (or an empty picker) listed
    every usage as though tagged with the sense."""
    if sense is not None and (not sense.strip() or not (sense.partition(":")[2] if ":" in sense else sense).strip()):
        raise UsageError(f"name a sense, not {sense!r}")
    return sense


def sense_of_query(text: str, sense: str) -> tuple[str, str]:
    """(word, sense name) that `query --sense` asks for: WORD:SENSE as given, else SENSE of the marked word."""
    return parse_word_sense(sense) if ":" in sense else (bare_word(parse_marked(text).word), sense)


def example_counts(inventory: WordInventory | None) -> dict[str, int]:
    """Examples per sense name of an inventory (none when there is no inventory)."""
    return {s.name: len(s.examples) for s in inventory.senses} if inventory is not None else {}
