"""The console script's entry point: the command line, with a Ctrl-C during its imports and start-up ending as one
during a command does (one line, exit 130) instead of a traceback.

The imports (typer, rich, and what a command's options check) take about half a second before cli.main can guard
anything; `import sensesearch` itself is kept to about a millisecond (its names load on first use) so that this
module is reached almost at once.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130
"""128 + SIGINT, the shell's status for a command stopped by Ctrl-C (cli.guarded uses it too)."""


def main() -> None:
    """Import the command line and run it."""
    try:
        from .cli import main as run

        # Inside too: typer builds the commands from their signatures (type hints read, about 0.1 s) before its own
        # handler of Ctrl-C is set up, and a command's guard (cli.guarded) covers only the command.
        run()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(INTERRUPTED)
