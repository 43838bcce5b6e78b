"""IVF list assignment by the caller (ivf.Assign): the same lists and codes as FAISS's own, and ingest hands
the encoder's device search to it only when the encoder runs off the host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

import sensesearch.codec as codec_module
import sensesearch.runner as runner_module
from sensesearch.config import EncoderSettings
from sensesearch.corpus import read_corpus
from sensesearch.encoder import device_assign
from sensesearch.errors import SenseSearchError, SetupError
from sensesearch.index import SenseIndex
from sensesearch.ivf import add_to_lists, build_ivf
from sensesearch.runner import WordVectorRunner
from sensesearch.vectors import VectorStore

from .fake_encoder import FakeEncoder


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def numpy_nearest(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmax(vectors @ centroids.T, axis=1)


def lists_of(index: faiss.Index) -> list[tuple[list[int], bytes]]:
    """Each list's ids (sorted) and codes in id order: what an IVF index holds, whatever order it was filled in."""
    ivf = faiss.extract_index_ivf(index)
    out = []
    for number in range(ivf.nlist):
        size = ivf.invlists.list_size(number)
        ids = faiss.rev_swig_ptr(ivf.invlists.get_ids(number), size).copy()
        codes = faiss.rev_swig_ptr(ivf.invlists.get_codes(number), size * ivf.code_size).copy()
        order = np.argsort(ids)
        out.append((ids[order].tolist(), codes.reshape(size, ivf.code_size)[order].tobytes()))
    return out


def exhaustive_store(x: np.ndarray, compression: str) -> VectorStore:
    store = VectorStore.create(x.shape[1], compression)
    store.add(np.arange(1, len(x) + 1, dtype=np.int64), x)
    store.train_codec()
    return store


@pytest.mark.parametrize("compression", ["sq8", "pq", "fp16"])
def test_rebuilt_with_an_assignment_holds_what_faiss_own_assignment_holds(compression: str) -> None:
    # PQ codes residuals from the list's centroid; it trains 256 centroids per sub-quantizer, so few dimensions.
    dim = 8 if compression == "pq" else 32
    store = exhaustive_store(unit_rows(12_000, dim, seed=1), compression)
    calls = []

    def counted(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        calls.append(len(vectors))
        return numpy_nearest(vectors, centroids)

    by_faiss = store.rebuilt(force=True)
    by_caller = VectorStore(build_ivf(store, compression, force=True, assign=counted), compression)
    assert sum(calls) == store.ntotal and by_caller.ivf is not None
    assert lists_of(by_caller.index) == lists_of(by_faiss.index)
    assert by_caller.ivf.nprobe == by_faiss.ivf.nprobe
    ids = np.array([1, 500, 12_000], dtype=np.int64)
    assert np.array_equal(by_caller.reconstruct(ids), by_faiss.reconstruct(ids))

    more = unit_rows(700, dim, seed=2)
    more_ids = np.arange(20_001, 20_701, dtype=np.int64)
    by_faiss.add(more_ids, more)
    by_caller.add(more_ids, more, counted)
    assert calls[-1] == 700 and lists_of(by_caller.index) == lists_of(by_faiss.index)
    assert by_caller.sorted_ids()[-1] == 20_700 and by_caller.contains(np.array([20_001]))[0]


@pytest.mark.parametrize("wrong", [lambda v, c: np.zeros(len(v) - 1, dtype=np.int64),
                                   lambda v, c: np.full(len(v), len(c), dtype=np.int64),
                                   lambda v, c: np.full(len(v), -1, dtype=np.int64),
                                   lambda v, c: np.zeros(len(v), dtype=np.float32)])
def test_a_wrong_assignment_is_refused_before_anything_is_added(wrong) -> None:  # type: ignore[no-untyped-def]
    store = exhaustive_store(unit_rows(5_000, 16, seed=3), "sq8").rebuilt(force=True)
    before = store.ntotal
    with pytest.raises(SenseSearchError, match="a list assignment gave"):
        add_to_lists(store.ivf, np.arange(90_000, 90_010, dtype=np.int64), unit_rows(10, 16, seed=4), wrong)
    assert store.ntotal == before


def test_runner_nearest_matches_faiss_coarse_search_in_any_number_of_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    centroids = unit_rows(37, 24, seed=5)
    vectors = unit_rows(1_000, 24, seed=6)
    quantizer = faiss.IndexFlatIP(24)
    quantizer.add(centroids)
    expected = quantizer.search(vectors, 1)[1].ravel()
    runner = WordVectorRunner(lambda ids, mask: None, combine="sum", dim=24, device="cpu")
    monkeypatch.setattr(runner_module, "NEAREST_SCORES", 37 * 64)  # 64 rows at a time: 16 pieces
    found = runner.nearest(vectors, centroids)
    assert found.dtype == np.int64 and np.array_equal(found, expected)
    assert runner.nearest(vectors[:0], centroids).shape == (0,)


def test_runner_nearest_asks_again_for_fewer_rows_when_the_device_runs_out_of_memory(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """It runs in an ingest's last checkpoint, beside the model's batches: an OOM there had failed the whole run's
    last stretch."""
    import torch

    centroids = unit_rows(37, 24, seed=5)
    vectors = unit_rows(1_000, 24, seed=6)
    quantizer = faiss.IndexFlatIP(24)
    quantizer.add(centroids)
    runner = WordVectorRunner(lambda ids, mask: None, combine="sum", dim=24, device="cpu")
    monkeypatch.setattr(runner_module, "NEAREST_SCORES", 37 * 256)
    asked: list[int] = []
    best = WordVectorRunner._best

    def scarce(piece: Any, table: Any) -> Any:
        asked.append(len(piece))
        if len(piece) > 60:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return best(piece, table)

    monkeypatch.setattr(runner, "_best", scarce)
    assert np.array_equal(runner.nearest(vectors, centroids), quantizer.search(vectors, 1)[1].ravel())
    assert asked[:3] == [256, 128, 64] and max(asked[3:]) == 32 and "32 rows at a time now" in caplog.text

    def none_left(piece: Any, table: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(runner, "_best", none_left)
    with pytest.raises(SetupError, match="no memory left to assign vectors to their IVF lists"):
        runner.nearest(vectors, centroids)


class OffHostEncoder(FakeEncoder):
    """A fake encoder that says it runs on an accelerator and brings its own centroid search, counting rows."""

    def __init__(self, settings: EncoderSettings) -> None:
        super().__init__(settings)
        self.runs_on_host = False
        self.assigned = 0

    def nearest_centroids(self, vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        self.assigned += len(vectors)
        return numpy_nearest(vectors, centroids)


def test_device_assign_only_for_encoders_off_the_host(fake_settings: EncoderSettings) -> None:
    on_host = FakeEncoder(fake_settings)
    off_host = OffHostEncoder(fake_settings)
    assert device_assign(None) is None and device_assign(on_host) is None
    assert device_assign(off_host) == off_host.nearest_centroids
    off_host.runs_on_host = True
    assert device_assign(off_host) is None


def test_ingest_fills_ivf_lists_with_the_encoders_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        fake_settings: EncoderSettings) -> None:
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 300)
    # Sentences drawn at random, so that no two vectors (and no two centroids) tie.
    words = ("river bank money loan water stream house field market trade boat shore coin rate town hill road "
             "mill farm ship").split()
    rng = np.random.default_rng(7)
    texts = []
    for part in range(2):
        folder = tmp_path / f"corpus{part}"
        folder.mkdir()
        (folder / "a.txt").write_text("\n\n".join(" ".join(rng.choice(words, 12)) + "." for _ in range(40)))
        texts.append(folder)
    built = {}
    for name, encoder in (("device", OffHostEncoder(fake_settings)), ("faiss", FakeEncoder(fake_settings))):
        with SenseIndex.create(tmp_path / name, settings=fake_settings, encoder=encoder) as index:
            index.add([texts[0]])  # past IVF_THRESHOLD: rebuilt as IVF when the ingest ends
            assert index.vectors.ivf is not None
            index.add([texts[1]])  # into the IVF lists directly
            assert [h.word for h in index.query("money in the [[bank]]", k=3)] == ["bank"] * 3
            added = lists_of(index.vectors.index)
            assigned = getattr(encoder, "assigned", None)
            assert index.reindex() == 960 and index.vectors.ivf is not None
            built[name] = (added, lists_of(index.vectors.index), assigned, getattr(encoder, "assigned", None))
    # Each vector assigned once as it was indexed (the first corpus's by the rebuild, the second's as it was
    # added), then once more by reindex's rebuild; the lists hold the same as FAISS's own assignment.
    assert built["device"][2:] == (960, 1920) and built["faiss"][2:] == (None, None)
    assert built["device"][:2] == built["faiss"][:2]


def test_the_last_checkpoint_lays_out_and_saves_the_ivf_index_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   fake_settings: EncoderSettings) -> None:
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 300)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("\n\n".join(f"Sentence {i} of the river bank and the money bank." for i in range(60)))
    saved: list[str] = []
    original = VectorStore.save

    def noted(self: VectorStore, path: Path) -> None:
        saved.append(self.describe())
        original(self, path)

    phases: list[str] = []
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        monkeypatch.setattr(VectorStore, "save", noted)
        index.add_documents(read_corpus([corpus]), phase=phases.append)
        assert index.vectors.ivf is not None and index.info().occurrences == 600
    # One save, already laid out as IVF: not an exhaustive save followed by the rebuilt index's.
    assert [layout.split(",")[0] for layout in saved] == ["IVF98"]
    assert phases == ["building the vector index", "saving the vectors"]


def write_sentences(path: Path, tag: str, n: int) -> None:
    path.write_text("\n\n".join(f"Sentence {i} of {tag} by the river bank and the money bank." for i in range(n)))


@pytest.mark.parametrize(("old", "new", "laid_out"), [(20, 20, False), (20, 35, True)])
def test_a_replaced_document_never_shapes_the_ivf_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         fake_settings: EncoderSettings, old: int, new: int,
                                                         laid_out: bool) -> None:
    """While a changed document is replaced, its old and new vectors are both held; the IVF decision and training
    wait for the old ones to go, so the index is what a fresh build of the same documents gives."""
    # 240 occurrences stay; the changing document holds 280 (old), then 280 or 490 (new): both versions together
    # pass the threshold, the final documents only in the second case.
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 700)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_sentences(corpus / "stays.txt", "stays", 20)
    write_sentences(corpus / "changes.txt", "the old one", old)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        assert index.vectors.ivf is None
        write_sentences(corpus / "changes.txt", "the new one", new)
        assert index.add([corpus]).documents_replaced == 1
        replaced = index.vectors
    with SenseIndex.create(tmp_path / "fresh", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        fresh = index.vectors
    assert replaced.ntotal == fresh.ntotal and (replaced.ivf is not None) == (fresh.ivf is not None) == laid_out
    if laid_out:
        centroids = [v.ivf.quantizer.reconstruct_n(0, v.ivf.nlist) for v in (replaced, fresh)]
        assert np.array_equal(*centroids)


def test_remove_and_repair_leave_the_layout_the_size_calls_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               fake_settings: EncoderSettings) -> None:
    """An ingest killed before its session's end can leave an exhaustive store past the threshold; the next writer
    of any kind lays it out (here the threshold is lowered after the build to stand in for such a store)."""
    from sensesearch.verify import verify_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b", "c"):
        write_sentences(corpus / f"{name}.txt", name, 20)
    for target in ("removed", "repaired"):
        with SenseIndex.create(tmp_path / target, settings=fake_settings, compression="flat") as index:
            index.add([corpus])
            assert index.vectors.ivf is None and index.vectors.ntotal == 720
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 300)
    with SenseIndex.open(tmp_path / "removed") as index:
        index.remove([str(corpus / "c.txt")])
    with SenseIndex.open(tmp_path / "removed", read_only=True) as index:
        assert index.vectors.describe().startswith("IVF") and index.vectors.ntotal == 480
    # verify --repair, given something to repair (a stray vector), lays the store out too.
    with SenseIndex.open(tmp_path / "repaired") as index:
        index.storage.vectors.add(np.array([10_000], dtype=np.int64), unit_rows(1, index.vectors.dim, seed=9))
        index.save_vectors()
    report = verify_index(tmp_path / "repaired", check_model=False, repair=True)
    assert any(action.startswith("laid the 720 vectors out anew") for action in report.repaired), report.repaired
    with SenseIndex.open(tmp_path / "repaired", read_only=True) as index:
        assert index.vectors.describe().startswith("IVF") and index.vectors.ntotal == 720


def test_removals_lay_an_ivf_index_out_as_a_fresh_build_of_what_stays_would_be(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_settings: EncoderSettings) -> None:
    """Removals used to leave an IVF index below the threshold, or with 4x the lists its size calls for."""
    monkeypatch.setattr(codec_module, "IVF_THRESHOLD", 300)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, n in (("big", 240), ("small", 40), ("tiny", 15)):
        write_sentences(corpus / f"{name}.txt", name, n)  # 12 words a sentence: 2,880, 480 and 180 occurrences
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        assert index.vectors.describe().startswith("IVF238,")  # 3,540 vectors
        index.remove([str(corpus / "big.txt")])  # 660 left: 103 lists called for, under half of 238
        assert index.vectors.describe().startswith("IVF103,")
        (corpus / "big.txt").unlink()
        (corpus / "small.txt").write_text("")  # an emptied file: its vectors go, 180 left, below the threshold
        index.add([corpus])
        assert index.vectors.ivf is None and index.vectors.ntotal == 180
        assert [h.word for h in index.query("money by the [[bank]]", k=3)] == ["bank"] * 3
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.vectors.describe() == "IDMap2,Flat" and index.vectors.ntotal == 180
    with SenseIndex.create(tmp_path / "fresh", settings=fake_settings, compression="flat") as fresh:
        fresh.add([corpus])
        assert fresh.vectors.describe() == "IDMap2,Flat"  # as the shrunk one says: FlatIP here, Flat there before


@pytest.mark.parametrize("n", [100_000, 3_000_000, 10_000_000, 1_000_000_000])
def test_ivf_training_sample_keeps_faiss_minimum_per_list_for_big_stores(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # faiss's k-means warns under 39 points per centroid; its guidelines ask 30-256 per IVF list. The sample's cap
    # (TRAINING_SAMPLE_MAX * 4) had left 20.7 per list at 10 M vectors and 2 at 1 B, and never every vector.
    import sensesearch.ivf as ivf_module

    sizes: list[int] = []

    class Source:
        ntotal, dim = n, 8

        def training_sample(self, size: int, seed: int | None = None) -> np.ndarray:
            sizes.append(size)
            raise StopIteration

    with pytest.raises(StopIteration):
        ivf_module.build_ivf(Source(), "sq8")  # type: ignore[arg-type]
    nlist = codec_module.ivf_lists(n)
    assert codec_module.KMEANS_MIN_POINTS_PER_CENTROID * nlist <= sizes[0] < n
