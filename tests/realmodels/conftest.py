"""Helpers for the real-model tests: run the CLI in-process and read its JSON, or its one-line error.

The models come from the zoo cache (``zoo.zoo_model``: skipped locally until ``make zoo``, a failure
under ``CI=true``). Every command gets the manifest's ``--shape``/``--input`` flags, as a user would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner


class Cli:
    """``edgeport`` through typer's CliRunner (no interpreter start per command)."""

    def _invoke(self, args: list[str]) -> Any:
        from edgeport.cli.main import app

        return CliRunner().invoke(app, [str(a) for a in args])

    def json(self, *args: Any, codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
        """The ``data`` of a ``--json`` command that must exit with one of ``codes``."""
        res = self._invoke([*args, "--json"])
        assert res.exit_code in codes, f"exit {res.exit_code}: {res.output[-3000:]}"
        return json.loads(res.stdout)["data"]

    def error(self, *args: Any, code: int) -> str:
        """The one ``error:`` line of a command that must fail with exit ``code`` (and no traceback)."""
        res = self._invoke(list(args))
        assert res.exit_code == code, f"exit {res.exit_code}, expected {code}: {res.output[-3000:]}"
        assert res.exception is None or isinstance(res.exception, SystemExit), res.output[-3000:]
        errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, res.output[-3000:]
        return errors[0]


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()
