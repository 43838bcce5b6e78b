"""sensesearch: find usages of a word like this one, by contextual word vectors over a whole corpus.

This module is the public API: the names in `__all__`, the records (sensesearch.records) and the errors
(sensesearch.errors). The command line and the server use nothing else. Every name but the errors is
imported on first use (PEP 562), so `import sensesearch` costs about a millisecond: the console script
(cli_entry.py) catches a Ctrl-C from the first instant, and `sensesearch --help` starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (ConfigMismatchError, EncoderOutputError, EngineError, IndexClosedError, IndexCorruptError,
                     IndexExistsError, IndexLockedError, IndexNotFoundError, InputError, ModelLoadError, NotAWordError,
                     QueryError, ReadOnlyError, SenseCountError, SenseNotFoundError, SenseSearchError, SetupError,
                     StorageError, StorageUnavailableError, UsageError, WordNotFoundError)
__version__ = "0.1.0"

# public name -> (module, attribute), imported on first access
_LAZY: dict[str, tuple[str, str]] = {
    **{name: ("config", name) for name in (
        "COMBINE_CHOICES", "COMPRESSION_CHOICES", "DEFAULT_CLUSTER_EXAMPLES", "DEFAULT_LAYERS", "DEFAULT_MODEL",
        "POOLING_CHOICES", "PRECISION_CHOICES", "SEED_MAX", "SENSE_METHODS", "EncoderSettings", "IndexConfig",
        "check_environment", "parse_layers")},
    **{name: ("records", name) for name in (
        "Document", "DocumentEntry", "Hit", "IndexInfo", "IngestReport", "Skipped", "UsagePage", "reported_cosine")},
    "SenseIndex": ("index", "SenseIndex"),
    "read_index_config": ("index", "read_index_config"),
    "check_reopen": ("opening", "check_reopen"),
    "check_write_access": ("folder", "check_write_access"),
    "release_outside_store": ("claim", "release_outside_store"),
    "load_encoder": ("encoder", "load_encoder"),
    "check_precision": ("encoder", "check_precision_on"),
    "Encoder": ("encoder", "Encoder"),
    "normalize_form": ("query", "normalize_form"),
    "clean_text": ("normalize", "clean_text"),
    "check_device": ("devices", "check_device"),
    "check_model": ("devices", "check_model"),
    "check_layers": ("devices", "check_layers"),
    "check_db_url": ("dburl", "check_url"),
    "parse_lemma_language": ("lemmas", "parse_language"),
    "compare_usages": ("compare", "compare"),
    "Comparison": ("compare", "Comparison"),
    "check_compare_lines": ("compare", "check_lines"),
    "sort_hits": ("kwicsort", "sort_hits"),
    "QUERY_SORTS": ("kwicsort", "QUERY_SORTS"),
    "USAGE_SORTS": ("kwicsort", "USAGE_SORTS"),
    "render_kwic": ("kwic", "render_kwic"),
    "kwic_rows": ("kwic", "kwic_rows"),
    "context_cells": ("kwic", "context_cells"),
    "hits_to_csv": ("kwic", "to_csv"),
    "hits_to_json": ("kwic", "to_json"),
    "hits_with_names": ("kwic", "with_names"),
    "json_dumps": ("jsonsafe", "dumps"),
    "CSV_FIELDS": ("kwic", "CSV_FIELDS"),
    "LISTING_FIELDS": ("kwic", "LISTING_FIELDS"),
    "fit_left": ("cells", "fit_left"),
    "fit_right": ("cells", "fit_right"),
    "fit_apart": ("cells", "fit_apart"),
    "document_names": ("kwic", "document_names"),
    "names_apart": ("kwic", "names_apart"),
    "listed_names": ("kwic", "listed_names"),
    "terminal_text": ("terminal", "drawn"),
    "terminal_cell": ("terminal", "shown"),
    "terminal_name": ("terminal", "named"),
    "terminal_names": ("terminal", "named_apart"),
    "quoted_names": ("visible", "quoted"),
    "query_by_sense": ("sense_api", "query_by_sense"),
    "parse_word_sense": ("sense_api", "parse_word_sense"),
    "sense_of_query": ("sense_api", "sense_of_query"),
    "WordSenses": ("sense_api", "WordSenses"),
    "WordInventory": ("inventory", "WordInventory"),
    "check_sense_name": ("inventory", "check_name"),
    "records_to_csv": ("csvsafe", "records_to_csv"),
    "parse_marked": ("query", "parse_marked"),
    "word_spans": ("query", "word_spans"),
    "is_punctuation": ("query", "is_punctuation"),
    "is_one_word": ("query", "is_one_word"),
    "bare_word": ("query", "bare_word"),
    "check_paths": ("corpus", "check_paths"),
    "check_names": ("inputs", "check_names"),
    "InputScan": ("inputs", "InputScan"),
    "check_seed": ("arguments", "check_seed"),
    "check_number": ("arguments", "real_number"),
    "parse_condition": ("conditions", "parse_condition"),
    "parse_conditions": ("conditions", "parse_conditions"),
    "field_as_written": ("conditions", "field_as_written"),
    "value_as_written": ("conditions", "value_as_written"),
    "sense_timeline": ("diachronic", "sense_timeline"),
    "check_bin_width": ("bins", "check_bin_width"),
    "check_by_field": ("bins", "check_by_field"),
    "check_search_sense": ("sense_api", "check_search_sense"),
    "examples_taken_from": ("sense_examples", "examples_taken_from"),
    "plot_timeline": ("diachronic", "plot_timeline"),
    "SenseTimeline": ("diachronic", "SenseTimeline"),
    "path_text": ("inputs", "path_text"),
    "read_corpus": ("corpus", "read_corpus"),
    "physical_lines": ("decoding", "physical_lines"),
    "decode_text": ("decoding", "decode_bytes"),
    "input_files": ("corpus", "expand_paths"),
    "ENGINES": ("engines", "ENGINES"),
    "check_engine": ("engines", "check_engine"),
    "open_engine": ("engines", "open_engine"),
    "SenseReport": ("senses", "SenseReport"),
    "plot_senses": ("senses", "plot_senses"),
    "verify_index": ("verify", "verify_index"),
    "VerifyReport": ("verify", "VerifyReport"),
    "read_coarsewsd": ("evaldata", "read_coarsewsd"),
    "read_wic": ("evaldata", "read_wic"),
    "evaluate_coarsewsd": ("evaluate", "evaluate_coarsewsd"),
    "evaluate_wic": ("evaluate", "evaluate_wic"),
    "EVAL_METHODS": ("evaluate", "METHODS"),
    "DEFAULT_KNN": ("evaluate", "DEFAULT_KNN"),
}

__all__ = sorted([
    "ConfigMismatchError", "EncoderOutputError", "EngineError", "IndexClosedError", "IndexCorruptError",
    "IndexExistsError", "IndexLockedError", "IndexNotFoundError", "InputError", "ModelLoadError", "NotAWordError",
    "QueryError", "ReadOnlyError", "SenseCountError", "SenseNotFoundError", "SenseSearchError", "SetupError",
    "StorageError", "StorageUnavailableError", "UsageError", "WordNotFoundError", "__version__",
    *_LAZY,
])

if TYPE_CHECKING:
    from .config import (COMBINE_CHOICES, COMPRESSION_CHOICES, DEFAULT_CLUSTER_EXAMPLES, DEFAULT_LAYERS,
                         DEFAULT_MODEL, POOLING_CHOICES, PRECISION_CHOICES, SEED_MAX, SENSE_METHODS, EncoderSettings,
                         IndexConfig, check_environment, parse_layers)
    from .records import Document, DocumentEntry, Hit, IndexInfo, IngestReport, Skipped, UsagePage
    from .claim import release_outside_store
    from .compare import Comparison
    from .compare import compare as compare_usages
    from .compare import check_lines as check_compare_lines
    from .corpus import check_paths, read_corpus
    from .corpus import expand_paths as input_files
    from .decoding import decode_bytes as decode_text
    from .decoding import physical_lines
    from .devices import check_device, check_layers, check_model
    from .dburl import check_url as check_db_url
    from .lemmas import parse_language as parse_lemma_language
    from .normalize import clean_text
    from .encoder import Encoder, load_encoder
    from .encoder import check_precision_on as check_precision
    from .bins import check_bin_width, check_by_field
    from .sense_examples import examples_taken_from
    from .diachronic import SenseTimeline, plot_timeline, sense_timeline
    from .engines import ENGINES, check_engine, open_engine
    from .conditions import field_as_written, parse_condition, parse_conditions, value_as_written
    from .arguments import check_seed
    from .arguments import real_number as check_number
    from .inputs import InputScan, check_names, path_text
    from .evaldata import read_coarsewsd, read_wic
    from .evaluate import DEFAULT_KNN, evaluate_coarsewsd, evaluate_wic
    from .evaluate import METHODS as EVAL_METHODS
    from .index import SenseIndex, read_index_config
    from .opening import check_reopen
    from .inventory import WordInventory
    from .inventory import check_name as check_sense_name
    from .cells import fit_apart, fit_left, fit_right
    from .kwic import (CSV_FIELDS, LISTING_FIELDS, context_cells, document_names, kwic_rows, listed_names, names_apart,
                       render_kwic)
    from .kwicsort import QUERY_SORTS, USAGE_SORTS, sort_hits
    from .terminal import drawn as terminal_text
    from .terminal import shown as terminal_cell
    from .terminal import named as terminal_name
    from .terminal import named_apart as terminal_names
    from .visible import quoted as quoted_names
    from .sense_api import WordSenses, check_search_sense, parse_word_sense, query_by_sense, sense_of_query
    from .kwic import to_csv as hits_to_csv
    from .kwic import to_json as hits_to_json
    from .kwic import with_names as hits_with_names
    from .jsonsafe import dumps as json_dumps
    from .csvsafe import records_to_csv
    from .query import bare_word, is_one_word, is_punctuation, normalize_form, parse_marked, word_spans
    from .senses import SenseReport, plot_senses
    from .verify import VerifyReport, verify_index


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'sensesearch' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
