"""Checks of a model id and a torch device name that run before any model is loaded.

They turn the slow or cryptic failures of a model load (network retries for a model id that does
not exist, "Repo id must be in the form ...", a torch error deep inside `.to("cuda")`) into one
clear ModelLoadError raised in well under a second.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .config import DEFAULT_MODEL
from .errors import ModelLoadError, UsageError

_DEVICE = re.compile(r"(cpu|cuda|mps|xpu)(?::(\d+))?")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
OFFLINE_ENV = "HF_HUB_OFFLINE"


def check_device(device: str | None) -> None:
    """Raise ModelLoadError unless `device` (e.g. cpu, cuda, cuda:1, mps) exists on this machine.

    None means "pick one" and always passes. torch is imported only for a device other than cpu.
    """
    if device is None:
        return
    match = _DEVICE.fullmatch(device.strip())
    if match is None:
        raise ModelLoadError(f"{device!r} is not a torch device: use cpu, cuda, cuda:N or mps")
    kind, number = match.group(1), match.group(2)
    if kind == "cpu":
        if number not in (None, "0"):
            raise ModelLoadError(f"there is no device {device!r}: use cpu")
        return
    import torch

    if kind == "cuda":
        if torch.version.cuda is None:
            raise ModelLoadError(f"this torch build ({torch.__version__}) has no CUDA support: use --device cpu "
                                 "or install a CUDA build of torch")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ModelLoadError("no CUDA device is available on this machine: use --device cpu")
        if number is not None and int(number) >= count:
            raise ModelLoadError(f"there is no device {device!r}: this machine has {count} CUDA "
                                 f"device{'s' if count != 1 else ''} (cuda:0..cuda:{count - 1})")
    elif kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelLoadError("the Apple MPS device is not available on this machine: use --device cpu")
    else:
        xpu = getattr(torch, "xpu", None)
        if xpu is None or not xpu.is_available():
            raise ModelLoadError("no Intel XPU device is available on this machine: use --device cpu")


def check_model(model: str) -> None:
    """Raise ModelLoadError if `model` is neither a model folder nor a Hugging Face id that can be loaded.

    A folder must exist and hold config.json. A hub id must be well formed; while the hub is offline
    (HF_HUB_OFFLINE set, as the command line does unless the user set HF_HUB_OFFLINE=0) it must be in the
    local cache. Ids of a registered factory ("prefix:...", see encoder.ENCODER_FACTORIES) always pass.
    """
    from .encoder import ENCODER_FACTORIES

    if model.startswith("tfhub:"):
        # The folder is checked here, before anything loads, as a Hugging Face folder is (a URL, a missing folder, one
        # without saved_model.pb): the encoder's own check came only once the command had started loading the model.
        from .tfhub import savedmodel_folder

        savedmodel_folder(model)
        return
    if model == DEFAULT_MODEL or (":" in model and model.split(":", 1)[0] in ENCODER_FACTORIES):
        return
    path = Path(model).expanduser()
    looks_like_path = (model.startswith((".", "~", os.sep)) or model.count("/") > 1 or "\\" in model
                       or path.exists())
    if looks_like_path:
        if not path.is_dir():
            raise ModelLoadError(f"no such model folder: {model}")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{model} is not a Hugging Face model folder (it holds no config.json)")
        return
    if _HUB_ID.fullmatch(model) is None:
        raise ModelLoadError(f"{model!r} is neither a model folder nor a Hugging Face model id (like org/name)")
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model, "config.json"), str):
        raise ModelLoadError(f"no such model folder, and model {model!r} is not in the local Hugging Face cache; "
                             f"to download it, run once with {OFFLINE_ENV}=0")


def check_layers(model: str, layers: Sequence[int]) -> None:
    """UsageError for a layer `model` lacks, read from its config.json (`num_hidden_layers`) before any weights load.

    Hidden states count the embeddings as layer 0, so a model of n layers has 0..n, or -(n + 1)..-1 from the end.
    A model whose config.json cannot be read without a download (a hub id not in the cache, a registered factory,
    a config without the field) passes: the encoder checks again once loaded.
    """
    config = _config_file(model)
    try:
        count = int(json.loads(config.read_text(encoding="utf-8"))["num_hidden_layers"]) if config else None
    except (OSError, ValueError, KeyError, TypeError):
        count = None
    if count is None:
        return
    missing = [layer for layer in layers if not -(count + 1) <= layer <= count]
    if missing:
        last = ",".join(str(layer) for layer in range(-min(count, 4), 0))
        raise UsageError(f"layer {missing[0]} does not exist: {model} has {count} layers (0 is the embeddings, "
                         f"-1 the last), so layers run from {-(count + 1)} to {count}; e.g. --layers {last}")


def _config_file(model: str) -> Path | None:
    """The config.json of a model folder, of the bundled model or of a cached hub id; None when there is none here."""
    from .encoder import ENCODER_FACTORIES, resolve_model_path

    if ":" in model and model.split(":", 1)[0] in ENCODER_FACTORIES:
        return None
    path = Path(resolve_model_path(model)).expanduser()
    if path.is_dir():
        return path / "config.json"
    if _HUB_ID.fullmatch(model) is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "config.json")
    return Path(cached) if isinstance(cached, str) else None
