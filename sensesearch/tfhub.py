"""Word vectors from a local TensorFlow Hub BERT encoder SavedModel: the model id `tfhub:PATH`.

PATH is a SavedModel folder with the TF Hub BERT encoder interface (versions 3 and 4): called with
a dict of int32 `input_word_ids`, `input_mask`, `input_type_ids` of shape [batch, seq], it returns
a dict holding `encoder_outputs`, one [batch, seq, hidden] tensor per transformer block. The word
piece tokenizer is a fast BERT tokenizer built from the SavedModel's vocabulary asset and its
`do_lower_case` flag, so words, offsets, windows, batching and subword pooling are exactly the
transformers path's (`TransformerEncoder`); only the forward pass differs. TensorFlow is imported
when such a model is loaded, never before; it comes with the optional extra `sensesearch[tf]`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .config import EncoderSettings
from .encoder import PlannedEncoder
from .errors import ModelLoadError
from .planner import make_planner
from .runner import WordVectorRunner, batch_tokens_for

log = logging.getLogger(__name__)

PREFIX = "tfhub:"
INSTALL_HINT = "pip install 'sensesearch[tf]'"
_INPUTS = ("input_word_ids", "input_mask", "input_type_ids")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_DEFAULT_POSITIONS = 512


def savedmodel_folder(model: str) -> Path:
    """The folder named by a `tfhub:PATH` model id, checked before TensorFlow is imported.

    Raises ModelLoadError for a URL (sensesearch never downloads), a missing folder, or a folder
    without saved_model.pb.
    """
    target = model[len(PREFIX):] if model.startswith(PREFIX) else model
    if _URL.match(target):
        raise ModelLoadError(f"{model!r} is a URL and sensesearch never downloads: download the model first "
                             "(on TF Hub / Kaggle Models, the SavedModel archive), unpack it and give "
                             "tfhub:FOLDER")
    folder = Path(target).expanduser()
    if not target or not folder.is_dir():
        raise ModelLoadError(f"{model!r}: no folder {str(folder)!r}; tfhub: takes a local SavedModel folder")
    if not (folder / "saved_model.pb").is_file():
        raise ModelLoadError(f"{model!r}: {folder} holds no saved_model.pb, so it is not a SavedModel folder")
    return folder


def import_tensorflow() -> Any:
    """TensorFlow, or a ModelLoadError naming the extra that installs it."""
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _stderr_silenced():
            import tensorflow as tf
    except ImportError as exc:
        if sys.modules.get("tensorflow", False) is None or importlib.util.find_spec("tensorflow") is None:
            raise ModelLoadError(f"tfhub: models need TensorFlow, which is not installed: {INSTALL_HINT}") from None
        raise ModelLoadError(f"TensorFlow is installed but cannot be imported ({exc}); reinstall it: "
                             f"{INSTALL_HINT}") from None
    return tf


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block.

    TensorFlow's C++ start-up lines (oneDNN notice, CPU features) are written before its log level
    is read, so TF_CPP_MIN_LOG_LEVEL alone leaves them in every command's output.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def savedmodel_fingerprint(folder: Path) -> str:
    """A short SHA-256 of saved_model.pb, every file under variables/ and assets/ (names and bytes)."""
    digest = hashlib.sha256()
    files = [folder / "saved_model.pb"]
    for sub in ("variables", "assets"):
        files.extend(sorted(p for p in (folder / sub).rglob("*") if p.is_file()))
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def tf_device(device: str | None) -> str | None:
    """The TensorFlow device for a torch-style name (cpu, cuda, cuda:1); None lets TensorFlow choose."""
    if device is None:
        return None
    name, _, number = device.partition(":")
    if name == "cpu":
        return "/CPU:0"
    if name in ("cuda", "gpu"):
        return f"/GPU:{number or 0}"
    raise ModelLoadError(f"device {device!r} is not one TensorFlow runs tfhub: models on (cpu, cuda, cuda:N)")


class SavedModelLayers:
    """The forward pass of a TF Hub BERT encoder: a padded batch -> the chosen layers.

    `layers` uses the transformers numbering (0 = embeddings, 1..n = blocks, negative from the
    end); a TF Hub encoder exposes the blocks only, so layer 0 is refused.
    """

    def __init__(self, loaded: Any, layers: Sequence[int], n_blocks: int, device: str | None, model: str) -> None:
        import tensorflow as tf

        self._tf = tf
        self._loaded = loaded
        self._device = device
        self.blocks: list[int] = []
        for layer in layers:
            index = layer if layer >= 0 else n_blocks + 1 + layer
            if not 1 <= index <= n_blocks:
                what = "is the embedding output, which a TF Hub encoder does not expose" if index == 0 else "does not exist"
                raise ModelLoadError(f"layer {layer} {what}: {model} has {n_blocks} layers (use 1..{n_blocks} or negative)")
            self.blocks.append(index - 1)

    def __call__(self, input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """One float32 [batch, seq, hidden] array per chosen layer, for int [batch, seq] ids and 0/1 mask."""
        tf = self._tf
        ids = tf.constant(input_ids, dtype=tf.int32)
        inputs = {"input_word_ids": ids, "input_mask": tf.constant(mask, dtype=tf.int32),
                  "input_type_ids": tf.zeros_like(ids)}
        if self._device is None:
            outputs = self._loaded(inputs, training=False)["encoder_outputs"]
        else:
            with tf.device(self._device):
                outputs = self._loaded(inputs, training=False)["encoder_outputs"]
        return [outputs[i].numpy().astype(np.float32, copy=False) for i in self.blocks]


class TFHubEncoder(PlannedEncoder):
    """The shared planner (tokenizer only) and runner (layer combination, subword pooling) over a TF Hub
    SavedModel's forward pass: only `SavedModelLayers` differs from the transformers path."""

    def __init__(self, settings: EncoderSettings, device: str | None = None, batch_tokens: int | None = None) -> None:
        folder = savedmodel_folder(settings.model)
        if settings.precision != "float32":
            raise ModelLoadError(f"precision {settings.precision!r} is for Hugging Face models; tfhub: runs float32")
        target = tf_device(device)
        tf = import_tensorflow()
        try:
            loaded = tf.saved_model.load(str(folder))
        except Exception as exc:  # TensorFlow raises many unrelated types for an unreadable SavedModel
            raise ModelLoadError(f"cannot load SavedModel {str(folder)!r}: {str(exc).splitlines()[0]}") from None
        vocab, lower = _vocabulary(loaded, folder)
        positions = _max_positions(tf, folder)
        tokenizer = wordpiece_tokenizer(vocab, lower, positions)
        n_blocks, hidden = _probe(loaded, tokenizer, settings.model)
        log.info("tfhub model %s: %d layers, hidden %d, lower-case %s", folder, n_blocks, hidden, lower)
        self.settings = settings
        self.tokenizer = tokenizer
        self.fingerprint = savedmodel_fingerprint(folder)
        self.dim = hidden * len(settings.layers) if settings.combine == "concat" else hidden
        # The CPU's budget unless set ($SENSESEARCH_BATCH_TOKENS too): TensorFlow places the model itself, on memory
        # torch cannot size; a fixed 4,096 had ignored the setting.
        self.planner = make_planner(tokenizer, settings, batch_tokens_for("cpu", batch_tokens), max_positions=positions)
        layers = SavedModelLayers(loaded, settings.layers, n_blocks, target, settings.model)
        # The hidden states come back to the host: TensorFlow places the model itself.
        self.runner = WordVectorRunner(lambda ids, mask: layers(ids.cpu().numpy(), mask.cpu().numpy()),
                                       combine=settings.combine, dim=self.dim, device="cpu")


def load_tfhub_encoder(settings: EncoderSettings, device: str | None = None) -> TFHubEncoder:
    """The `ENCODER_FACTORIES["tfhub"]` entry: a TFHubEncoder for `tfhub:PATH`."""
    return TFHubEncoder(settings, device)


def wordpiece_tokenizer(vocab: Path, lower: bool, max_length: int) -> Any:
    """A fast BERT word-piece tokenizer over `vocab` (one piece per line, id = line number).

    The same normaliser (clean text, CJK split, lower-casing with accent stripping when `lower`),
    BERT pre-tokenizer and `[CLS] s [SEP]` template as transformers' BertTokenizerFast; built from
    the tokenizers components because that class's constructor arguments differ between
    transformers 4 and 5.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces: dict[str, int] = {}
    with vocab.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            pieces[line.rstrip("\n")] = number
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}
    missing = [token for token in special.values() if token not in pieces]
    if missing:
        raise ModelLoadError(f"vocabulary {str(vocab)!r} lacks BERT's special pieces {', '.join(missing)}")
    backend = Tokenizer(models.WordPiece(pieces, unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                    lowercase=lower)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", pieces["[CLS]"]), ("[SEP]", pieces["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=max_length, **special)


def _vocabulary(loaded: Any, folder: Path) -> tuple[Path, bool]:
    """The vocabulary asset and lower-casing flag the encoder carries (TF Hub's `vocab_file`, `do_lower_case`)."""
    asset = getattr(loaded, "vocab_file", None)
    vocab = Path(asset.asset_path.numpy().decode()) if asset is not None else folder / "assets" / "vocab.txt"
    if not vocab.is_file():
        raise ModelLoadError(f"SavedModel {str(folder)!r} carries no vocabulary (vocab_file asset or assets/vocab.txt)")
    flag = getattr(loaded, "do_lower_case", None)
    if flag is not None:
        return vocab, bool(flag.numpy())
    # Without the flag, a vocabulary with no upper-case piece can only serve lower-cased text.
    lines = vocab.read_text(encoding="utf-8").splitlines()
    lower = not any(p.lower() != p for p in lines if not (p.startswith("[") and p.endswith("]")))
    log.warning("SavedModel %s has no do_lower_case flag; its vocabulary says lower-case = %s", folder, lower)
    return vocab, lower


def _max_positions(tf: Any, folder: Path) -> int:
    """Rows of the position embedding table found in the checkpoint, else BERT's 512."""
    try:
        shapes = tf.train.list_variables(str(folder / "variables" / "variables"))
    except Exception:  # a checkpoint TensorFlow cannot list still loads; fall back to BERT's size
        return _DEFAULT_POSITIONS
    rows = [shape[0] for name, shape in shapes if "position" in name.lower() and len(shape) == 2]
    return min(rows) if rows else _DEFAULT_POSITIONS


def _probe(loaded: Any, tokenizer: Any, model: str) -> tuple[int, int]:
    """(number of blocks, hidden size) from one call on `[CLS] [SEP]`, checking the TF Hub interface."""
    import tensorflow as tf

    ids = tf.constant([[tokenizer.cls_token_id, tokenizer.sep_token_id]], dtype=tf.int32)
    try:
        result = loaded(dict(zip(_INPUTS, (ids, tf.ones_like(ids), tf.zeros_like(ids)))), training=False)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as exc:
        raise ModelLoadError(f"{model!r} is not a TF Hub BERT encoder taking {', '.join(_INPUTS)}: "
                             f"{str(exc).splitlines()[0]}") from None
    outputs = result.get("encoder_outputs") if isinstance(result, dict) else None
    if not outputs:
        found = ", ".join(sorted(result)) if isinstance(result, dict) else type(result).__name__
        raise ModelLoadError(f"{model!r} has no encoder_outputs (found: {found}); sensesearch needs every "
                             "layer, as TF Hub BERT encoders from version 3 on give")
    return len(outputs), int(outputs[-1].shape[-1])
