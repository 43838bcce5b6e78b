"""Where encoding runs during ingestion: in this process (local) or on a Ray cluster (ray).

The local engine imports nothing from Ray; the Ray module is imported only when asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import SenseSearchError

if TYPE_CHECKING:
    from .ingest import ChunkEncoder
    from .parts import Configured

ENGINES = ("local", "ray")


def check_engine(engine: str, address: str | None = None, workers: int | None = None) -> None:
    """Reject an unknown engine, or Ray options without the Ray engine, before anything is written."""
    if engine not in ENGINES:
        raise SenseSearchError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "local" and (address is not None or workers is not None):
        raise SenseSearchError("--address and --workers apply to --engine ray")
    # Checked here, before a model loads or an index folder is made, not when the engine starts.
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise SenseSearchError("--engine ray needs Ray, which is not installed: pip install 'sensesearch[ray]'")


@contextlib.contextmanager
def open_engine(engine: str, index: Configured, address: str | None = None,
                workers: int | None = None) -> Iterator[ChunkEncoder | None]:
    """The chunk encoder for `engine` (None means in-process encoding), ready for `SenseIndex.add`."""
    check_engine(engine, address, workers)
    if engine == "local":
        yield None
        return
    from .ray_engine import RayChunkEncoder

    config = index.config
    with RayChunkEncoder(config.encoder, config.model_fingerprint, config.dim, address=address,
                         workers=workers) as ray_encoder:
        yield ray_encoder
