"""The Python API checks its arguments as the CLI and HTTP API do, and raises only SenseSearchError subclasses.

Found by calling it as a careless or hostile program would: negative limits that sliced usages off, strings read
as lists of characters, seeds and fractional k handed to scikit-learn, lone surrogates handed to the tokenizer,
document names that only matched as exact labels, and removals that quietly matched nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sensesearch import (SEED_MAX, InputError, ReadOnlyError, SenseCountError, SenseIndex, UsageError,
                         WordNotFoundError, sense_timeline)
from sensesearch import encoder as encoder_module
from sensesearch.config import EncoderSettings

from .conftest import BANK_CORPUS
from .fake_encoder import FakeEncoder

RECORDS = [{"id": "r1", "year": 1990, "text": "The bank by the river flooded."},
           {"id": "r2", "year": 2010, "text": "The bank raised its fees again."},
           {"id": "odd\ud800", "year": 2011, "text": "The ba\ud800nk sign fell."}]


class StrictEncoder(FakeEncoder):
    """The fake encoder, refusing text a real tokenizer cannot take: the Rust tokenizers raise TypeError on a lone
    surrogate (no UTF-8 for it), which is how the word path failed outside the error hierarchy."""

    def encode(self, sentences: Any) -> Any:
        for sentence in sentences:
            sentence.encode("utf-8")  # UnicodeEncodeError, as a real tokenizer's TypeError, on a lone surrogate
        return super().encode(sentences)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SenseIndex, Path]]:
    """A writable index of corpus/bank.txt (6 usages of bank) and corpus/records.jsonl (r1, r2, and a record whose id
    and text hold a lone surrogate, stored as U+FFFD), with the strict encoder."""
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", lambda settings, device: StrictEncoder(settings))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bank.txt").write_text(BANK_CORPUS)
    (corpus / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    with SenseIndex.create(tmp_path / "idx", settings=EncoderSettings(model="fake:test")) as index:
        index.add([corpus])
        yield index, corpus


BAD_COUNTS = [0, -1, -5, 1.5, "3", True, [2]]


@pytest.mark.parametrize("limit", BAD_COUNTS)
def test_a_limit_that_is_not_a_whole_number_from_1_is_a_usage_error(built: tuple[SenseIndex, Path],
                                                                    limit: Any) -> None:
    index, _ = built
    with pytest.raises(UsageError, match="limit must be"):
        index.usages("bank", limit=limit)
    assert len(index.usages("bank", limit=None)) == 8 and len(index.usages("bank", limit=3)) == 3
    index.sense("bank").add("money", ["She paid the cheque into the [[bank]]."])
    with pytest.raises(UsageError, match="limit must be"):
        index.sense("bank").usages("money", limit=limit)
    with pytest.raises(UsageError, match="limit must be"):
        index.sense("bank").tagged(limit=limit)


@pytest.mark.parametrize("value", ["no", "false", 0, 1, None])
def test_yes_no_arguments_take_true_or_false_only(built: tuple[SenseIndex, Path], value: Any) -> None:
    """lemma="no" is truthy: it had widened the search to every form of the lemma."""
    index, _ = built
    with pytest.raises(UsageError, match="lemma must be True or False"):
        index.usages("bank", lemma=value)
    with pytest.raises(UsageError, match="lemma must be True or False"):
        index.senses("bank", lemma=value)
    with pytest.raises(UsageError, match="any_word must be True or False"):
        index.query("The [[bank]] rose.", any_word=value)
    assert index.usages("bank", lemma=False) and index.usages("bank", lemma=True)


@pytest.mark.parametrize("k", [0, -1, 1.5, "3", None, True, pytest.param(-10**5000, id="minus-10**5000")])
def test_query_k_must_be_a_whole_number_from_1(built: tuple[SenseIndex, Path], k: Any) -> None:
    index, _ = built
    with pytest.raises(UsageError, match="k must be"):
        index.query("the [[bank]] raised rates", k=k)
    index.sense("bank").add("money", ["She paid the cheque into the [[bank]]."])
    with pytest.raises(UsageError, match="k must be"):
        index.sense("bank").query("the [[bank]] raised rates", "money", k=k)


def test_a_whole_number_too_long_to_write_out_is_refused_by_its_size() -> None:
    """Python writes out at most 4,300 digits: the message refusing k=10**5000 had raised ValueError itself."""
    from sensesearch.arguments import whole_number

    with pytest.raises(UsageError, match="^k must be at most 100, not a number of about 5,001 digits$"):
        whole_number(10**5000, "k", 1, 100)
    with pytest.raises(UsageError, match="^k must be at least 1, not a negative number of about 5,001 digits$"):
        whole_number(-10**5000, "k", 1)
    with pytest.raises(UsageError, match="^k must be at most 100, not 12,345$"):
        whole_number(12_345, "k", 1, 100)


def test_nprobe_must_be_a_whole_number_from_1(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    for nprobe in (0, -2, 2.5):
        with pytest.raises(UsageError, match="nprobe must be"):
            index.query("the [[bank]] raised rates", any_word=True, nprobe=nprobe)


def test_sense_arguments_are_checked_before_scikit_learn_sees_them(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    for examples in (-1, 1.5):
        with pytest.raises(UsageError, match="examples must be"):
            index.senses("bank", examples=examples)
    for seed in (-1, 2**40, SEED_MAX + 1, 1.0, "1"):
        with pytest.raises(UsageError, match="seed must be"):
            index.senses("bank", seed=seed)
        with pytest.raises(UsageError, match="seed must be"):
            index.sense("bank").add_from_cluster("c", 1, seed=seed)
    for k in (2.5, "2"):
        with pytest.raises(UsageError, match="k must be"):
            index.senses("bank", k=k)
    with pytest.raises(SenseCountError):  # a count of senses below 1 stays a sense-count error
        index.senses("bank", k=0)
    for cluster in (0, 1.5):
        with pytest.raises(UsageError, match="cluster must be"):
            index.sense("bank").add_from_cluster("c", cluster)
    assert index.senses("bank", k=2, seed=SEED_MAX, examples=0).senses[0].examples == ()


def test_inventory_settings_and_counts_are_checked(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    senses = index.sense("bank")
    senses.add("money", ["She paid the cheque into the [[bank]]."])
    for threshold in (math.nan, math.inf, -0.1, 2.5, "0.1"):
        with pytest.raises(UsageError, match="threshold must be"):
            senses.configure(threshold=threshold)
    for k in (0, 1.5):
        with pytest.raises(UsageError, match="k must be"):
            senses.configure(method="knn", k=k)
    for min_count in (0, 1.5):
        with pytest.raises(UsageError, match="min_count must be"):
            senses.documents("money", min_count=min_count)
    assert senses.configure(threshold=0.5).threshold == 0.5


def test_bin_widths_must_be_finite_and_positive(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    report = index.senses("bank", k=1)
    for width in (0, -1, math.nan, math.inf, "5", 10**400, -10**400):
        with pytest.raises(UsageError, match="the bin width must be a finite number above 0"):
            sense_timeline(index, report, "year", width)


def test_a_typed_word_with_lone_surrogates_is_read_as_u_fffd(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    found = index.usages("ba\ud800nk")
    assert [h.word for h in found] == ["ba\ufffdnk"] == [h.word for h in index.usages("ba\ufffdnk")]
    assert len(index.word_vectors("ba\udfffnk")[0]) == 1
    for word in ("\ud800", "zz\ud800"):
        with pytest.raises(WordNotFoundError):
            index.usages(word)
        with pytest.raises(WordNotFoundError):
            index.senses(word)
        with pytest.raises(WordNotFoundError):
            index.word_vectors(word)
    with pytest.raises(UsageError, match="word must be text"):
        index.usages(b"bank")  # type: ignore[arg-type]


def test_a_document_name_with_a_lone_surrogate_finds_its_u_fffd_label(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    assert index.resolve_documents(["odd\ud800"]) == ["odd\ufffd"]
    with pytest.raises(InputError, match="no indexed document matches"):
        index.resolve_documents(["\ud800"])


def test_one_string_is_a_list_of_one(built: tuple[SenseIndex, Path], tmp_path: Path) -> None:
    index, corpus = built
    extra = tmp_path / "x.txt"
    extra.write_text("A bank of fog rolled in.\n")
    assert index.add(str(extra)).documents_indexed == 1
    assert index.add(extra).documents_unchanged == 1  # a Path is one path too
    assert index.usages("bank", where="year>=2000") == index.usages("bank", where=["year>=2000"])
    assert len(index.usages("bank", where="year>=2000")) == 1
    bank_txt = str(corpus / "bank.txt")
    assert len(index.usages("bank", documents=bank_txt)) == 6
    assert index.sense("bank").add("fog", "A [[bank]] of fog.").senses[0].name == "fog"
    assert index.remove(str(extra)) == [str(extra)]
    with pytest.raises(UsageError, match="must be a list"):
        index.usages("bank", documents=42)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="where condition must be text"):
        index.usages("bank", where=[42])  # type: ignore[list-item]


def test_documents_are_named_as_the_cli_names_them(built: tuple[SenseIndex, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    index, corpus = built
    monkeypatch.chdir(corpus.parent)
    every = index.usages("bank")
    for name in ("corpus", str(corpus), "bank.txt", "corpus/bank.txt", str(corpus / "bank.txt"),
                 "corpus/records.jsonl", "records.jsonl"):
        expected = [h for h in every if (h.document == str(corpus / "bank.txt")) == ("bank" in name)
                    or name.endswith("corpus")]
        assert index.usages("bank", documents=[name]) == expected, name
        assert len(index.word_vectors("bank", documents=[name])[0]) == len(expected), name
    assert len(index.query("the [[bank]] raised rates", k=20, documents=["records.jsonl"])) == 2
    with pytest.raises(InputError, match="no indexed document matches 'nope.txt'"):
        index.usages("bank", documents=["bank.txt", "nope.txt"])
    with pytest.raises(InputError, match="'nope.txt'"):
        index.senses("bank", documents=["nope.txt"])


def test_remove_refuses_an_unknown_name_and_removes_nothing(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    before = index.catalog()
    for names in (["r1", "nope"], ["nope"]):
        with pytest.raises(InputError, match="no indexed document matches 'nope'; nothing was removed"):
            index.remove(names)
    assert index.catalog() == before
    assert index.remove("r1") == ["r1"]
    assert "r1" not in {e.label for e in index.catalog()}


def test_the_knn_k_of_an_evaluation_is_checked_as_every_k() -> None:
    from sensesearch.tagging import classify

    with pytest.raises(UsageError, match="k must be a whole number"):
        classify(np.eye(2, dtype=np.float32), ["a", "b"], np.eye(2, dtype=np.float32), "knn", k=1.5)


def test_hits_take_whole_ids_and_one_score_per_id(built: tuple[SenseIndex, Path]) -> None:
    index, _ = built
    ids = [hit.occurrence_id for hit in index.usages("bank", limit=2)]
    assert [hit.occurrence_id for hit in index.hits(ids, [0.5, 0.25])] == ids
    assert [hit.occurrence_id for hit in index.hits(ids[0])] == ids[:1]  # one id is a list of one
    for bad, message in (("12", "must be a whole number"), ([1.5], "must be a whole number"), (None, "not None"),
                         ({1: 2}, "must be a list")):
        with pytest.raises(UsageError, match=message):
            index.hits(bad)  # "12" had been read as the ids 1 and 2, 1.5 cut to 1, None a TypeError
    with pytest.raises(UsageError, match="one score per id: 2 ids, 1 scores"):
        index.hits(ids, [0.5])  # an IndexError
    with pytest.raises(UsageError, match="must be text"):
        index.hits(ids, word=5)
    hits = index.hits(ids)
    assert len({*hits, *index.hits(ids)}) == 2  # hashable, and equal hits are one


def test_senses_names_metadata_streams_and_chart_paths_are_checked_before_anything_slow(
        built: tuple[SenseIndex, Path], tmp_path: Path) -> None:
    import datetime
    import io

    from sensesearch import Document, InputError, plot_senses

    index, _ = built
    for name in (None, 5):
        with pytest.raises(UsageError, match="the sense name must be text"):  # an AttributeError, after encoding
            index.sense("bank").add(name, ["The [[bank]] paid interest."])
    for meta in ({"when": datetime.date(2020, 1, 1)}, {"tags": {"a", "b"}}):
        with pytest.raises(InputError, match="cannot be written as JSON"):  # a TypeError inside `add`
            Document(key="k", label="k", path="k", text="The bank.", content_hash="h", meta=meta)
    for items in (None, "The bank.", 5):
        with pytest.raises(UsageError, match="items must be an iterable of Document"):
            index.add_documents(items)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="each item to index must be a Document"):
        index.add_documents(["The bank."])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="stdin must be a binary stream"):
        index.add("-", stdin=io.StringIO("The bank."))  # type: ignore[arg-type]
    assert index.add("-", stdin=io.BytesIO(b"The river bank flooded.")).documents_indexed == 1
    with pytest.raises(InputError, match="cannot write the chart to"):
        plot_senses(index.senses("bank", k=2), tmp_path / "no such folder" / "x.png")


@pytest.mark.parametrize("path", [None, 5, b"idx"])
def test_an_index_folder_must_be_text_or_a_path(path: Any) -> None:
    for make in (SenseIndex.open, SenseIndex.create, SenseIndex.open_or_create):
        with pytest.raises(UsageError, match="index folder name must be text or a path"):
            make(path)  # None had opened a folder named "None"


@pytest.mark.parametrize("name", ["progress", "written", "phase"])
def test_a_callback_that_is_no_function_is_a_usage_error_before_anything_is_indexed(
        built: tuple[SenseIndex, Path], tmp_path: Path, name: str) -> None:
    from sensesearch import Document

    index, corpus = built
    before = index.info().documents
    new = Document(key="new", label="new", path="new", text="The river bank flooded.", content_hash="h-new")
    with pytest.raises(UsageError, match=f"{name} must be a function or None"):  # a raw TypeError once written
        index.add_documents([new], **{name: 5})
    with pytest.raises(UsageError, match=f"{name} must be a function or None"):  # taken silently: nothing new
        index.add([corpus], **{name: "x"})
    assert index.info().documents == before
    with pytest.raises(UsageError, match="read must be a function or None"):
        index.add([corpus], read=5)  # type: ignore[arg-type]


def test_hits_of_a_closed_index_are_an_index_closed_error(built: tuple[SenseIndex, Path]) -> None:
    from sensesearch import IndexClosedError

    index, _ = built
    assert index.hits([1])
    index.close()
    with pytest.raises(IndexClosedError):  # answered from the rows, as no other read of a closed index did
        index.hits([1])


def test_constructor_arguments_of_the_wrong_type_are_usage_errors_and_leave_no_lock(tmp_path: Path) -> None:
    settings = EncoderSettings(model="fake:test")
    for call, message in [
            (lambda: SenseIndex.create(tmp_path / "a", model=5), "model must be a model name"),
            (lambda: SenseIndex.create(tmp_path / "a", settings="fake:test"), "settings must be an EncoderSettings"),
            (lambda: SenseIndex.create(tmp_path / "a", settings=settings, lock_timeout="5"), "lock_timeout must be"),
            (lambda: SenseIndex.create(tmp_path / "a", settings=settings, lemma_language=5), "lemma_language must be"),
    ]:  # each an AttributeError or TypeError
        with pytest.raises(UsageError, match=message):
            call()
    SenseIndex.create(tmp_path / "idx", settings=settings).close()
    with pytest.raises(UsageError, match="read_only must be True or False"):  # "no" had opened it read-only
        SenseIndex.open(tmp_path / "idx", read_only="no")
    with pytest.raises(UsageError, match="lock_timeout must be"):
        SenseIndex.open(tmp_path / "idx", lock_timeout=-1)
    with pytest.raises(UsageError, match="settings must be an EncoderSettings"):  # an AttributeError under the lock,
        SenseIndex.open_or_create(tmp_path / "idx", "fake:test")  # which stayed held by the index never returned
    SenseIndex.open(tmp_path / "idx").close()


def test_a_reader_neither_recovers_nor_saves_vectors(built: tuple[SenseIndex, Path]) -> None:
    from sensesearch import IndexClosedError, ReadOnlyError

    index, _ = built
    reader = SenseIndex.open(index.path, read_only=True)
    # A writer's checkpoint: vectors saved before their rows are committed. The reader took them for a crash's
    # strays, dropped them and rewrote the vectors file without the write lock.
    index.storage.vectors.add(np.array([10_000], dtype=np.int64),
                              np.ones((1, index.vectors.dim), dtype=np.float32))
    index.storage.save_vectors()
    reader.refresh()
    stamp = (index.path / "vectors.faiss").stat().st_mtime_ns
    for call in (reader.recover, reader.save_vectors):
        with pytest.raises(ReadOnlyError):
            call()
    assert (index.path / "vectors.faiss").stat().st_mtime_ns == stamp
    reader.close()
    assert index.recover() == 1
    index.close()
    for call in (index.recover, index.save_vectors):
        with pytest.raises(IndexClosedError):
            call()


def test_a_document_record_of_the_wrong_types_is_a_usage_error_as_it_is_made(built: tuple[SenseIndex, Path]) -> None:
    from sensesearch import Document

    index, _ = built
    fields = {"key": "k", "label": "k", "path": "k", "text": "The bank.", "content_hash": "h"}
    for name, value in [("text", 5), ("text", b"The bank."), ("key", None), ("path", 3), ("meta", "x")]:
        with pytest.raises(UsageError, match=f"a Document's {name} must be"):  # TypeError, IntegrityError, stored
            index.add_documents([Document(**{**fields, name: value})])
    assert Document(**{**fields, "path": Path("a/b.txt")}).path == "a/b.txt"


def test_a_callers_document_with_lone_surrogates_and_nul_is_stored_as_u_fffd(built: tuple[SenseIndex, Path]) -> None:
    from sensesearch import Document

    index, _ = built  # the strict encoder refuses a lone surrogate, as a real tokenizer does (a raw TypeError)
    made = Document(key="api\ud800", label="api\ud800", path="api", text="The ba\ud800nk x\x00y.", content_hash="h")
    assert made.text == "The ba\ufffdnk x\ufffdy." and made.label == "api\ufffd"
    assert index.add_documents([made]).documents_indexed == 1
    assert [hit.sentence for hit in index.usages("ba\ud800nk", documents="api\ud800")] == ["The ba\ufffdnk x\ufffdy."]


def test_none_is_a_usage_error_and_an_empty_list_is_nothing_to_do(built: tuple[SenseIndex, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """add(None) and remove(None) had done nothing as silently as an empty list: None is a forgotten argument. An
    empty list, as a caller's list of changed files may come out, is nothing to do: no model loaded, nothing
    written; a read-only index still refuses it."""
    index, corpus = built
    before = index.catalog()
    with pytest.raises(UsageError, match="not None"):
        index.add(None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not None"):
        index.remove(None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="NoneType"):
        index.add_documents(None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="each of paths must be text or a path, not int"):  # Path is taken
        index.add([corpus, 5])  # type: ignore[list-item]

    def no_model(settings: Any, device: Any) -> Any:
        raise AssertionError("the model was loaded for nothing to add")

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", no_model)
    index._encoder = None  # as a fresh process would be
    stamp = index.vectors_stamp
    for empty in ([], (), iter([])):
        assert index.add(empty).documents_indexed == 0
        assert index.add_documents(empty).documents_indexed == 0
        assert index.remove(empty) == []
    assert index.add_documents(x for x in ()).documents_indexed == 0
    assert index.catalog() == before and index.vectors_stamp == stamp
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", lambda settings, device: StrictEncoder(settings))
    extra = corpus.parent / "extra.txt"
    extra.write_text("The bank by the mill.\n")
    assert index.add(iter([extra])).documents_indexed == 1  # an iterator of paths is read once, not emptied first
    with SenseIndex.open(index.path, read_only=True) as reader:
        for call in (lambda: reader.add([]), lambda: reader.add_documents([]), lambda: reader.remove([]),
                     lambda: reader.remove_documents([])):  # remove_documents([]) had returned, unchecked
            with pytest.raises(ReadOnlyError):
                call()


def test_documents_has_the_shape_and_order_of_the_cli_listing(built: tuple[SenseIndex, Path]) -> None:
    """documents() gave id, document, key and counts, where `sensesearch documents --json` gives label, path,
    word pieces and metadata too: one shape, from one source (catalog), with `document` kept for its callers."""
    index, _ = built
    listed = index.documents()
    assert [{k: v for k, v in d.items() if k != "document"} for d in listed] == [e.to_dict() for e in index.catalog()]
    assert [d["document"] for d in listed] == [d["label"] for d in listed]
    assert {d["document"]: d["meta"].get("year") for d in listed}["r1"] == 1990
