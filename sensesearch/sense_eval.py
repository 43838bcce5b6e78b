"""CoarseWSD-20 through the sense inventory: index the test sentences, define senses from the training file, tag.

The counterpart of `evaluate.evaluate_coarsewsd` (which indexes the training sentences and encodes the
test ones): both embed targets with `tagging.target_vectors` and label with `tagging.classify`, so with
exact vectors (compression "flat") both give the same accuracy; a test and
benchmarks/inventory_coarsewsd.py check that.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace

from .config import EncoderSettings
from .corpus import content_hash
from .encoder import Encoder
from .evaldata import WsdWord
from .evalmetrics import accuracy
from . import SenseIndex
from .records import Document
from .sense_examples import item_forms
from .tagging import DEFAULT_KNN


def inventory_tags(train: dict[str, WsdWord], test: dict[str, WsdWord], settings: EncoderSettings,
                   method: str = "centroid", k: int = DEFAULT_KNN, compression: str = "flat",
                   encoder: Encoder | None = None) -> dict[str, list[tuple[str, str, float]]]:
    """Per word: (gold sense, tagged sense, margin) of every test target found as an index word."""
    found: dict[str, list[tuple[str, str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sensesearch-inventory-") as folder:
        with SenseIndex.create(folder, settings=settings, compression=compression, encoder=encoder) as index:
            index.add_documents([Document(key=f"test/{w}/{i}", label=f"{w}/{i}", path=data.source, text=item.text,
                                          content_hash=content_hash(item.text),
                                          meta={"sense": item.sense, "target": [item.start, item.end]})
                                 for w, data in test.items() for i, item in enumerate(data.items)])
            for word, data in test.items():
                senses = index.sense(word)
                senses.add_items([replace(item, sense=f"s{item.sense}") for item in train[word].items],
                                 forms=item_forms(data.items))
                senses.configure(method=method, k=k if method == "knn" else None, threshold=0.0)
                tags = senses.tags()
                tag_of = tags.by_id()
                found[word] = []
                for hit in index.hits(tags.ids.tolist()):
                    target = hit.meta["target"]
                    if hit.doc_start < target[1] and hit.doc_start + len(hit.word) > target[0]:
                        sense, margin = tag_of[hit.occurrence_id]
                        found[word].append((f"s{hit.meta['sense']}", str(sense), margin))
    return found


def inventory_accuracy(train: dict[str, WsdWord], test: dict[str, WsdWord], settings: EncoderSettings,
                       method: str = "centroid", k: int = DEFAULT_KNN, compression: str = "flat",
                       encoder: Encoder | None = None) -> dict[str, float]:
    """Per word: percent of test targets whose inventory tag is the gold sense (rounded as eval rounds);
    NaN where some target was not found as an index word (eval would then label more items)."""
    found = inventory_tags(train, test, settings, method, k, compression, encoder)
    return {word: round(accuracy([g for g, _, _ in rows], [p for _, p, _ in rows]), 2)
            if len(rows) == len(test[word].items) else float("nan") for word, rows in found.items()}
