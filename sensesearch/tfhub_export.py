"""Write a Hugging Face BERT checkpoint as a TF Hub BERT encoder SavedModel (the version-4 interface).

The SavedModel is what `tfhub:PATH` reads: calling it with a dict of int32 `input_word_ids`,
`input_mask` and `input_type_ids` (shape [batch, seq]) gives `sequence_output`, `pooled_output`
and `encoder_outputs` (one [batch, seq, hidden] float32 tensor per transformer block); it carries
the vocabulary as the asset `vocab_file` and the lower-casing flag as the variable `do_lower_case`,
as TF Hub's BERT encoders do. The network is a Keras BERT encoder (post-layer-norm blocks, exact-erf
GELU, absolute positions) whose weights are copied layer by layer from the PyTorch state dict.

Its use: test the TF Hub path against the transformers path on identical weights (the bundled
MiniLM), and give users a TF Hub copy of any local BERT checkpoint. Needs `sensesearch[tf]`.
Source of the interface: the TF Model Garden BERT encoders published on TF Hub / Kaggle Models.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import DEFAULT_MODEL
from .encoder import resolve_model_path
from .errors import ModelLoadError
from .tfhub import import_tensorflow

_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def export_tfhub_bert(model: str, target: str | Path) -> Path:
    """Save `model` (a local Hugging Face BertModel folder, or the bundled default id) at `target`.

    `target` must not exist yet. Returns the SavedModel folder. Raises ModelLoadError when the
    checkpoint is not a BERT model with absolute positions or the vocabulary is missing.
    """
    import transformers
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    folder = Path(target)
    if folder.exists():
        raise ModelLoadError(f"{folder} exists already; name a new folder for the SavedModel")
    path = resolve_model_path(model)
    if not Path(path).is_dir():
        raise ModelLoadError(f"no folder {path!r}: the export reads a local checkpoint and never downloads")
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path!r} is no Hugging Face checkpoint: {str(exc).splitlines()[0]}") from None
    if config.model_type != "bert" or getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise ModelLoadError(f"{model!r} is a {config.model_type} model; only BERT with absolute positions converts")
    tokenizer = AutoTokenizer.from_pretrained(path)
    vocab = Path(path) / "vocab.txt"
    if not vocab.is_file():
        raise ModelLoadError(f"{model!r} has no vocab.txt to carry as the SavedModel's vocabulary asset")
    weights = {name: tensor.detach().float().numpy() for name, tensor in AutoModel.from_pretrained(path).state_dict().items()}
    # The tokenizer's behaviour, not a config key whose name and default differ between versions.
    lower = tokenizer.tokenize("A") == ["a"]

    tf = import_tensorflow()
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ModelLoadError(f"the export needs Keras on TensorFlow; KERAS_BACKEND is {keras.backend.backend()!r}")
    encoder = _build_encoder(config)
    _copy_weights(encoder, weights, config.num_hidden_layers)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed at the end, so a failed export leaves no half SavedModel.
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}.") as scratch:
        # The asset is copied into the SavedModel's assets/ folder under its own name, vocab.txt.
        asset_source = Path(scratch) / "vocab.txt"
        shutil.copyfile(vocab, asset_source)
        module = _tfhub_module_class()(encoder, str(asset_source), lower)
        specs = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in _INPUT_NAMES}
        module.__call__.get_concrete_function(specs, training=False)
        module.__call__.get_concrete_function(specs, training=True)
        serving = module.serve.get_concrete_function(specs)
        tf.saved_model.save(module, str(Path(scratch) / "savedmodel"), signatures={"serving_default": serving})
        (Path(scratch) / "savedmodel").rename(folder)
    return folder


def _build_encoder(config: Any) -> Any:
    import keras
    import tensorflow as tf

    hidden, heads = config.hidden_size, config.num_attention_heads
    eps = config.layer_norm_eps

    class BertBlock(keras.layers.Layer):
        """One post-layer-norm transformer block: self-attention, then the feed-forward network."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.query = keras.layers.Dense(hidden, name="query")
            self.key = keras.layers.Dense(hidden, name="key")
            self.value = keras.layers.Dense(hidden, name="value")
            self.attention_output = keras.layers.Dense(hidden, name="attention_output")
            self.attention_norm = keras.layers.LayerNormalization(epsilon=eps, name="attention_norm")
            self.intermediate = keras.layers.Dense(config.intermediate_size, name="intermediate")
            self.output_dense = keras.layers.Dense(hidden, name="output")
            self.output_norm = keras.layers.LayerNormalization(epsilon=eps, name="output_norm")

        def call(self, x: Any, bias: Any) -> Any:
            def split(t: Any) -> Any:
                shape = tf.shape(t)
                return tf.transpose(tf.reshape(t, [shape[0], shape[1], heads, hidden // heads]), [0, 2, 1, 3])

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(hidden // heads)) + bias
            context = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
            shape = tf.shape(x)
            context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [shape[0], shape[1], hidden])
            x = self.attention_norm(x + self.attention_output(context))
            ffn = self.output_dense(tf.nn.gelu(self.intermediate(x), approximate=False))
            return self.output_norm(x + ffn)

    class BertEncoder(keras.Model):
        """Embeddings (word + position + type, layer-normed), the blocks, and the tanh pooler on [CLS]."""

        def __init__(self) -> None:
            super().__init__(name="bert_encoder")
            self.word_embeddings = keras.layers.Embedding(config.vocab_size, hidden, name="word_embeddings")
            self.position_embedding = keras.layers.Embedding(config.max_position_embeddings, hidden,
                                                             name="position_embedding")
            self.type_embeddings = keras.layers.Embedding(config.type_vocab_size, hidden, name="type_embeddings")
            self.embeddings_norm = keras.layers.LayerNormalization(epsilon=eps, name="embeddings_norm")
            self.blocks = [BertBlock(name=f"transformer_{i}") for i in range(config.num_hidden_layers)]
            self.pooler = keras.layers.Dense(hidden, activation="tanh", name="pooler_transform")

        def call(self, inputs: dict[str, Any]) -> tuple[Any, Any, list[Any]]:
            ids, mask, types = (inputs[name] for name in _INPUT_NAMES)
            positions = tf.range(tf.shape(ids)[1])[tf.newaxis, :]
            x = self.word_embeddings(ids) + self.position_embedding(positions) + self.type_embeddings(types)
            x = self.embeddings_norm(x)
            # Masked keys get a large negative score, as in the TF Model Garden encoders.
            bias = (1.0 - tf.cast(mask, tf.float32))[:, tf.newaxis, tf.newaxis, :] * -10000.0
            outputs = []
            for block in self.blocks:
                x = block(x, bias)
                outputs.append(x)
            return x, self.pooler(x[:, 0, :]), outputs

    encoder = BertEncoder()
    probe = tf.constant([[1, 2]], dtype=tf.int32)
    encoder(dict(zip(_INPUT_NAMES, (probe, tf.ones_like(probe), tf.zeros_like(probe)))))
    return encoder


def _copy_weights(encoder: Any, weights: dict[str, np.ndarray], n_layers: int) -> None:
    """Torch Linear weights are [out, in]; Keras Dense kernels are [in, out]."""

    def dense(layer: Any, prefix: str) -> None:
        layer.set_weights([weights[f"{prefix}.weight"].T, weights[f"{prefix}.bias"]])

    def norm(layer: Any, prefix: str) -> None:
        layer.set_weights([weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]])

    emb = "embeddings."
    encoder.word_embeddings.set_weights([weights[emb + "word_embeddings.weight"]])
    encoder.position_embedding.set_weights([weights[emb + "position_embeddings.weight"]])
    encoder.type_embeddings.set_weights([weights[emb + "token_type_embeddings.weight"]])
    norm(encoder.embeddings_norm, emb + "LayerNorm")
    for i, block in enumerate(encoder.blocks[:n_layers]):
        p = f"encoder.layer.{i}."
        dense(block.query, p + "attention.self.query")
        dense(block.key, p + "attention.self.key")
        dense(block.value, p + "attention.self.value")
        dense(block.attention_output, p + "attention.output.dense")
        norm(block.attention_norm, p + "attention.output.LayerNorm")
        dense(block.intermediate, p + "intermediate.dense")
        dense(block.output_dense, p + "output.dense")
        norm(block.output_norm, p + "output.LayerNorm")
    if "pooler.dense.weight" in weights:
        dense(encoder.pooler, "pooler.dense")
    else:  # a checkpoint without a pooler: pooled_output is zeros rather than random
        encoder.pooler.set_weights([np.zeros_like(w) for w in encoder.pooler.get_weights()])


def _tfhub_module_class() -> type:
    import tensorflow as tf

    class TFHubModule(tf.Module):
        """The saved object: the encoder, its vocabulary asset and lower-casing flag, one call."""

        def __init__(self, encoder: Any, vocab: str, lower: bool) -> None:
            super().__init__(name="tfhub_bert")
            self.encoder = encoder
            self.vocab_file = tf.saved_model.Asset(vocab)
            self.do_lower_case = tf.Variable(lower, trainable=False, name="do_lower_case")

        @tf.function
        def __call__(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
            sequence, pooled, outputs = self.encoder(inputs)
            return {"sequence_output": sequence, "pooled_output": pooled, "encoder_outputs": outputs}

        @tf.function
        def serve(self, inputs: dict[str, Any]) -> dict[str, Any]:
            # Signatures return flat dicts of tensors: one key per block, as the published encoders do.
            result = self.__call__(inputs, training=False)
            flat = {f"encoder_outputs_{i}": t for i, t in enumerate(result.pop("encoder_outputs"))}
            return {**result, **flat}

    return TFHubModule


def main(argv: list[str] | None = None) -> int:
    """`python -m sensesearch.tfhub_export MODEL TARGET`: export and print the `--model` value to use."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sensesearch.tfhub_export",
                                     description="Write a local BERT checkpoint as a TF Hub BERT encoder SavedModel.")
    parser.add_argument("model", help=f"a local Hugging Face BertModel folder, or {DEFAULT_MODEL} (the bundled MiniLM)")
    parser.add_argument("target", help="the SavedModel folder to create (must not exist)")
    args = parser.parse_args(argv)
    try:
        folder = export_tfhub_bert(args.model, args.target)
    except (ModelLoadError, OSError, ValueError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"--model tfhub:{folder.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
