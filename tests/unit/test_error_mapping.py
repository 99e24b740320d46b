"""``map_exceptions`` maps a backend's exceptions to edgeport errors and re-raises anything else
unchanged; the CLI tells user errors from bugs by exit code (no optional dependencies)."""

from __future__ import annotations

import json
import traceback

import pytest
import typer
from typer.testing import CliRunner

from edgeport.core.formats import Format
from edgeport.errors import (
    BackendError,
    ConfigError,
    ConversionError,
    EdgeportError,
    InternalError,
    map_exceptions,
    one_line,
    raised_in,
)


def test_a_backend_exception_becomes_the_mapped_error_with_cause_and_fix() -> None:
    with pytest.raises(BackendError) as err:
        with map_exceptions({raised_in("json"): BackendError}, "the decoder failed", fix="send valid JSON"):
            json.loads("{")
    assert str(err.value).startswith("the decoder failed: Expecting property name")
    assert err.value.fix == "send valid JSON" and "\n" not in str(err.value)
    assert isinstance(err.value.__cause__, json.JSONDecodeError)


def test_an_exception_of_our_own_code_is_re_raised_unchanged_with_its_traceback() -> None:
    def our_bug() -> None:
        {}["missing"]  # noqa: B018 - the bug under test

    with pytest.raises(KeyError) as err:
        with map_exceptions({raised_in("json"): BackendError, ValueError: BackendError}, "never"):
            json.loads("{}")
            our_bug()
    assert traceback.extract_tb(err.value.__traceback__)[-1].name == "our_bug"


def test_an_edgeport_callback_failing_under_the_backend_is_still_a_bug() -> None:
    """json calls back into edgeport (Format.parse on a dict): the innermost frame is ours, so it is not json's."""
    with pytest.raises(AttributeError):
        with map_exceptions({raised_in("json"): BackendError}, "never"):
            json.loads('{"a": 1}', object_hook=Format.parse)


def test_edgeport_errors_pass_through_and_types_match_by_isinstance() -> None:
    with pytest.raises(ConfigError):
        with map_exceptions({Exception: BackendError}, "never"):
            raise ConfigError("already a user error")
    with pytest.raises(BackendError, match="read: boom"):
        with map_exceptions({(KeyError, OSError): BackendError}, "read"):
            raise FileNotFoundError("boom")


def test_first_match_wins_and_a_factory_builds_the_error() -> None:
    def factory(exc: BaseException) -> EdgeportError:
        return ConversionError(f"custom {one_line(exc)}", converter="c", stage="s")

    with pytest.raises(ConversionError, match=r"^c \(s\): custom 2 lines") as err:
        with map_exceptions({lambda e: "lines" in str(e): factory, ValueError: BackendError}):
            raise ValueError("2\n   lines")
    assert err.value.converter == "c" and err.value.stage == "s"


def test_internal_error_is_not_a_user_error() -> None:
    err = InternalError("converter 'x' (convert) raised KeyError: 'k'", traceback="Traceback ...")
    assert not isinstance(err, EdgeportError) and err.exit_code not in (0, 1, 2, 3)


def _app() -> typer.Typer:
    from edgeport.cli.main import _Group

    app = typer.Typer(cls=_Group, add_completion=False)

    @app.command()
    def bug() -> None:
        {}["missing"]  # noqa: B018

    @app.command()
    def child() -> None:
        raise InternalError("converter 'x' (convert) raised KeyError: 'k'",
                            traceback='Traceback (most recent call last):\n  File "child.py", line 3, in step\n')

    @app.command()
    def user() -> None:
        raise ConfigError("bad option", fix="use a good one")

    @app.command()
    def stop() -> None:
        raise typer.Exit(1)

    return app


@pytest.mark.parametrize(("command", "code", "needles"), [
    ("bug", 70, ["Traceback", "KeyError", "internal error", "bug in edgeport"]),
    ("child", 70, ["child.py", "in step", "internal error: InternalError"]),
    ("user", 2, ["error: ConfigError: bad option — use a good one"]),
    ("stop", 1, []),
])
def test_cli_exit_codes_tell_bugs_from_user_errors(command: str, code: int, needles: list[str]) -> None:
    result = CliRunner().invoke(_app(), [command])
    assert result.exit_code == code, result.output
    for needle in needles:
        assert needle in result.output
    if code != 70:
        assert "Traceback" not in result.output
