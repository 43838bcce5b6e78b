"""An index made before a change of fold answers as it did, and refuses documents whose words its own would not match.

Each change of foldchanges.FOLD_CHANGES has a case: a text that sensesearch cut or keyed otherwise before it, the
patches that make today's fold and the fake encoder cut it as that sensesearch did (its store then records the
changes it knew), the lookups that still find what they found, and the exact refusal of more documents.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import regex

from sensesearch import SenseIndex, normalize, store, vocabulary
from sensesearch import folder as folder_module
from sensesearch.config import EncoderSettings
from sensesearch.errors import ConfigMismatchError, ReadOnlyError, WordNotFoundError
from sensesearch.foldchanges import FOLD_CHANGES, FOLD_VERSION, StoredWord, rules_cutting
from sensesearch.normalize import word_key
from sensesearch.query import is_punctuation
from sensesearch.schema import settings
from sensesearch.wordrows import FOLD_VERSION_KEY, WordRows

from . import fake_encoder
from .test_normalize import KATABA, STRETCHED, _real_planner

NEVER = regex.compile(r"(?!)")
WHAT_TO_DO = "`remove` the documents holding such words and index them again, or index the corpus into a new folder"
_ARABIC = " \u0627\u0644\u0648\u0644\u062f.\n"


def _keyed_before_fold(then: pytest.MonkeyPatch) -> None:  # a key was NFKC and case folding of the word as written
    then.setattr(vocabulary, "normalize_form", lambda word: unicodedata.normalize("NFKC", word).casefold())


def _superscripts_joined(then: pytest.MonkeyPatch) -> None:
    then.setattr(normalize, "raised", lambda cluster: "")


def _zero_width_space_removed(then: pytest.MonkeyPatch) -> None:  # a format character, and no line break joined
    then.setattr(normalize, "_SEPARATOR", NEVER)
    removed = regex.compile(r"\u200b|" + normalize.IGNORABLE)
    then.setitem(normalize._IGNORABLE_BY_AGE, True, removed)
    then.setitem(normalize._REMOVED_BY_AGE, True, removed)


def _marks_stripped(then: pytest.MonkeyPatch) -> None:  # the uncased tokenizer's offsets stopped before them
    then.setattr(fake_encoder, "_WORD", regex.compile(r"\p{Han}|(?:(?!\p{Han})[\p{L}\p{N}_])+|[^\s\p{L}\p{M}\p{N}_]"))
    then.setattr(normalize, "whole_clusters", lambda text, spans: np.asarray(spans, dtype=np.int32))


def _space_and_mark_one_cluster(then: pytest.MonkeyPatch) -> None:
    then.setattr(normalize, "CLUSTER", regex.compile(r"\X", regex.DOTALL))


def _look_alikes_kept(then: pytest.MonkeyPatch) -> None:
    then.setattr(normalize, "_GLUED", NEVER)


def _tatweel_kept(then: pytest.MonkeyPatch) -> None:
    then.setitem(normalize._IGNORABLE_BY_AGE, True, normalize._IGNORABLE_BY_AGE[False])
    then.setitem(normalize._REMOVED_BY_AGE, True, normalize._REMOVED_BY_AGE[False])


def _symbols_kept(then: pytest.MonkeyPatch) -> None:  # fold left them, and BERT's pre-tokenizer parts no word there
    then.setattr(normalize, "_SYMBOL", NEVER)
    then.setattr(normalize, "_SYMBOL_TOUCH", NEVER)
    then.setattr(fake_encoder, "_WORD", regex.compile(
        r"\p{Han}|(?:(?!\p{Han})[\p{L}\p{M}\p{N}_]|[[\p{So}\p{Sc}]--[\x00-\x7f]])+|[^\s\p{L}\p{M}\p{N}_]", regex.V1))


@dataclass(frozen=True)
class Older:
    """An index made before FOLD_CHANGES[change]: of `text`, cut as `then` makes the fold and the fake encoder cut."""

    change: int
    says: str  # what the change's rule names
    then: Callable[[pytest.MonkeyPatch], None]
    text: str
    named: tuple[str, ...]  # the words as written that the refusal names
    lookups: dict[str, list[str]] = field(default_factory=dict)  # a word, and the words its usages find there
    recut: bool = True  # the encoder cuts the stored word otherwise now: re-encoding it is refused too


CASES = [
    Older(0, "invisible format characters", _keyed_before_fold, "They co\u00adoperate in \u0130stanbul.\n",
          ("co\u00adoperate", "\u0130stanbul"),
          {"co\u00adoperate": ["co\u00adoperate"], "\u0130stanbul": ["\u0130stanbul"], "cooperate": []}, recut=False),
    Older(1, "superscript or subscript", _superscripts_joined, "The bank\u00b9 raised its rates.\n", ("bank\u00b9",),
          {"bank\u00b9": ["bank\u00b9"], "bank1": ["bank\u00b9"]}),
    Older(2, "zero-width space", _zero_width_space_removed, "The bank\u200bstood by the govern\u00ad\nment.\n",
          ("bank\u200bstood", "govern"), {"bankstood": ["bank\u200bstood"], "govern": ["govern"]}),
    Older(3, "combining marks", _marks_stripped, "\u092e\u0948\u0902 \u0918\u0930 \u0917\u092f\u093e.\n",
          ("\u092e", "\u0917\u092f"), {"\u092e": ["\u092e"]}),
    # Its word was stored under a key that starts with a space: no lookup reached it then, none does now.
    Older(4, "stray combining mark", _space_and_mark_one_cluster, "The \u0301bank raised its rates.\n",
          (" \u0301bank",)),
    Older(5, "modifier letter apostrophe", _look_alikes_kept, "I don\u02bct think so.\n\nI don't think so.\n",
          ("don\u02bct",), {"don\u02bct": ["don\u02bct"], "don't": ["don't"]}),
    Older(6, "tatweel", _tatweel_kept, STRETCHED + _ARABIC, (STRETCHED,), {STRETCHED: [STRETCHED], KATABA: []},
          recut=False),
    Older(7, "emoji", _symbols_kept, "I love my bank\U0001f44d\U0001f3fd at 20\u00b0C.\n",
          ("bank\U0001f44d\U0001f3fd", "20\u00b0C"),
          {"20\u00b0C": ["20\u00b0C"], "bank\U0001f44d\U0001f3fd": ["bank\U0001f44d\U0001f3fd"], "bank": []}),
]


def _made(tmp_path: Path, settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch, texts: dict[str, str],
          version: int, *then: Callable[[pytest.MonkeyPatch], None]) -> tuple[Path, Path]:
    """An index of `texts` (file name: text) made by a sensesearch that knew `version` changes, its fold as `then`
    makes it; the corpus folder and the index folder."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    with monkeypatch.context() as older:
        for module in (store, folder_module):  # what it recorded, and what it knew when it added
            older.setattr(module, "FOLD_VERSION", version)
        for patch in then:
            patch(older)
        with SenseIndex.create(tmp_path / "idx", settings=settings) as index:
            index.add([corpus])
    return corpus, tmp_path / "idx"


def _not_read(self: WordRows) -> None:
    raise AssertionError("the stored words were read")


def test_every_change_has_a_case() -> None:
    assert [case.change for case in CASES] == list(range(len(FOLD_CHANGES))) and FOLD_VERSION == len(FOLD_CHANGES)
    for case in CASES:
        assert case.says in FOLD_CHANGES[case.change].rule


@pytest.mark.parametrize("older", CASES, ids=[case.says for case in CASES])
def test_an_index_made_before_a_change_of_fold_answers_as_it_did_and_refuses_more_documents(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch, older: Older) -> None:
    corpus, folder = _made(tmp_path, fake_settings, monkeypatch, {"a.txt": older.text}, older.change, older.then)
    with SenseIndex.open(folder) as index:
        for word, found in older.lookups.items():
            if found:
                assert [h.word for h in index.usages(word)] == found, word
            else:
                with pytest.raises(WordNotFoundError):
                    index.usages(word)
        label = index.store.all_documents()[0].label
        (corpus / "b.txt").write_text(older.text, encoding="utf-8")
        with pytest.raises(ConfigMismatchError) as refused:
            index.add([corpus])
        named = ", ".join(f"{word!r} in {label!r}" for word in older.named)
        assert str(refused.value) == (f"{folder} holds words cut by older word rules ({named}): "
                                      f"{FOLD_CHANGES[older.change].rule}; {WHAT_TO_DO}")
        assert [doc.label for doc in index.store.all_documents()] == [label]
        assert index.store.fold_version() == older.change  # nothing recorded
        if older.recut:
            with pytest.raises(ConfigMismatchError) as recut:
                index.reindex()
            assert str(recut.value) == (f"the stored word {older.named[0]!r} was cut by older word rules: "
                                        f"{FOLD_CHANGES[older.change].rule}; {WHAT_TO_DO}")


def test_an_index_made_before_the_changes_were_counted_names_the_rule_of_each_word(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that records no number of changes (made before 2026-12-04) may hold words of any of them."""
    corpus, folder = _made(tmp_path, fake_settings, monkeypatch, {"a.txt": CASES[7].text, "b.txt": CASES[5].text},
                           0, CASES[7].then, CASES[5].then)
    with SenseIndex.open(folder) as index:
        with index.store.engine.begin() as conn:
            conn.execute(settings.delete().where(settings.c.key == FOLD_VERSION_KEY))
        a, b = (doc.label for doc in index.store.all_documents())
        with pytest.raises(ConfigMismatchError) as refused:
            index.add([corpus / "a.txt"])
    assert str(refused.value) == (
        f"{folder} holds words cut by older word rules ('bank\U0001f44d\U0001f3fd' in {a!r}, '20\u00b0C' in {a!r}, "
        f"'don\u02bct' in {b!r}): {FOLD_CHANGES[5].rule}; {FOLD_CHANGES[7].rule}; {WHAT_TO_DO}")


def test_an_older_index_of_words_cut_as_today_takes_documents_and_is_read_once(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's rules cut every case's text as they do: no older rule claims one of those words (the check had named
    words a newer sensesearch stored), the index is recorded as cut by today's rules, and never read again for it."""
    texts = {f"{i}.txt": case.text for i, case in enumerate(CASES)}
    corpus, folder = _made(tmp_path, fake_settings, monkeypatch, texts, 0)
    with SenseIndex.open(folder) as index:
        assert index.store.fold_version() == 0
        (corpus / "new.txt").write_text("The bank raised its rates.\n", encoding="utf-8")
        assert index.add([corpus]).documents_indexed == 1 and index.store.fold_version() == FOLD_VERSION
        monkeypatch.setattr(WordRows, "stored_words", _not_read)
        (corpus / "newer.txt").write_text("The bank lent money.\n", encoding="utf-8")
        assert index.add([corpus]).documents_indexed == 1


def test_the_real_tokenizer_cuts_no_word_an_older_rule_claims() -> None:
    planner = _real_planner()
    texts = [line for case in CASES for line in case.text.split("\n") if line]
    for text, spans in zip(texts, planner.plan(texts).spans):
        for start, end in spans.tolist():
            if not is_punctuation(text[start:end]):
                word = StoredWord(text, start, end, word_key(text[start:end]))
                assert rules_cutting(word) == [], word


def test_an_index_of_a_newer_sensesearch_takes_no_documents(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its words were cut by a rule this sensesearch lacks: words added now would not match them."""
    corpus, folder = _made(tmp_path, fake_settings, monkeypatch, {"a.txt": "The bank.\n"}, FOLD_VERSION + 1)
    with SenseIndex.open(folder) as index:
        with pytest.raises(ConfigMismatchError) as refused:
            index.add([corpus])
    assert str(refused.value) == (f"{folder} was made by a newer sensesearch, whose word rules ({FOLD_VERSION + 1} "
                                  f"changes) this one ({FOLD_VERSION}) lacks: words added now would not match its "
                                  "words; add with that sensesearch or a newer one")


def test_an_older_index_opened_read_only_refuses_documents_before_it_reads_its_words(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its words would be read in vain: what they show cannot be recorded in a store opened read-only."""
    corpus, folder = _made(tmp_path, fake_settings, monkeypatch, {"a.txt": "The bank.\n"}, 0)
    monkeypatch.setattr(WordRows, "stored_words", _not_read)
    with SenseIndex.open(folder, read_only=True) as index:
        with pytest.raises(ReadOnlyError):
            index.add([corpus])
