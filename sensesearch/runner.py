"""The encoder's device half: padded batches through a model, chosen layers combined, pieces pooled.

`WordVectorRunner` takes a `LayerForward` (the one narrow seam to a model: padded ids and mask in,
the chosen hidden layers out) and a planner's batches, and returns one L2-normalised vector
per word. Everything after the forward pass (gathering the pieces that feed words, combining
layers, pooling pieces into words, normalising) stays on the device; on CUDA the inputs go up from
pinned memory without blocking and the vectors come back the same way, so the CPU can plan the
next chunk while the device works (see `PendingVectors`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import BATCH_TOKENS_ENV, MIN_BATCH_TOKENS, whole_number_env
from .errors import SetupError, UsageError
from .batching import Batch
from .planner import EncodingPlan

log = logging.getLogger(__name__)

LayerForward = Callable[[Any, Any], Sequence[Any]]
"""(input ids, attention mask), both (rows, width) int64 torch tensors on the runner's device ->
the chosen hidden layers in the order the settings list them, each (rows, width, hidden) of any float
dtype on the same device: a sequence of tensors (a model's own hidden states, never copied), or one
(n_layers, rows, width, hidden) tensor or numpy array holding them stacked."""

HALF_PRECISIONS = ("fp16", "bf16")
CPU_BATCH_TOKENS = 4096
NEAREST_SCORES = 1 << 26
"""Inner products held on the device at once when assigning vectors to centroids (256 MB of float32)."""


def check_precision(precision: str, device: str) -> None:
    """Refuse arithmetic the device cannot do well, before any weights load.

    fp16/bf16 autocast runs on CUDA only: on CPUs without bf16 units it is slower than float32 and
    fp16 matrix products are not implemented for every op. int8 dynamic quantisation runs on CPU only.
    Raises UsageError (a value the user chose) with one line saying what to use instead.
    """
    kind = device.split(":", 1)[0]
    if precision in HALF_PRECISIONS and kind != "cuda":
        raise UsageError(f"precision {precision} needs a CUDA device, not {device}; "
                               "use float32 (or int8 on CPU)")
    if precision == "int8" and kind != "cpu":
        raise UsageError(f"precision int8 runs on the CPU only, not on {device}; use float32, bf16 or fp16")


def batch_tokens_for(device: str, given: int | None = None) -> int:
    """Padded tokens per forward pass: `given` (an encoder's argument), else default_batch_tokens(device); UsageError
    for a `given` under MIN_BATCH_TOKENS, as for the environment's setting: 0 had meant the default and -1 or 1 a
    batch of one window each."""
    if given is None:
        return default_batch_tokens(device)
    if isinstance(given, bool) or not isinstance(given, int) or given < MIN_BATCH_TOKENS:
        raise UsageError(f"batch_tokens must be a whole number >= {MIN_BATCH_TOKENS}, not {given!r}")
    return given


def default_batch_tokens(device: str) -> int:
    """Padded tokens per forward pass: $SENSESEARCH_BATCH_TOKENS, else chosen by device.

    CPU: 4,096 (bigger batches only add padding there). CUDA: about 1,024 per GiB of device memory,
    8,192-131,072, so a large GPU gets batches big enough to keep it busy (BERT-large at 131,072
    tokens keeps all hidden states in some 15 GB of float32).
    """
    chosen = whole_number_env(BATCH_TOKENS_ENV)
    if chosen is not None:
        return chosen
    if device.startswith("cuda"):
        import torch

        gib = torch.cuda.get_device_properties(torch.device(device)).total_memory / 2**30
        return int(min(131_072, max(8_192, 1_024 * int(gib))))
    if device.startswith("mps"):
        return 8_192
    return CPU_BATCH_TOKENS


@dataclass
class DeviceBatch:
    """A planner Batch as torch tensors (pinned host memory on CUDA), ready for a non-blocking copy."""

    ids: Any
    mask: Any
    flat: Any
    words: Any


class PendingVectors:
    """The word vectors of one plan, still being computed or copied back; `result()` waits for them."""

    def __init__(self, host: Any, event: Any, n_words: int) -> None:
        self.host = host
        self.event = event
        self.n_words = n_words

    def result(self) -> np.ndarray:
        """(n_words, dim) float32, each row L2-normalised."""
        if self.event is not None:
            self.event.synchronize()
        return self.host.numpy()


class WordVectorRunner:
    """Runs batches through a LayerForward and pools pieces into L2-normalised word vectors.

    combine: "sum", "mean" or "concat" over the chosen layers; dim: the vector width that gives
    (hidden for sum/mean, hidden x layers for concat). Pooling needs no setting here: the planner
    hands only the pieces that feed each word (all of them for "mean", the first for "first"), and
    the sum of a word's pieces has the direction of their mean, which normalisation keeps.
    """

    def __init__(self, forward: LayerForward, *, combine: str, dim: int, device: str) -> None:
        self.forward = forward
        self.combine = combine
        self.dim = dim
        self.device = device
        self.cuda = device.startswith("cuda")
        self.token_ceiling: int | None = None
        """Padded tokens a forward pass may hold since the device ran out of memory on more (None: no limit seen)."""

    def to_device_batches(self, batches: Sequence[Batch]) -> list[DeviceBatch]:
        """Torch views of the planner's arrays, pinned on CUDA; safe to call from a planning thread."""
        import torch

        def host(array: np.ndarray) -> Any:
            tensor = torch.from_numpy(array)
            return tensor.pin_memory() if self.cuda else tensor

        return [DeviceBatch(host(b.ids), host(b.mask), host(b.flat), host(b.words)) for b in batches]

    def launch(self, plan: EncodingPlan, batches: Sequence[DeviceBatch]) -> PendingVectors:
        """Queue every batch of `plan` on the device; on CUDA this returns before the work is done."""
        import torch

        device = torch.device(self.device)
        with torch.inference_mode():
            sums = torch.zeros((plan.n_words, self.dim), dtype=torch.float32, device=device)
            for batch in batches:
                ids = batch.ids.to(device, non_blocking=True)
                mask = batch.mask.to(device, non_blocking=True)
                flat = batch.flat.to(device, non_blocking=True)
                words = batch.words.to(device, non_blocking=True)
                self._pool(sums, ids, mask, flat, words)
            vectors = torch.nn.functional.normalize(sums, dim=1)
            if not self.cuda:
                return PendingVectors(vectors.cpu(), None, plan.n_words)
            host = torch.empty(vectors.shape, dtype=torch.float32, pin_memory=True)
            host.copy_(vectors, non_blocking=True)
            event = torch.cuda.Event()
            # On the stream the copy went to: a bare record() takes the current device's stream, which is
            # cuda:0's in every thread, so on cuda:1 the event would pass before the copy had landed.
            event.record(torch.cuda.current_stream(device))
            return PendingVectors(host, event, plan.n_words)

    def _pool(self, sums: Any, ids: Any, mask: Any, flat: Any, words: Any) -> None:
        """Add one batch's piece vectors into the rows of `sums` their words own (a DeviceBatch's tensors, on the
        device).

        A batch the device has no memory for (torch.OutOfMemoryError) runs again as two halves of its rows, and from
        then on any batch over half its size is cut into parts of at most that size before it runs (token_ceiling),
        as Hugging Face Accelerate's find_executable_batch_size halves a batch size: the budget chosen by device
        (default_batch_tokens) counts the device's whole memory, of which other processes may hold part, and an OOM
        had ended the whole command. The parts give the vectors the whole batch gives: each row's forward pass is its
        own, at the same padded width.
        Raises SetupError when even one row (one window) does not fit.
        """
        import torch

        rows, width = ids.shape
        if rows > 1 and self.token_ceiling is not None and rows * width > self.token_ceiling:
            self._pool_parts(sums, ids, mask, flat, words, -(-rows // max(1, self.token_ceiling // width)))
            return
        try:
            self._pass(sums, ids, mask, flat, words)
            return
        except torch.OutOfMemoryError:
            pass  # retried below, outside the handler: its traceback holds the failed pass's tensors until it ends
        if self.cuda:
            torch.cuda.empty_cache()
        if rows == 1:
            raise SetupError(f"{self.device} has no memory left for one window of {width} tokens of this model "
                             "(other processes may hold it): free some, or name a device with more (--device)")
        # Only ever lowered: a pass of another thread (serve's requests share one runner) may have learnt a lower one.
        self.token_ceiling = min(self.token_ceiling or rows * width, (rows + 1) // 2 * width)
        log.warning("%s ran out of memory on a batch of %d padded tokens: batches go on at %d at most (%s sets the "
                    "size they start at)", self.device, rows * width, self.token_ceiling, BATCH_TOKENS_ENV)
        self._pool_parts(sums, ids, mask, flat, words, 2)

    def _pass(self, sums: Any, ids: Any, mask: Any, flat: Any, words: Any) -> None:
        """One forward pass of a batch, its piece vectors added into `sums`.

        A method of its own so that the pass's hidden layers are held by this frame only: bound to a name in
        `_pool`, they had outlived an OutOfMemoryError raised while combining them, through the retry in halves and
        the empty_cache before it (the chosen layers of the whole batch, 2 GB for BERT-large's 131,072 tokens).
        index_add_ comes last and alone changes `sums`, so a pass that fails has added nothing.
        """
        import torch

        layers = [torch.as_tensor(layer, device=sums.device) for layer in self.forward(ids, mask)]
        sums.index_add_(0, words, self.combine_layers(layers, flat))

    def _pool_parts(self, sums: Any, ids: Any, mask: Any, flat: Any, words: Any, parts: int) -> None:
        """_pool on `parts` runs of a batch's rows as even as can be, in order, each with the pieces it holds."""
        rows, width = ids.shape
        cuts = [rows * k // parts for k in range(parts + 1)]
        for start, end in zip(cuts, cuts[1:]):
            held = (flat >= start * width) & (flat < end * width)
            self._pool(sums, ids[start:end], mask[start:end], flat[held] - start * width, words[held])

    def combine_layers(self, layers: Sequence[Any], flat: Any) -> Any:
        """n_layers (rows, width, hidden) tensors and (n,) flat piece indexes -> (n, dim) float32 piece vectors.

        Layers are summed whole, in float32 and in order, and the pieces gathered once from the sum, to the very
        values of stacking the layers and gathering each one's pieces. That copied every chosen layer of every batch
        once more (on a GPU, 2 GB more at the peak for BERT-large's 131,072-token batches, whose hidden states stay
        float32 under autocast, layer norms being float32 there) and took 29.7 ms against 11.3 ms here for the last
        four layers of 15,873 MiniLM tokens on 2 CPU cores.
        """
        import torch

        if self.combine == "concat":
            return torch.cat([layer.flatten(0, 1)[flat].float() for layer in layers], dim=1)
        total = layers[0].float()
        for k, layer in enumerate(layers[1:]):
            # The first sum is a new tensor, so the later ones may add in place; the model's own outputs stay as
            # they were.
            total = total + layer.float() if k == 0 else total.add_(layer.float())
        pieces = total.flatten(0, 1)[flat]
        return pieces / len(layers) if self.combine == "mean" else pieces

    def nearest(self, vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        """(n,) int64: for each row of `vectors` (n, d) float32, the row of `centroids` (k, d) float32 with the
        highest inner product, computed on the runner's device, NEAREST_SCORES products at a time.

        On a GPU this is the cheap way to fill an IVF index's lists (ivf.py): 493,000 vectors into
        2,809 lists are 1.1 TFLOP of float32 products, which took FAISS 6.8 s on 2 CPU cores.
        A device that has no memory for that many products (torch.OutOfMemoryError: it runs beside the model's
        batches) is asked again for half as many, down to one row at a time, then SetupError: it runs in the last
        checkpoint of an ingest, whose failure had cost the whole run's last stretch.
        """
        import torch

        rows = max(1, NEAREST_SCORES // max(1, len(centroids)))
        while True:
            try:
                return self._nearest_in_pieces(vectors, centroids, rows)
            except torch.OutOfMemoryError:
                pass  # asked again outside the handler: its traceback holds the pieces' tensors until it ends
            if self.cuda:
                torch.cuda.empty_cache()
            if rows == 1:
                raise SetupError(f"{self.device} has no memory left to assign vectors to their IVF lists (other "
                                 "processes may hold it): free some, or name a device with more (--device)")
            rows = max(1, rows // 2)
            log.warning("%s ran out of memory assigning vectors to IVF lists: %d rows at a time now", self.device,
                        rows)

    def _nearest_in_pieces(self, vectors: np.ndarray, centroids: np.ndarray, rows: int) -> np.ndarray:
        import torch

        device = torch.device(self.device)
        # A stream of its own on CUDA: the writer calls this while the read-ahead thread queues forward passes on
        # the default stream, and its blocking copies would otherwise wait for all of them.
        stream = torch.cuda.Stream(device) if self.cuda else None
        with torch.inference_mode(), (torch.cuda.stream(stream) if stream is not None else nullcontext()):
            table = torch.from_numpy(np.ascontiguousarray(centroids, dtype=np.float32)).to(device)
            found = [self._best(torch.from_numpy(np.ascontiguousarray(vectors[first:first + rows],
                                                                      dtype=np.float32)).to(device), table)
                     for first in range(0, len(vectors), rows)]
            return torch.cat(found).cpu().numpy().astype(np.int64) if found else np.zeros(0, dtype=np.int64)

    @staticmethod
    def _best(piece: Any, table: Any) -> Any:
        """(rows,) the index of each row of `piece`'s highest inner product with a row of `table` (on the device)."""
        return (piece @ table.T).argmax(dim=1)

    def run(self, plan: EncodingPlan, batches: Sequence[Batch]) -> np.ndarray:
        """(plan.n_words, dim) float32 L2-normalised word vectors, computed now."""
        return self.launch(plan, self.to_device_batches(batches)).result()
