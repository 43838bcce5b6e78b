"""Read the evaluation benchmarks (CoarseWSD-20 folders, WiC files) into target-usage records.

Both benchmarks give sentences tokenised with single spaces and the target as a token index;
here that index becomes character offsets, so the rest of sensesearch sees plain text and spans.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .decoding import physical_lines, read_text
from .errors import InputError
from .segment import sentence_holding
from .visible import quoted


@dataclass(frozen=True)
class WsdItem:
    """One labelled usage: a sentence, the target's character span in it, and the gold sense id."""

    word: str
    text: str
    start: int
    end: int
    sense: str


@dataclass(frozen=True)
class WsdWord:
    """All usages of one CoarseWSD-20 word in one split, with its sense id -> sense name map."""

    word: str
    items: tuple[WsdItem, ...]
    classes: dict[str, str]
    source: str
    limit: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class WicPair:
    """Two usages of one lemma and whether they mean the same (None where no gold is given)."""

    word: str
    first: WsdItem
    second: WsdItem
    same: bool | None
    source: str = ""
    """The *.data.txt file it was read from."""


def token_span(text: str, position: int) -> tuple[int, int]:
    """Character span of the `position`-th token of a sentence tokenised with single spaces."""
    offset = 0
    for index, token in enumerate(text.split(" ")):
        if index == position:
            return offset, offset + len(token)
        offset += len(token) + 1
    raise InputError(f"token {position} is out of range in {text[:60]!r}")


def target_sentence(item: WsdItem) -> tuple[str, int, int]:
    """The sentence holding the target, as the index would cut it, with the target span inside it."""
    found = sentence_holding(item.text, item.start, item.end)
    if found is None:
        raise InputError(f"the target of {item.text[:60]!r} lies in no sentence")
    start, end = found
    return item.text[start:end], item.start - start, item.end - start


def subsample(items: Sequence[WsdItem], limit: int | None, seed: int, tag: str) -> tuple[WsdItem, ...]:
    """At most `limit` items, drawn with a seed per word so every tool gets the same sample."""
    if limit is None or len(items) <= limit:
        return tuple(items)
    chosen = sorted(random.Random(f"{seed}-{tag}").sample(range(len(items)), limit))
    return tuple(items[i] for i in chosen)


def _is_index(text: str) -> bool:
    """Whether `text` is a token index: ASCII digits only (int() would also take signs, "_" and other scripts' digits)."""
    return text.isascii() and text.isdecimal()


def _line_span(text: str, position: int, data_file: Path, number: int) -> tuple[int, int]:
    """token_span, with a token out of range named by its file and line (the sentence alone did not say where)."""
    try:
        return token_span(text, position)
    except InputError as exc:
        raise InputError(f"{data_file}:{number}: {exc}") from None


def _one_data_file(folder: Path) -> Path:
    found = sorted(folder.glob("*.data.txt"))
    if len(found) != 1:
        raise InputError(f"{folder} should hold exactly one *.data.txt file, found {len(found)}")
    return found[0]


def _gold_for(data_file: Path) -> Path:
    return data_file.with_name(data_file.name.removesuffix(".data.txt") + ".gold.txt")


def _read_lines(path: Path) -> list[str]:
    try:
        return physical_lines(read_text(path)[0])
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def read_coarsewsd_word(folder: Path, limit: int | None = None, seed: int = 0) -> WsdWord:
    """One word folder (`*.data.txt`, `*.gold.txt`, `classes_map.txt`), optionally subsampled (at most `limit`
    usages, drawn with `seed`; both kept on the WsdWord so a report can say what it measured)."""
    data_file = _one_data_file(folder)
    rows = _read_lines(data_file)
    gold = _read_lines(_gold_for(data_file))
    if len(rows) != len(gold):
        raise InputError(f"{data_file} has {len(rows)} lines but its gold file has {len(gold)}")
    try:
        classes = {str(k): str(v) for k, v in json.loads(read_text(folder / "classes_map.txt")[0]).items()}
    except (OSError, ValueError, AttributeError, InputError) as exc:
        raise InputError(f"cannot read {folder / 'classes_map.txt'}: {exc}") from None
    items = []
    for number, (row, sense) in enumerate(zip(rows, gold), start=1):
        position, sep, text = row.partition("\t")
        if not sep or not _is_index(position.strip()):
            raise InputError(f"{data_file}:{number}: expected POS<TAB>sentence")
        start, end = _line_span(text, int(position), data_file, number)
        items.append(WsdItem(word=folder.name, text=text, start=start, end=end, sense=sense.strip()))
    chosen = subsample(items, limit, seed, f"{folder.name}-{data_file.name}")
    return WsdWord(word=folder.name, items=chosen, classes=classes, source=str(data_file), limit=limit, seed=seed)


def read_coarsewsd(folder: str | Path, words: Sequence[str] | None = None, limit: int | None = None,
                   seed: int = 0) -> dict[str, WsdWord]:
    """Every word folder under `folder` (or the named ones), in name order."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"no such folder: {root}")
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.data.txt")))
    if not available:
        hint = (f"; it is one word's folder: give the folder above it, {root.resolve().parent}"
                if any(root.glob("*.data.txt")) else "")
        raise InputError(f"{root} holds no word folders (sub-folders with a *.data.txt file){hint}")
    chosen = list(words) if words else available
    missing = [w for w in chosen if w not in available]
    if missing:
        raise InputError(f"{root} has no data for {quoted(missing)} (it has {quoted(available) or 'none'})")
    return {w: read_coarsewsd_word(root / w, limit=limit, seed=seed) for w in chosen}


def wic_files(path: str | Path) -> list[Path]:
    """A WiC `*.data.txt` file as given, or every one in a folder that has a `*.gold.txt` beside it."""
    target = Path(path)
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise InputError(f"no such file or folder: {target}")
    found = [p for p in sorted(target.glob("*.data.txt")) if _gold_for(p).is_file()]
    if not found:
        raise InputError(f"{target} holds no *.data.txt file with a matching *.gold.txt")
    return found


def read_wic(path: str | Path) -> list[WicPair]:
    """Every pair of the WiC files at `path` (see wic_files), gold labels included."""
    pairs = []
    for data_file in wic_files(path):
        rows = _read_lines(data_file)
        gold_file = _gold_for(data_file)
        gold = _read_lines(gold_file) if gold_file.is_file() else [""] * len(rows)
        if len(gold) != len(rows):
            raise InputError(f"{data_file} has {len(rows)} lines but its gold file has {len(gold)}")
        for number, (row, label) in enumerate(zip(rows, gold), start=1):
            fields = row.split("\t")
            if len(fields) != 5 or "-" not in fields[2]:
                raise InputError(f"{data_file}:{number}: expected word<TAB>PoS<TAB>i1-i2<TAB>example1<TAB>example2")
            word, _, indices, text1, text2 = fields
            first, _, second = indices.partition("-")
            if not (_is_index(first) and _is_index(second)):
                raise InputError(f"{data_file}:{number}: expected two token indices as i1-i2, not {indices!r}")
            usages = [WsdItem(word, text, *_line_span(text, int(i), data_file, number), sense="")
                      for text, i in ((text1, first), (text2, second))]
            same = {"T": True, "F": False}.get(label.strip())
            pairs.append(WicPair(word=word, first=usages[0], second=usages[1], same=same, source=str(data_file)))
    return pairs
