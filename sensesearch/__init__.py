"""sensesearch: find usages of a word like this one, by contextual word vectors over a whole corpus."""

from .config import EncoderSettings, IndexConfig
from .errors import (ConfigMismatchError, IndexCorruptError, IndexLockedError, IndexNotFoundError, InputError,
                     ModelLoadError, QueryError, SenseCountError, SenseSearchError, WordNotFoundError)
from .index import SenseIndex
from .records import Document, Hit, IndexInfo, IngestReport, Skipped

__all__ = [
    "ConfigMismatchError", "Document", "EncoderSettings", "Hit", "IndexConfig", "IndexCorruptError", "IndexInfo",
    "IndexLockedError", "IndexNotFoundError", "IngestReport", "InputError", "ModelLoadError", "QueryError",
    "SenseCountError", "SenseIndex", "SenseSearchError", "Skipped", "WordNotFoundError",
]
__version__ = "0.1.0"
