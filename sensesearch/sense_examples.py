"""Example usages for the sense inventory: from marked sentences, from labelled files, from induced clusters.

Marked sentences and file lines are embedded with `tagging.target_vectors`, the function the
CoarseWSD evaluation uses, so an inventory built from a training file holds exactly the vectors
the evaluation would compute. Cluster examples reuse the stored vectors of the chosen usages.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .arguments import whole_number
from .config import DEFAULT_CLUSTER_EXAMPLES
from .decoding import physical_lines, read_text
from .errors import InputError, QueryError, SenseCountError, UsageError
from .evaldata import WsdItem, read_coarsewsd_word
from .inventory import Example, check_name
from .query import bare_key, marked_span, parse_marked
from .tagging import SentenceEncoder, target_vectors, unit

if TYPE_CHECKING:
    from . import SenseIndex
    from .schema import DocumentRow



def marked_item(word: str, text: str, label: str = "", where: str = "", span: tuple[int, int] | None = None) -> WsdItem:
    """A marked sentence ("... the [[bank]] ...", or `text` with the character offsets `span`) as a labelled item;
    InputError when it marks no single whole word (the checks of query.parse_marked, offsets or not)."""
    try:
        marked = parse_marked(text) if span is None else marked_span(text, *span)
    except QueryError as exc:
        raise InputError(f"{where}{exc}") from None
    if any(ch.isspace() for ch in marked.word):
        raise InputError(f"{where}mark one word of the sentence, not {marked.word!r}")
    return WsdItem(word=word, text=marked.text, start=marked.start, end=marked.end, sense=label)


def encode_items(encoder: SentenceEncoder, items: Sequence[WsdItem], source: str) -> list[Example]:
    """Examples with each item's target vector (see tagging.target_vectors)."""
    vectors = target_vectors(encoder, items)
    return [Example(text=i.text, start=i.start, end=i.end, vector=v, source=source) for i, v in zip(items, vectors)]


def item_forms(items: Sequence[WsdItem]) -> list[str]:
    """The normalised word forms the items mark, without punctuation around them (query.bare_word)."""
    return sorted({bare_key(i.text[i.start:i.end]) for i in items})


def read_labelled(path: str | Path, word: str) -> list[WsdItem]:
    """Labelled examples of `word` from a file or a CoarseWSD-20 word folder.

    Formats: `.jsonl`, one {"sense": NAME, "text": "a [[marked]] sentence"} a line ("label" may stand
    for "sense"; "start"/"end" character offsets may replace the marker); any other file: one
    "NAME<TAB>a [[marked]] sentence" a line (blank lines and lines starting with # are skipped); a
    folder: a CoarseWSD-20 word folder (*.data.txt, *.gold.txt, classes_map.txt), senses named by
    its classes map. InputError, with file and line, on anything else.
    """
    source = Path(path)
    if source.is_dir():
        data = read_coarsewsd_word(source)
        return [WsdItem(word, i.text, i.start, i.end, _name(data.classes.get(i.sense, i.sense), f"{source}: "))
                for i in data.items]
    try:
        lines = physical_lines(read_text(source)[0])
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}: "
        if not line.strip() or line.startswith("#"):
            continue
        if source.suffix.lower() == ".jsonl":
            items.append(_json_item(word, line, where))
        else:
            label, sep, text = line.partition("\t")
            if not sep:
                raise InputError(f"{where}expected SENSE<TAB>a sentence with the [[word]] marked")
            items.append(marked_item(word, text, _name(label, where), where))
    if not items:
        raise InputError(f"{path} holds no labelled examples")
    return items


def _name(label: str, where: str) -> str:
    """A file's sense label as check_name takes it; InputError naming the file (and line) where it refuses one: the
    file is what needs mending, not the command."""
    try:
        return check_name(label)
    except UsageError as exc:
        raise InputError(f"{where}{exc}") from None


def _json_item(word: str, line: str, where: str) -> WsdItem:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise InputError(f"{where}not JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputError(f'{where}expected an object with "text" and "sense"')
    label = record.get("sense", record.get("label"))
    if not isinstance(label, str):
        raise InputError(f'{where}"sense" must be a string')
    start, end = record.get("start"), record.get("end")
    if start is None and end is None:
        return marked_item(word, record["text"], _name(label, where), where)
    text = record["text"]
    if not (type(start) is int and type(end) is int and 0 <= start < end <= len(text)):  # not bools
        raise InputError(f'{where}"start" and "end" must be character offsets into "text"')
    return marked_item(word, text, _name(label, where), where, (start, end))


def cluster_examples(index: SenseIndex, word: str, cluster: int, k: int | None = None, seed: int = 0,
                     limit: int = DEFAULT_CLUSTER_EXAMPLES) -> list[Example]:
    """The `limit` most central usages of induced sense `cluster` (numbered as `senses` prints it, from 1).

    The clustering is rerun with the same k and seed as `sensesearch senses`, so the numbers agree.
    SenseCountError when there is no such cluster; UsageError for a cluster or limit that is not a whole number from
    1 (k and seed are checked by `senses`).
    """
    cluster = whole_number(cluster, "cluster", least=1)
    limit = whole_number(limit, "limit", least=1)
    report = index.senses(word, k=k, examples=0, seed=seed)
    numbers = [g.sense for g in report.senses]
    if cluster not in numbers:
        raise SenseCountError(f"{word!r} has senses {', '.join(map(str, numbers))} with these settings, "
                              f"not {cluster}; run `sensesearch senses {word}` with the same --k and --seed")
    members = {a.occurrence_id: a for a in report.assignments if a.sense == cluster}
    ids, vectors = index.word_vectors(word)
    chosen = np.asarray([i for i, oid in enumerate(ids.tolist()) if oid in members], dtype=np.int64)
    centre = unit(vectors[chosen].mean(axis=0))
    central = chosen[np.argsort(-(vectors[chosen] @ centre), kind="stable")[:limit]]
    examples = []
    for row in central.tolist():
        usage = members[int(ids[row])]
        examples.append(Example(text=usage.sentence, start=usage.start, end=usage.end,
                                vector=vectors[row].astype(np.float32), source="cluster",
                                occurrence_id=usage.occurrence_id))
    return examples


def examples_taken_from(index: SenseIndex, docs: Sequence[DocumentRow]) -> dict[str, int]:
    """For each word, how many of its sense examples were taken from a usage (`add_from_cluster`) of `docs`: what a
    removal of those documents leaves defining its sense by its own vector, naming no usage any more."""
    # Documents' id ranges do not overlap: one bisection an example, not a pass over every removed document.
    ranges = sorted((doc.first_occurrence, doc.first_occurrence + doc.n_occurrences) for doc in docs)
    firsts = [first for first, _ in ranges]

    def within(occurrence_id: int) -> bool:
        at = bisect.bisect_right(firsts, occurrence_id) - 1
        return at >= 0 and occurrence_id < ranges[at][1]

    found: dict[str, int] = {}
    for inventory in index.sense_words():
        taken = sum(1 for sense in inventory.senses for example in sense.examples
                    if example.occurrence_id is not None and within(example.occurrence_id))
        if taken:
            found[inventory.word] = taken
    return found
