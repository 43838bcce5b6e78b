"""Sense inventory: the shared classifier, named senses, cached tags, search by sense, and eval equality (fake encoder)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.errors import (InputError, QueryError, SenseNotFoundError, SenseSearchError, UsageError,
                               WordNotFoundError)
from sensesearch.sense_records import WordInventory
from sensesearch.evaldata import read_coarsewsd
from sensesearch.evaluate import evaluate_coarsewsd
from sensesearch.sense_eval import inventory_accuracy
from sensesearch.tagging import classify

from .test_evaluate import MONEY, MONEY_WORDS, RIVER, RIVER_WORDS, sentences, wsd_dirs  # noqa: F401  (fixture)

BIOLOGY_WORDS = ["membrane", "nucleus", "protein", "tissue", "organism", "enzyme", "mitosis", "dna"]
PRISON_WORDS = ["prisoner", "guard", "locked", "jail", "inmate", "warden", "bars", "convict"]
BIOLOGY = sentences(BIOLOGY_WORDS)
PRISON = sentences(PRISON_WORDS)
VOCABULARY = {"finance": MONEY_WORDS, "river": RIVER_WORDS, "biology": BIOLOGY_WORDS, "prison": PRISON_WORDS}


def line(template: str, word: str) -> str:
    return template.format(w=word).capitalize() + "."


@pytest.fixture
def two_word_corpus(tmp_path: Path) -> Path:
    """a.txt: 3 money banks, 1 river bank, 2 biology cells; b.txt: 2 river banks, 2 prison cells, 1 biology cell."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join([line(MONEY[0], "bank"), line(MONEY[1], "bank"), line(MONEY[2], "bank"),
                                             line(RIVER[0], "bank"), line(BIOLOGY[0], "cell"),
                                             line(BIOLOGY[1], "cell")]) + "\n")
    (folder / "b.txt").write_text("\n".join([line(RIVER[1], "bank"), line(RIVER[2], "bank"), line(PRISON[0], "cell"),
                                             line(PRISON[1], "cell"), line(BIOLOGY[2], "cell")]) + "\n")
    return folder


def expected_sense(sentence: str) -> str:
    words = set(sentence.lower().rstrip(".").split())
    for name, templates in (("finance", MONEY), ("river", RIVER), ("biology", BIOLOGY), ("prison", PRISON)):
        if words & set(" ".join(templates).split()) - {"{w}"}:
            return name
    raise AssertionError(sentence)


def marked(template: str, word: str) -> str:
    return line(template, word).replace(word, f"[[{word}]]", 1)


def examples(word: str, sense: str) -> list[str]:
    """Two example sentences whose context spans the sense's whole vocabulary (good examples for the fake encoder)."""
    vocabulary = VOCABULARY[sense]
    return [" ".join(vocabulary[:4]).capitalize() + f" [[{word}]] " + " ".join(vocabulary[4:]) + ".",
            " ".join(vocabulary[4:]).capitalize() + f" [[{word}]] " + " ".join(vocabulary[:4]) + "."]


def define(index: SenseIndex) -> None:
    for word, senses in (("bank", ("finance", "river")), ("cell", ("biology", "prison"))):
        for name in senses:
            index.sense(word).add(name, examples(word, name))


@pytest.fixture
def tagged(tmp_path: Path, two_word_corpus: Path, fake_settings: EncoderSettings) -> SenseIndex:
    index = SenseIndex.create(tmp_path / "idx", settings=fake_settings)
    index.add([two_word_corpus])
    define(index)
    yield index
    index.close()


def test_classify_centroid_and_knn_margins_on_known_vectors() -> None:
    examples = np.array([[1, 0], [1, 0.2], [0, 1]], dtype=np.float32)
    usages = np.array([[1, 0], [0.6, 0.8]], dtype=np.float32)
    tags = classify(examples, ["a", "a", "b"], usages, "centroid")
    centre_a = np.array([2, 0.2]) / np.linalg.norm([2, 0.2])  # the mean of a's examples, renormalised
    assert tags.labels() == ["a", "b"]
    assert tags.margin[0] == pytest.approx(centre_a[0] - 0.0, abs=1e-6)
    assert tags.margin[1] == pytest.approx(0.8 - (0.6 * centre_a[0] + 0.8 * centre_a[1]), abs=1e-6)
    knn = classify(examples, ["a", "a", "b"], usages, "knn", k=3)
    # Votes a:2 b:1 of 3 for both rows: share 2/3 - 1/3.
    assert knn.labels() == ["a", "a"] and knn.margin.tolist() == pytest.approx([1 / 3, 1 / 3])
    one = classify(examples[:2], ["a", "a"], usages, "centroid")
    assert one.labels() == ["a", "a"] and one.margin[0] == pytest.approx(centre_a[0], abs=1e-6)
    with pytest.raises(InputError):
        classify(examples, ["a"], usages)


def test_every_usage_of_two_words_gets_its_sense(tagged: SenseIndex) -> None:
    for word in ("bank", "cell"):
        tags = tagged.sense(word).tags().by_id()
        hits = tagged.usages(word)
        assert len(tags) == len(hits) == (6 if word == "bank" else 5)
        for hit in hits:
            assert tags[hit.occurrence_id][0] == expected_sense(hit.sentence), hit.sentence
    finance = tagged.sense("bank").usages("finance")
    assert len(finance) == 3 and all(expected_sense(h.sentence) == "finance" for h in finance)
    assert all(h.score is not None and h.score > 0 for h in finance)
    docs = tagged.sense("bank").documents("river")
    assert [(Path(d.document).name, d.count, d.usages) for d in docs] == [("b.txt", 2, 2), ("a.txt", 1, 4)]
    assert [Path(d.document).name for d in tagged.sense("bank").documents("river", min_count=2)] == ["b.txt"]
    assert [d.count for d in tagged.sense("cell").documents("prison")] == [2]
    near = tagged.sense("bank").query(line(RIVER[3], "bank").replace("bank", "[[bank]]"), "finance", k=10)
    assert len(near) == 3 and all(expected_sense(h.sentence) == "finance" for h in near)


def test_inventory_is_listed_and_removed(tagged: SenseIndex) -> None:
    found = tagged.sense("Bank").inventory()
    assert found is not None and found.sense_names() == ["finance", "river"]
    assert [len(s.examples) for s in found.senses] == [2, 2] and found.method == "centroid"
    assert tagged.sense("bank").remove("river") == ["river"]
    assert tagged.sense("bank").tags().counts() == {"finance": 6, "unassigned": 0}
    with pytest.raises(SenseSearchError, match="no sense 'river'"):
        tagged.sense("bank").remove("river")
    assert tagged.sense("bank").remove() == ["finance"] and tagged.sense("bank").inventory() is None
    with pytest.raises(SenseSearchError, match="no sense inventory"):
        tagged.sense("bank").tags()


def test_an_example_a_sense_already_has_is_not_added_again(tagged: SenseIndex) -> None:
    """Found by a helper: `sense add` with the same example again counted it twice (n_examples 4 for 2), weighing it
    twice in the centroid; now adding the same examples again, or one twice in one call, changes nothing."""
    before = tagged.sense("bank").tags().counts()
    tagged.sense("bank").add("river", examples("bank", "river") + examples("bank", "river")[:1])
    found = tagged.sense("bank").inventory()
    assert found is not None and [len(s.examples) for s in found.senses] == [2, 2]
    assert tagged.sense("bank").tags().counts() == before
    tagged.sense("bank").add("finance", [examples("bank", "finance")[0], examples("bank", "river")[0]])
    found = tagged.sense("bank").inventory()
    assert found is not None and [len(s.examples) for s in found.senses] == [3, 2]


def test_tags_are_cached_and_follow_the_corpus_and_the_inventory(tagged: SenseIndex, tmp_path: Path) -> None:
    first = tagged.sense("bank").tags()
    assert tagged.sense("bank").tags() is first
    db = sqlite3.connect(tagged.path / "meta.sqlite")
    assert db.execute("SELECT key FROM sense_tag_cache WHERE word='bank'").fetchone()[0] == first.key
    extra = tmp_path / "c.txt"
    extra.write_text(line(RIVER[5], "bank") + "\n")
    tagged.add([extra])
    after_add = tagged.sense("bank").tags()
    assert after_add.key != first.key and after_add.counts()["river"] == 4
    tagged.remove([d["document"] for d in tagged.documents() if d["document"].endswith("b.txt")])
    assert tagged.sense("bank").tags().counts() == {"finance": 3, "river": 2, "unassigned": 0}
    tagged.sense("bank").configure(threshold=2.0)
    assert tagged.sense("bank").tags().counts() == {"finance": 0, "river": 0, "unassigned": 5}
    assert len(tagged.sense("bank").usages("unassigned")) == 5
    tagged.sense("bank").configure(method="knn", k=1, threshold=0.0)
    assert tagged.sense("bank").tags().counts()["unassigned"] == 0
    db.close()


def test_cached_tags_are_read_back_by_a_new_reader(tagged: SenseIndex) -> None:
    wanted = tagged.sense("cell").tags()
    path = tagged.path
    tagged.close()
    with SenseIndex.open(path, read_only=True) as reader:
        again = reader.sense("cell").tags()
    assert again.key == wanted.key and again.ids.tolist() == wanted.ids.tolist()
    assert again.sense.tolist() == wanted.sense.tolist()
    assert np.allclose(again.margin, wanted.margin)


def test_examples_from_a_cluster_and_from_files(tmp_path: Path, two_word_corpus: Path,
                                                fake_settings: EncoderSettings) -> None:
    tsv = tmp_path / "bank.tsv"
    tsv.write_text("# sense<TAB>sentence\nfinance\t" + examples("bank", "finance")[0] + "\n"
                   "river\t" + examples("banks", "river")[0] + "\n")
    jsonl = tmp_path / "cell.jsonl"
    text = examples("cell", "prison")[0].replace("[[", "").replace("]]", "")
    jsonl.write_text(json.dumps({"sense": "prison", "text": text, "start": text.index("cell"),
                                 "end": text.index("cell") + 4}) + "\n"
                     + json.dumps({"label": "biology", "text": examples("cell", "biology")[1]}) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        assert index.sense("bank").add_from_file(tsv) == {"finance": 1, "river": 1}
        assert index.sense("bank").inventory().forms == ("bank", "banks")
        assert index.sense("cell").add_from_file(jsonl) == {"biology": 1, "prison": 1}
        for hit in index.usages("cell"):
            assert index.sense("cell").tags().by_id()[hit.occurrence_id][0] == expected_sense(hit.sentence)
        report = index.senses("bank", k=2, seed=0)
        river = next(g.sense for g in report.senses if expected_sense(g.examples[0].sentence) == "river")
        added = index.sense("bank").add_from_cluster("shore", river, k=2, seed=0, limit=2)
        shore = next(s for s in added.senses if s.name == "shore")
        assert len(shore.examples) == 2 and all(e.source == "cluster" and e.occurrence_id for e in shore.examples)
        with pytest.raises(SenseSearchError, match="not 7"):
            index.sense("bank").add_from_cluster("x", 7, k=2)
    bad = tmp_path / "bad.tsv"
    bad.write_text("finance\tno marker here\n")
    with SenseIndex.open(tmp_path / "idx") as index, pytest.raises(InputError, match="bad.tsv:1"):
        index.sense("bank").add_from_file(bad)
    # Offsets get the marker's checks: "b[[ank]]" was stored as an example of 'ank' (and tags moved with it).
    cut = tmp_path / "cut.jsonl"
    cut.write_text(json.dumps({"sense": "finance", "text": "The bank of the river.", "start": 5, "end": 8}) + "\n")
    with SenseIndex.open(tmp_path / "idx") as index, pytest.raises(InputError, match="cut.jsonl:1: the marker cuts "
                                                                                     "the word 'bank'"):
        index.sense("bank").add_from_file(cut)
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text(json.dumps({"sense": "finance", "text": "The  bank  rose.", "start": 4, "end": 10}) + "\n")
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        before = index.sense("bank").inventory()
    with SenseIndex.open(tmp_path / "idx") as index:
        assert index.sense("bank").add_from_file(spaced) == {"finance": 1}
        example = next(s for s in index.sense("bank").inventory().senses if s.name == "finance").examples[-1]
    assert example.text[example.start:example.end] == "bank" and before is not None


def test_an_inventory_without_examples_is_a_sense_not_found() -> None:
    """Senses without examples are no senses to tag with, as inventory_of says of a word without senses (HTTP 404);
    it had been a bare SenseSearchError (400 had it reached the server)."""
    empty = WordInventory(word="bank", forms=("bank",), method="centroid", k=5, threshold=0.0, revision="r")
    with pytest.raises(SenseNotFoundError, match="'bank' has no sense examples"):
        empty.training()


def test_bad_names_and_read_only_writes_are_refused(tagged: SenseIndex) -> None:
    for name in ("", "a:b", "unassigned"):
        with pytest.raises(UsageError, match="a sense name must be"):
            tagged.sense("bank").add(name, ["the [[bank]] rate"])
    with pytest.raises(InputError, match="one word"):
        tagged.sense("bank").add("x", ["the [[river bank]] here"])
    with pytest.raises(InputError, match="method"):
        tagged.sense("bank").configure(method="svm")
    with pytest.raises(InputError, match="method must be one of"):
        tagged.sense("bank").configure(method="svm", k=3)
    path = tagged.path
    tagged.close()
    with SenseIndex.open(path, read_only=True) as reader, pytest.raises(SenseSearchError, match="read-only"):
        reader.sense("bank").remove()


@pytest.mark.parametrize("method", ["centroid", "knn"])
def test_inventory_tagging_accuracy_equals_eval_coarsewsd(wsd_dirs: tuple[Path, Path],  # noqa: F811
                                                          method: str) -> None:
    train, test = (read_coarsewsd(d) for d in wsd_dirs)
    settings = EncoderSettings(model="fake:test")
    report = evaluate_coarsewsd(train, test, settings, method=method, k=3, compression="flat")
    through_inventory = inventory_accuracy(train, test, settings, method=method, k=3, compression="flat")
    assert through_inventory == {w: s.accuracy for w, s in report.per_word.items()}


def test_an_index_made_before_the_inventory_gets_its_tables(tmp_path: Path, two_word_corpus: Path,  # noqa: F811
                                                            fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
    db = sqlite3.connect(tmp_path / "idx" / "meta.sqlite")
    db.execute("DROP TABLE IF EXISTS inventory_examples")
    db.execute("DROP TABLE IF EXISTS inventory_senses")
    db.execute("DROP TABLE IF EXISTS inventory_words")
    db.commit()
    with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
        assert reader.sense("bank").inventory() is None
        with pytest.raises(SenseSearchError, match="no sense inventory"):
            reader.sense("bank").usages("finance")
    with SenseIndex.open(tmp_path / "idx") as writer:
        define(writer)
        assert writer.sense("bank").tags().counts() == {"finance": 3, "river": 3, "unassigned": 0}
    db.close()


def test_search_by_sense_within_documents(tagged: SenseIndex) -> None:
    b_txt = [d["document"] for d in tagged.documents() if d["document"].endswith("b.txt")]
    river = tagged.sense("bank").usages("river", documents=b_txt)
    assert len(river) == 2 and {h.document for h in river} == set(b_txt)
    near = tagged.sense("bank").query(marked(RIVER[3], "bank"), "river", k=5, documents=b_txt)
    assert len(near) == 2 and all(h.document in b_txt for h in near)
    # As a search without a sense: the documents leave no usage, and that is said, not an empty answer.
    with pytest.raises(WordNotFoundError, match="no usage in the sense 'finance' in the chosen documents"):
        tagged.sense("bank").usages("finance", documents=b_txt)


def test_examples_of_another_word_never_widen_a_words_usages(tagged: SenseIndex, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """`sense add bank river "the [[river]] flows"` made "river" a form of bank: usages of river were tagged
    and listed as bank's."""
    with pytest.raises(QueryError, match="marks 'cell', which is not a form of 'bank'"):
        tagged.sense("bank").add("river", ["The [[cell]] divided."])
    labelled = tmp_path / "labelled.tsv"
    labelled.write_text("river\tWe sat on the [[banks]] of the stream.\nriver\tThe [[cell]] was dark.\n")
    added = tagged.sense("bank").add_from_file(labelled)
    found = tagged.sense("bank").inventory()
    assert added == {"river": 2} and found is not None
    assert "cell" not in found.forms and "banks" in found.forms
    assert "mark 'cell', not a form of 'bank'" in caplog.text


def test_a_file_of_another_words_examples_is_refused(tagged: SenseIndex, tmp_path: Path) -> None:
    """`sense add cell --from-file` given bank's labelled file (a CoarseWSD-20 folder of another word) made cell's
    senses out of bank's examples, with only a warning, and its usages were tagged by them."""
    labelled = tmp_path / "bank.tsv"
    labelled.write_text("finance\tShe paid money into the [[bank]].\nriver\tWe sat on the [[banks]] of the stream.\n")
    before = tagged.sense("cell").counts()
    with pytest.raises(QueryError, match="no example marks 'cell' or a form of it \\(they mark 'bank', 'banks'\\)"):
        tagged.sense("cell").add_from_file(labelled)
    found = tagged.sense("cell").inventory()
    assert found is not None and "finance" not in [s.name for s in found.senses] and "bank" not in found.forms
    assert tagged.sense("cell").counts() == before


def test_a_usage_two_forms_find_is_tagged_once(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """An example marking [[bank's]] made bank's a form of bank (its lemma is bank); the phrase's usages are bank's
    usages too, so each was tagged, counted and listed twice."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The bank's profits rose sharply.\nWe sat on the bank of the river.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        index.sense("bank").add("finance", ["The [[bank's]] rates rose."])
        index.sense("bank").add("river", ["We walked along the [[bank]] of the stream."])
        found = index.sense("bank").inventory()
        assert found is not None and "bank's" in found.forms
        tags = index.sense("bank").tags()
        assert len(tags.ids) == len(set(tags.ids.tolist())) == len(index.usages("bank")) == 2
        assert sum(index.sense("bank").counts().values()) == 2
        assert len(index.sense("bank").tagged()) == 2


def test_tags_follow_a_reindex_that_trains_a_new_code(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """reindex trains one SQ8 code over every vector, which changes the decoded vectors but neither the documents nor
    the layout's name: the cache key stayed the same, and the old tags (5 of 750 senses) were served after it."""
    import random

    from sensesearch.sensetags import compute_tags, inventory_of

    pick = random.Random(0)
    words = "money loan river water mud fish interest rate account stream reed heron cash tree grass boat".split()

    def text(n: int) -> str:
        return "".join(" ".join(pick.choice(words) for _ in range(4)).capitalize() + " bank "
                       + " ".join(pick.choice(words) for _ in range(5)) + ".\n" for _ in range(n))

    (tmp_path / "a.txt").write_text(text(450))
    (tmp_path / "b.txt").write_text(text(300))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "a.txt"])
        index.add([tmp_path / "b.txt"])  # the code was trained on a.txt's 4,500 vectors, not on all 7,500
        index.sense("bank").add("finance", ["Money loan [[bank]] interest rate.", "Cash account [[bank]] loan money."])
        index.sense("bank").add("river", ["River water [[bank]] mud reed.", "Heron stream [[bank]] fish grass."])
        before = index.sense("bank").tags()
        index.reindex()
        after = index.sense("bank").tags()
        fresh = compute_tags(index, inventory_of(index, "bank"))
        assert after.key != before.key
        assert after.sense.tolist() == fresh.sense.tolist() and np.array_equal(after.margin, fresh.margin)


def test_a_cluster_examples_id_never_names_another_usage(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """A cluster example keeps the occurrence id it was taken from; once its document was removed, the next document
    got those ids, and the example named a usage of another word."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("She paid the cheque into the bank on Monday.\nWe sat on the bank of the river.\n")
    (corpus / "z.txt").write_text("He robbed a bank in Dallas.\nThe bank raised its rates.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        index.sense("bank").add_from_cluster("all", 1, k=1, limit=4)
        kept = {e.text: e.occurrence_id for e in index.sense("bank").inventory().senses[0].examples}
        assert all(kept.values()) and len(kept) == 4
        index.remove([str(corpus / "z.txt")])
        (corpus / "z.txt").unlink()
        (corpus / "y.txt").write_text("Zebra horse cow dog cat bird fish sheep goat.\nAnother line of many words here.\n")
        index.add([corpus])
        now = {e.text: e.occurrence_id for e in index.sense("bank").inventory().senses[0].examples}
        by_id = {h.occurrence_id: h.sentence for h in index.usages("bank")}
        assert {t: i for t, i in now.items() if i is not None} == {t: i for t, i in kept.items() if by_id.get(i) == t}
        assert now["He robbed a bank in Dallas."] is None


def test_a_form_another_inventory_tags_adds_to_that_inventory(tagged: SenseIndex) -> None:
    """`sense add banks ...` after an example of bank marked [[banks]] made a second inventory, banks: it hid bank's
    senses from `usages banks --sense river`, and `sense config banks` said banks had none."""
    tagged.sense("bank").add("river", ["We sat on the [[banks]] of the stream."])
    assert "banks" in tagged.sense("bank").inventory().forms
    found = tagged.sense("banks").add("finance", ["The [[banks]] lent money to farmers."])
    assert found.word == "bank" and [w.word for w in tagged.sense_words()] == ["bank", "cell"]
    assert tagged.sense("banks").configure(threshold=0.01).word == "bank"
    assert tagged.sense("banks").counts() == tagged.sense("bank").counts()


def test_a_failing_database_is_no_word_without_senses(tagged: SenseIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """counts() and the tagging after an add caught every SenseSearchError: a database that failed while tagging was
    answered as "no senses" (None), and the add reported done. Only nothing to tag with is None now."""
    from sensesearch import sense_api
    from sensesearch.errors import StorageUnavailableError

    assert tagged.sense("river").counts() is None  # a word without an inventory
    assert tagged.sense("bank").counts() is not None

    def failing(*_args: object) -> None:
        raise StorageUnavailableError("the metadata database failed: database is locked")

    monkeypatch.setattr(sense_api, "word_tags", failing)
    with pytest.raises(StorageUnavailableError, match="database is locked"):
        tagged.sense("bank").counts()
    with pytest.raises(StorageUnavailableError, match="database is locked"):
        tagged.sense("bank").add("river", ["We walked along the river [[bank]] at dusk."])
