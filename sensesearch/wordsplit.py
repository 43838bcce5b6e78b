"""Word spans of a text from the model's tokenizer alone, without the model's weights, and without torch if it can.

A phrase (`usages "interest rate"`, `usages don't`) is cut into words as the index cut its text: by the model's
pre-tokenizer. Loading the whole encoder for that took 3.3 s of a `usages` call that otherwise answers in 0.01 s, and
transformers' tokenizer classes import torch (1.8 s). The model folder's tokenizer.json, read by the Rust
`tokenizers` library itself, needs neither; it is used where its fingerprint is the index's
(hfmodel.backend_fingerprint), so it is known to cut text as the index's tokenizer did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import EncoderSettings
from .hfmodel import backend_fingerprint, tokenizer_fingerprint
from .planner import Planner, make_planner
from .wordbounds import needed
from .wordpieces import chunk_pieces

SPLIT_BATCH_TOKENS = 4096
"""The planner's batch budget: irrelevant to word spans, which is all a splitter is asked for."""


class TokenizerSplitter:
    """Word spans as the planner finds them (wordpieces.chunk_pieces), from a bare tokenizers.Tokenizer."""

    def __init__(self, backend: Any) -> None:
        backend.no_truncation()  # tokenizer.json may carry a model's truncation and padding; spans need neither
        backend.no_padding()
        self.backend = backend
        self.splits_words = needed(backend)

    def word_spans(self, text: str) -> np.ndarray:
        """(n, 2) int32 character spans of the words of `text`."""
        return chunk_pieces(self.backend, self.splits_words, [text]).spans


def load_word_splitter(settings: EncoderSettings, fingerprint: str) -> TokenizerSplitter | Planner | None:
    """What cuts text into words as an encoder of these settings does, without its weights: the model's
    tokenizer.json read bare (TokenizerSplitter) when its fingerprint is `fingerprint` (the index's), else the
    transformers tokenizer's planner; None where only the whole encoder can say: a model a registered factory serves
    (encoder.ENCODER_FACTORIES), a tokenizer that cannot be loaded or is not fast, or one whose fingerprint is not the
    index's (when it records one). Loading the encoder then reports what is wrong, as it always has.
    """
    from .encoder import ENCODER_FACTORIES, resolve_model_path

    if ":" in settings.model and settings.model.split(":", 1)[0] in ENCODER_FACTORIES:
        return None
    path = resolve_model_path(settings.model)
    if fingerprint and (Path(path) / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            bare = TokenizerSplitter(Tokenizer.from_file(str(Path(path) / "tokenizer.json")))
        except Exception:  # noqa: BLE001  (any unreadable file: the transformers route below decides)
            bare = None
        if bare is not None and backend_fingerprint(bare.backend) == fingerprint:
            return bare
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError, KeyError):
        return None
    if not getattr(tokenizer, "is_fast", False) or (fingerprint and tokenizer_fingerprint(tokenizer) != fingerprint):
        return None
    return make_planner(tokenizer, settings, SPLIT_BATCH_TOKENS)
