"""The `shell` command: queries typed one after another with the model kept loaded, and `:` commands between them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

import sensesearch
from sensesearch import QUERY_SORTS, QueryError, SenseSearchError, UsageError

from .cli import app, err, guarded, out, plural
from .cli_options import DEFAULT_INDEX, DeviceOption, IndexOption, utf8_problem
from .cli_search import QueryOptions, note_cut

SHELL_USAGES_PER_HIT = 5
"""The shell's :usages lists k times this many usages (sorted as :sort says, position for score)."""

SHELL_ANY_WORD_HINT = "; type :any on to search usages of every word"
"""The shell's own spelling of the any-word hint: --any-word is no command here."""
SHELL_HELP = """Type a sentence with one [[marked]] word to search (the model stays loaded). Commands:
  :usages WORD              list WORD's usages (k x 5)
  :k N                      hits per query (now {k})
  :any on|off               any-word search ({any})
  :sort score|left|right    order of lines ({sort})
  :documents                list the documents
  :help                     this text
  :quit                     leave (or Ctrl+D)"""


@app.command()
@guarded
def shell(
    index: IndexOption = Path(DEFAULT_INDEX),
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many usages each query returns.")] = 10,
    device: DeviceOption = None,
) -> None:
    """Query interactively with the model loaded once: each query then takes well under a second.

    \b
    Example: echo 'Money in the [[bank]].' | sensesearch shell --index indexes/demo
    """
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    options = QueryOptions(k=k, any_word_hint=SHELL_ANY_WORD_HINT)
    with sensesearch.SenseIndex.open(index, read_only=True, device=device) as source:
        sensesearch.check_precision(source.config.encoder.precision, device, recorded=True)
        if interactive:
            err.print(f"sensesearch shell on {index}: loading the model ...")
        source.encoder  # noqa: B018  (loaded before the first prompt, not during the first query)
        if interactive:
            err.print(SHELL_HELP.format(k=options.k, any="on" if options.any_word else "off", sort=options.sort))
        for line in _lines(interactive):
            if line in (":quit", ":q", ":exit"):
                break
            problem = utf8_problem(line)
            if problem:
                err.print(f"Error: the line {problem}")
                continue
            try:
                _shell_step(source, options, line)
            except SenseSearchError as exc:
                err.print(f"Error: {exc}")


def _lines(interactive: bool) -> Iterator[str]:
    while True:
        try:
            line = input("sensesearch> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and not line:
            return
        if line.strip():
            yield line.strip()


def _shell_step(source: sensesearch.SenseIndex, options: QueryOptions, line: str) -> None:
    command, _, argument = line.partition(" ")
    argument = argument.strip()
    if not command.startswith(":"):
        sensesearch.render_kwic(options.run(source, line), out)
    elif command == ":usages" and argument:
        page = source.usage_page(argument, limit=options.k * SHELL_USAGES_PER_HIT,
                                 sort="position" if options.sort == "score" else options.sort)
        sensesearch.render_kwic(page.hits, out)
        note_cut(page, f":k, {SHELL_USAGES_PER_HIT} usages per hit")
    elif command == ":usages":  # without its word it had been told to "mark a word with [[ ]]"
        raise UsageError(":usages takes a word, e.g. :usages bank")
    elif command == ":k":
        if not (argument.isascii() and argument.isdecimal() and int(argument) >= 1):
            raise UsageError(f":k takes a whole number of hits from 1, not {argument!r}")
        options.k = int(argument)
    elif command == ":any":
        if argument not in ("on", "off"):
            raise UsageError(f":any takes on or off, not {argument!r}")
        options.any_word = argument == "on"
    elif command == ":sort":
        if argument not in QUERY_SORTS:
            raise UsageError(f":sort takes {', '.join(QUERY_SORTS)}, not {argument!r}")
        options.sort = argument
    elif command == ":documents":
        entries = source.catalog()
        # Records of one id in two JSON Lines files had been listed as two lines alike ("r1"): FILE#id, as KWIC lines.
        named = sensesearch.listed_names((entry.label, entry.path) for entry in entries)
        for entry in entries:
            out.print(f"{named[(entry.label, entry.path)]}  "
                      f"({plural(entry.occurrences, 'occurrence')})", markup=False)
    elif command == ":help":
        err.print(SHELL_HELP.format(k=options.k, any="on" if options.any_word else "off", sort=options.sort))
    else:
        raise QueryError(f"cannot read {line!r}: mark a word with [[ ]], or type :help")
