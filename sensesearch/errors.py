"""Domain exceptions: everything a user can cause raises a SenseSearchError subclass."""


class SenseSearchError(Exception):
    """Base class of every error sensesearch reports to a user."""


class InputError(SenseSearchError):
    """A corpus path or document cannot be read or parsed."""


class QueryError(SenseSearchError):
    """A query text is malformed (no marker, several markers, empty word)."""


class WordNotFoundError(SenseSearchError):
    """The queried word has no usage in the index."""


class NotAWordError(WordNotFoundError):
    """What was asked for is punctuation or symbols, which the index never stores: no option finds it."""


class IndexNotFoundError(SenseSearchError):
    """The index directory does not exist or holds no index."""


class IndexCorruptError(SenseSearchError):
    """Index files exist but cannot be read or disagree with each other."""


class ConfigMismatchError(SenseSearchError):
    """An index is opened or extended with settings other than those it was built with."""


class IndexLockedError(SenseSearchError):
    """Another process is writing to the same index."""


class ModelLoadError(SenseSearchError):
    """The encoder model cannot be loaded."""


class EncoderOutputError(SenseSearchError):
    """An encoder returned output that breaks the Encoder contract (spans, vector shapes, unit length)."""


class SenseCountError(SenseSearchError):
    """More senses are asked of a word than it has usages."""


class UsageError(SenseSearchError):
    """A value the user gave cannot be used as given (an empty name, a token no client can send); CLI exit 2."""


class IndexClosedError(UsageError):
    """A SenseIndex is used after `close()` (or its `with` block): it holds no lock and no store any more."""


class SenseNotFoundError(SenseSearchError):
    """A word has no sense inventory, or no sense of the given name."""


class ReadOnlyError(SenseSearchError):
    """An index cannot be changed where it lies (read-only media, protected files), or a read-only open would have to."""
