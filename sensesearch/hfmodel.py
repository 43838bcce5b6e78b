"""What a loaded Hugging Face model and tokenizer must offer the recipe, and what identifies each of them.

The recipe needs an encoder (every word sees both sides of it), a tokenizer with a vocabulary, and a
window no longer than the positions the model can embed. transformers loads models that break each
of these without a word: an encoder-decoder's AutoModel wants decoder inputs; a folder without tokenizer
files gets a tokenizer of special tokens only, so every piece is [UNK]; RoBERTa-style position ids start
after the padding index, so a model with `max_position_embeddings` n embeds only n - padding_idx - 1
pieces (roberta-base: 514 positions, 512 pieces).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from .errors import ModelLoadError

TOKENIZER_PROBE = ("Hello, World! Café naïve RÉSUMÉ — don't (bank) 1,234.5 ﬁle straße İstanbul ΑΒΓ 銀行 東京 "
                   "😀👍🏽 مرحبا नमस्ते ๑ ภาษาไทย")
"""Text whose tokenization tells tokenizers apart beyond their vocabularies: case, accents, compatibility forms,
punctuation, digits, CJK, emoji and other scripts."""


def check_loaded(name: str, model: Any, tokenizer: Any) -> None:
    """ModelLoadError for a model the recipe cannot run (encoder-decoder) or a tokenizer with no vocabulary."""
    if getattr(model.config, "is_encoder_decoder", False):
        raise ModelLoadError(f"{name} is an encoder-decoder model ({model.config.model_type}); sensesearch needs an "
                             "encoder (BERT family), or the encoder of such a model saved on its own")
    special = set(getattr(tokenizer, "all_special_tokens", []))
    if not any(token not in special for token in tokenizer.get_vocab()):
        raise ModelLoadError(f"the tokenizer of {name} has no vocabulary beyond its special tokens: the folder "
                             "holds no tokenizer files (tokenizer.json, or vocab.txt and tokenizer_config.json)")


def usable_positions(model: Any) -> int | None:
    """How many pieces, special tokens included, the model can embed in one sequence; None when it does not say.

    `max_position_embeddings`, less the positions below the first one for models whose position ids start
    after the padding index (their position table has a `padding_idx`: RoBERTa, XLM-R, CamemBERT).
    """
    limit = getattr(model.config, "max_position_embeddings", None)
    if not limit:
        return None
    table = getattr(getattr(model, "embeddings", None), "position_embeddings", None)
    padding = getattr(table, "padding_idx", None)
    return int(limit) - (int(padding) + 1 if padding is not None else 0)


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


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A short SHA-256 of what the tokenizer does: its vocabulary (token and id) and its pieces, offsets and
    special tokens for TOKENIZER_PROBE. Another tokenizer file under the same model changes it."""
    probe = tokenizer(TOKENIZER_PROBE, add_special_tokens=True, return_offsets_mapping=True)
    return _fingerprint(tokenizer.backend_tokenizer, probe["input_ids"], probe["offset_mapping"])


def backend_fingerprint(backend: Any) -> str:
    """tokenizer_fingerprint of a bare tokenizers.Tokenizer (read from tokenizer.json, without transformers): the same
    value exactly when it tokenizes the probe, and holds the vocabulary, as the transformers tokenizer did."""
    probe = backend.encode(TOKENIZER_PROBE, add_special_tokens=True)
    return _fingerprint(backend, probe.ids, probe.offsets)


def _fingerprint(backend: Any, ids: list[int], offsets: list[tuple[int, int]]) -> str:
    # Token by token from the Rust tokenizer, in id order: sorting get_vocab()'s 30,000 items cost 0.17 s of
    # every model load, this 0.01 s.
    tokens = (backend.id_to_token(i) or "" for i in range(backend.get_vocab_size(with_added_tokens=True)))
    digest = hashlib.sha256("\0".join(tokens).encode("utf-8", "surrogatepass"))
    digest.update(repr((list(ids), [tuple(pair) for pair in offsets])).encode())
    return digest.hexdigest()[:16]
