"""Word spans of a text from the model's tokenizer alone, without the model's weights.

A phrase (`usages "interest rate"`, `usages don't`) is cut into words as the index cut its text: by the model's
pre-tokenizer. Loading the whole encoder for that took 3.3 s of a `usages` call that otherwise answers in 0.01 s;
the tokenizer alone loads in about 0.1 s.
"""

from __future__ import annotations

from .config import EncoderSettings
from .hfmodel import tokenizer_fingerprint
from .planner import Planner, make_planner

SPLIT_BATCH_TOKENS = 4096
"""The planner's batch budget: irrelevant to word spans, which is all a splitter is asked for."""


def load_word_splitter(settings: EncoderSettings, fingerprint: str) -> Planner | None:
    """The tokenizer-only planner of the index's Hugging Face model (its `plan` gives the words an encoder of these
    settings finds), or None where only the whole encoder can say: a model a registered factory serves
    (encoder.ENCODER_FACTORIES), a tokenizer that cannot be loaded or is not fast, or one whose fingerprint is not
    the index's `fingerprint` (when it records one). Loading the encoder then reports what is wrong, as it always has.
    """
    from transformers import AutoTokenizer

    from .encoder import ENCODER_FACTORIES, resolve_model_path

    if ":" in settings.model and settings.model.split(":", 1)[0] in ENCODER_FACTORIES:
        return None
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(settings.model))
    except (OSError, ValueError, KeyError):
        return None
    if not getattr(tokenizer, "is_fast", False) or (fingerprint and tokenizer_fingerprint(tokenizer) != fingerprint):
        return None
    return make_planner(tokenizer, settings, SPLIT_BATCH_TOKENS)
