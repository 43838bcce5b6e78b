"""A reader process for the concurrency test: query an index over and over while a writer adds to it.

Usage: robust_reader.py INDEX STOP_FILE REPORT_JSON. Loops until STOP_FILE exists, reopening the index
every few rounds, and writes what it saw; any exception is recorded, not raised.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sensesearch import SenseIndex
from tests import fake_cli  # noqa: F401  (registers the fake encoder)


def main(index_path: Path, stop_file: Path, report_path: Path) -> None:
    rounds, checked, documents_seen, problems = 0, 0, [], []
    index = None
    while not stop_file.exists() or rounds < 3:
        try:
            if index is None or rounds % 4 == 0:
                if index is not None:
                    index.close()
                index = SenseIndex.open(index_path, read_only=True)
            docs = index.store.all_documents()
            usages = index.usages("doc")
            # Each call reads the latest commit: a commit between the two (a document cut by a checkpoint
            # growing) would compare two states, so the per-document count is checked only when none came.
            settled = index.store.all_documents() == docs
            index.refresh()
            stored = set(index.vectors.ids().tolist())
            without_vector = [h.occurrence_id for h in usages if h.occurrence_id not in stored]
            per_document = Counter(h.document for h in usages)
            incomplete = [d.label for d in docs if per_document[d.label] != d.n_sentences] if settled else []
            checked += settled
            hits = index.query("the [[doc]] of sentence", k=5)
            if without_vector or incomplete or len(hits) != 5:
                problems.append({"round": rounds, "without_vector": without_vector[:5], "incomplete": incomplete[:5],
                                 "hits": len(hits)})
            documents_seen.append(len(docs))
        except Exception as exc:  # noqa: BLE001  (the test wants to see any failure, of any kind)
            problems.append({"round": rounds, "error": f"{type(exc).__name__}: {exc}"})
        rounds += 1
        time.sleep(0.02)
    report_path.write_text(json.dumps({"rounds": rounds, "checked": checked, "documents_seen": documents_seen, "problems": problems}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
