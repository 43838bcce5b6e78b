"""Usage errors of the command line as one line: `Error: <what> (see 'sensesearch CMD --help')`, exit 2.

click prints its own usage errors (an unknown option, a missing argument, a value its type or a parameter callback
refuses) as the command's usage line, a "Try ..." hint, a blank line and the error: four lines where every other
failure of sensesearch is one. The groups of the app catch them where the command's path is still known and raise
them again as OneLineUsageError, whose `show` typer calls. `--help`, and a group given no command (click shows its
help then), are left as they are.
"""

from __future__ import annotations

import importlib
from typing import IO, Any

import typer
from typer.core import TyperGroup

import sensesearch

# click's exceptions as typer raises them: typer 0.2x carries a copy of click (typer._click), older ones use click's
# own, so they are found beside typer.BadParameter instead of imported from `click`.
_exceptions = importlib.import_module(typer.BadParameter.__module__)
_globals = importlib.import_module(_exceptions.__name__.rsplit(".", 1)[0] + ".globals")
ClickUsageError: type[Exception] = _exceptions.UsageError
NoArgsIsHelp: type[Exception] = getattr(_exceptions, "NoArgsIsHelpError", type("NoArgsIsHelpError", (Exception,), {}))
"""click 8.2 on raises this where a group is given no command, to show its help: left as it is."""

PYDANTIC_PREFIX = "Value error, "
"""What typer's pydantic checks put before a refused choice's own message ("Value error, 'zip' is not one of ...")."""


class OneLineUsageError(ClickUsageError):  # type: ignore[misc,valid-type]
    """A click usage error shown as one line that names the command's --help."""

    def __init__(self, message: str, command_path: str) -> None:
        super().__init__(message)
        self.command_path = command_path

    def show(self, file: IO[Any] | None = None) -> None:
        line = f"Error: {sensesearch.terminal_text(self.message)}{help_hint(self.command_path)}"
        typer.echo(line, file=file, err=file is None)


def help_hint(command_path: str | None = None) -> str:
    """" (see 'sensesearch CMD --help')", ending every usage error's line: for `command_path`, or the command
    running now ("" outside one)."""
    if command_path is None:
        context = _globals.get_current_context(silent=True)
        command_path = context.command_path if context is not None else None
    return f" (see '{command_path} --help')" if command_path else ""


def one_line(exc: Any, path: str) -> OneLineUsageError:
    """`exc` as a OneLineUsageError; `path` names the command when click left the error without its context (an
    option given last without its value is refused by click's parser before the command's context holds it)."""
    message = exc.format_message().replace(": " + PYDANTIC_PREFIX, ": ")
    message = message[:-1] if message.endswith(".") else message  # the hint ends the sentence
    return OneLineUsageError(message, exc.ctx.command_path if exc.ctx is not None else path)


class OneLineUsageGroup(TyperGroup):
    """A command group whose usage errors, its own and its commands', are one line (OneLineUsageError)."""

    def make_context(self, info_name: str | None, args: list[str], parent: typer.Context | None = None,
                     **extra: Any) -> typer.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except (OneLineUsageError, NoArgsIsHelp):
            raise
        except ClickUsageError as exc:
            parent_path = f"{parent.command_path} " if parent is not None else ""
            raise one_line(exc, parent_path + (info_name or "")) from None

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OneLineUsageError, NoArgsIsHelp):
            raise
        except ClickUsageError as exc:
            # Group.invoke sets invoked_subcommand before it parses the command's arguments.
            path = " ".join(part for part in (ctx.command_path, ctx.invoked_subcommand) if part)
            raise one_line(exc, path) from None
