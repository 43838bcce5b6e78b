"""Domain exceptions: every failure sensesearch reports raises a SenseSearchError subclass, whose class says
whose it is: the user's (a value, an input, a query) or the system's (storage, setup, an engine), so that the
server can answer 4xx or 5xx and nobody is told a failure of the machine was their mistake."""


class SenseSearchError(Exception):
    """Base class of every error sensesearch reports to a user."""


class InputError(SenseSearchError):
    """A corpus path or document cannot be read or parsed."""


class QueryError(SenseSearchError):
    """A query text is malformed (no marker, several markers, empty word)."""


class WordNotFoundError(SenseSearchError):
    """The queried word has no usage in the index (or in the part of it the search was kept to).

    `any_word_helps` says whether a search of every word's usages (--any-word) could find anything: not where no
    indexed document meets the search's conditions, so that the command line does not suggest it in vain.
    """

    any_word_helps = True

    def __init__(self, message: str, *, any_word_helps: bool | None = None) -> None:
        super().__init__(message)
        if any_word_helps is not None:
            self.any_word_helps = any_word_helps


class NotAWordError(WordNotFoundError):
    """What was asked for is punctuation or symbols, which the index never stores: no option finds it."""

    any_word_helps = False


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


class IndexExistsError(SenseSearchError):
    """A new index is to be made where one, or something else, already is: an index, a file in place of its
    folder, another index's metadata or another program's tables in its database."""


class StorageError(SenseSearchError):
    """The index's database or files failed to be read or written (an I/O error, a database that fails), or the
    index can take no more (its id range is used up): the system's fault, never the request's."""


class StorageUnavailableError(StorageError):
    """A storage failure that may pass if the same thing is tried again later: the database is locked, busy or
    unreachable, the disk is full, or the index changed while it was read."""


class SetupError(SenseSearchError):
    """What this machine or process offers does not let a command run: an optional package or database driver is
    missing, an environment variable cannot be used, a port cannot be listened on, a Ray cluster cannot be
    reached, or the command's output cannot be written."""


class EngineError(SenseSearchError):
    """An encoding engine (Ray) or a list assignment it runs failed, or handed back output that breaks its contract."""


class ReadOnlyError(SenseSearchError):
    """An index cannot be changed where it lies (read-only media, protected files), or a read-only open would have to."""
