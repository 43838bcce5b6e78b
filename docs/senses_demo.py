"""Rebuild docs/senses-power-by-decade.png: senses of "power" in the State of the Union addresses by decade.

The model reads one sentence at a time, so an index of only the sentences that hold the word gives
the same vectors as an index of the whole corpus, in a fraction of the time on a CPU:

    python docs/senses_demo.py [WORD ...]      # default: power
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sensesearch.corpus import read_corpus
from sensesearch.records import Document
from sensesearch.segment import split_sentences

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpora" / "state_union"


def sentences_with(words: list[str], target: Path) -> None:
    """Each address cut to its sentences holding one of `words` (or its plural), with the sidecar."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")s?\b", re.IGNORECASE)
    target.mkdir(parents=True)
    for doc in read_corpus([CORPUS]):
        if isinstance(doc, Document):
            kept = [doc.text[s:e].replace("\n", " ").strip() for s, e in split_sentences(doc.text)
                    if pattern.search(doc.text[s:e])]
            (target / Path(doc.path).name).write_text("\n\n".join(kept) + "\n")
    shutil.copy(CORPUS / "metadata.csv", target / "metadata.csv")


def main() -> None:
    words = sys.argv[1:] or ["power"]
    with tempfile.TemporaryDirectory() as work:
        sentences_with(words, Path(work) / "corpus")
        run = [sys.executable, "-m", "sensesearch"]
        subprocess.run([*run, "index", str(Path(work) / "corpus"), "--index", str(Path(work) / "idx"), "--quiet"],
                       check=True)
        subprocess.run([*run, "senses", words[0], "--lemma", "-k", "3", "--by", "decade", "--examples", "0",
                        "--index", str(Path(work) / "idx"), "--plot",
                        str(REPO / "docs" / f"senses-{words[0]}-by-decade.png")], check=True)


if __name__ == "__main__":
    main()
