"""Entry point: builds the typer app from every command module in this package.

Each ``edgeport/cli/<command>.py`` defines ``register(app)``; the file name is the registry,
so a new command needs no edit here. User errors (``EdgeportError``) print one line and exit
with the error's code (2 input, 1 failed check, 3 missing extra); ``--debug`` shows the traceback.
Anything else is a bug in edgeport: its traceback is printed (for an ``InternalError`` from a
child process, the child's) and the exit code is 70, distinct from every user-facing code.

Backend chatter (TensorFlow INFO lines, native thread-pool logs...) is silenced unless
``--verbose`` (see ``edgeport._quiet``).

Start-up time matters here (``edgeport --help``): help is click's plain formatter, not typer's
rich one, whose import (rich markdown, tracebacks, syntax highlighting) cost more than all the
rest; the real ``click`` package is not imported (typer carries its own).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from typing import Any

import typer
from typer._click import exceptions as _click_exceptions
from typer.core import TyperGroup

from edgeport import _quiet
from edgeport.errors import EdgeportError, InternalError

__all__ = ["INTERNAL_ERROR_EXIT", "app", "main"]

INTERNAL_ERROR_EXIT = InternalError.exit_code  # 70, EX_SOFTWARE: a bug in edgeport, not a user error
# the CLI framework's own signals (typer carries its own click as typer._click; the real click is not imported)
_CLI_CONTROL = (typer.exceptions.TyperException, typer.Exit, typer.Abort, _click_exceptions.ClickException)


class _Group(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EdgeportError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except _CLI_CONTROL:  # --help, usage errors, typer.Exit: the CLI framework's own signals
            raise
        except Exception as exc:  # a bug in edgeport: show where, and exit with a code no user error uses
            typer.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
            if isinstance(exc, InternalError) and exc.traceback:
                typer.echo(f"the failing process's traceback:\n{exc.traceback.rstrip()}", err=True)
            typer.echo(f"internal error: {type(exc).__name__}: {exc}\nthis is a bug in edgeport; please report it "
                       "with the traceback above", err=True)
            ctx.exit(INTERNAL_ERROR_EXIT)

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(super().list_commands(ctx))

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Each command's whole first sentence, wrapped to the terminal (click cuts it at one line)."""
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(cls=_Group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="edgeport: take a trained model to edge devices and prove it still works there.")


@app.callback()
def _root(ctx: typer.Context,
          debug: bool = typer.Option(False, "--debug", help="Show tracebacks for user errors."),
          store: str = typer.Option(None, "--store", envvar="EDGEPORT_STORE",
                                    help="Result store (SQLite) path [default: .edgeport/edgeport.db]."),
          verbose: bool = typer.Option(False, "--verbose", "-v", envvar=_quiet.ENV_VAR,
                                       help="Show what the backends print (TensorFlow, ExecuTorch, torchao...); "
                                            "silenced by default.")) -> None:
    _quiet.set_verbose(verbose)
    _quiet.quiet_backends()
    ctx.obj = {"debug": debug, "store": store, "verbose": verbose}


def _register_commands() -> None:
    package = importlib.import_module(__package__ or "edgeport.cli")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        module.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    app(args=argv if argv is not None else sys.argv[1:], prog_name="edgeport")


if __name__ == "__main__":
    main()
