"""The forward pass of a Hugging Face model at the precision asked: the chosen hidden layers out.

`HFLayerForward` is the runner's LayerForward (runner.py) for a transformers model; fp16 and bf16 run
under torch autocast, and `quantize_linear_int8` makes the int8 model before it moves to its device.
torch is imported inside each call, so importing this module loads nothing heavy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any


class HFLayerForward:
    """The LayerForward of a Hugging Face model: all hidden states out, the chosen ones handed on as they are.

    fp16/bf16 run under torch autocast (weights stay float32; matrix products in half precision,
    layer norms and softmax in float32), the way the issue-12 H200 figures were measured.
    """

    def __init__(self, model: Any, layers: Sequence[int], precision: str) -> None:
        import torch

        self.model = model
        self.layers = tuple(layers)
        self.autocast = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)

    def __call__(self, ids: Any, mask: Any) -> tuple[Any, ...]:
        import torch

        with torch.inference_mode(), torch.autocast(device_type=ids.device.type, dtype=self.autocast,
                                                    enabled=self.autocast is not None):
            hidden = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            return tuple(hidden[layer] for layer in self.layers)


def quantize_linear_int8(model: Any) -> Any:
    """The model with every Linear layer dynamically quantised to int8 (weights int8, activations per batch)."""
    import torch

    with warnings.catch_warnings():
        # torch flags torch.ao.quantization and its quantized tensors as deprecated; the dynamic int8
        # path still works on this pinned torch, and users cannot act on the warning.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.ao\.quantization.*")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
