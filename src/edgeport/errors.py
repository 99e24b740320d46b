"""The exception tree users meet. Every user-facing failure is an ``EdgeportError``.

::

    EdgeportError                      one line: the cause and the fix        exit 2
    ├── InputError                     bad user input                          exit 2
    │   ├── ModelFileError             missing / not a model / corrupt file
    │   ├── FeedError                  feeds with the wrong name, shape or dtype
    │   ├── DatasetError               dataset missing, malformed, or not matching the model
    │   ├── ConfigError                malformed option, recipe or device TOML
    │   └── UnknownNameError           unknown runtime / converter / target / pass name
    ├── UnsupportedError               the request is valid but cannot be done  exit 2
    │   └── UnsupportedConversionError no converter path between two formats
    ├── MissingDependencyError         an optional backend is not installed     exit 3
    ├── PluginError                    an installed plugin entry point is broken exit 2
    ├── ConversionError                a converter failed (names converter + stage) exit 1
    ├── BackendError                   a runtime failed to load or run a model  exit 1
    ├── NotRunnableHere                an artifact that cannot run on this host exit 1
    └── CheckFailed                    a check the user asked for failed        exit 1
        ├── VerificationFailed         outputs outside tolerance
        └── BudgetNotMet               no variant meets the constraints

    InternalError                      a bug in edgeport (not the user's doing) exit 70
                                       e.g. a converter child process raised a non-EdgeportError;
                                       carries that process's traceback

Internal bugs are *not* ``EdgeportError``: they keep their traceback, and the CLI prints it and
exits 70 (``EX_SOFTWARE``) for any of them. ``InternalError`` is the one internal bug edgeport
raises itself, where the original exception lived in another process.

``map_exceptions`` is the one way to turn a backend's exceptions into edgeport errors: it maps the
types (or predicates, such as ``raised_in("onnxruntime")``) it is given and re-raises anything else
unchanged, so an edgeport bug inside the block keeps its traceback instead of becoming a user error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "BackendError",
    "BudgetNotMet",
    "CheckFailed",
    "ConfigError",
    "ConversionError",
    "DatasetError",
    "DeviceError",
    "EdgeportError",
    "FeedError",
    "InputError",
    "InternalError",
    "MissingDependencyError",
    "ModelFileError",
    "NotRunnableHere",
    "PluginError",
    "UnknownNameError",
    "UnsupportedConversionError",
    "UnsupportedError",
    "VerificationFailed",
    "map_exceptions",
    "one_line",
    "raised_in",
]


class EdgeportError(Exception):
    """A failure the user can act on. ``str(err)`` is one line: cause, then fix."""

    exit_code: int = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.cause = message
        self.fix = fix
        super().__init__(f"{message} — {fix}" if fix else message)


class InputError(EdgeportError):
    exit_code = 2


class ModelFileError(InputError):
    pass


class FeedError(InputError):
    pass


class DatasetError(InputError):
    pass


class ConfigError(InputError):
    pass


class UnknownNameError(InputError):
    pass


class UnsupportedError(EdgeportError):
    exit_code = 2


class UnsupportedConversionError(UnsupportedError):
    pass


class MissingDependencyError(EdgeportError):
    exit_code = 3

    def __init__(self, purpose: str, module: str, extra: str, *, fix: str | None = None) -> None:
        self.module = module
        self.extra = extra
        # ``fix``: for what pip does not install (a system package, an npm dist), the make target that does
        super().__init__(
            f"{purpose} needs '{module}'", fix=fix or f'pip install "edgeport[{extra}]"'
        )


class PluginError(EdgeportError):
    exit_code = 2


class ConversionError(EdgeportError):
    exit_code = 1

    def __init__(self, message: str, *, converter: str = "", stage: str = "", fix: str | None = None) -> None:
        self.converter = converter
        self.stage = stage
        where = f"{converter} ({stage}): " if converter and stage else (f"{converter}: " if converter else "")
        super().__init__(f"{where}{message}", fix=fix)


class BackendError(EdgeportError):
    exit_code = 1


class NotRunnableHere(EdgeportError):
    exit_code = 1


class DeviceError(EdgeportError):
    """A measuring device (an agent, a browser) could not be reached, refused the job, or died during it.

    A fault of the device, not of the model: a study records the candidate as failed on that device with
    this reason and measures it again on its next run.
    """

    exit_code = 1


class CheckFailed(EdgeportError):
    exit_code = 1


class VerificationFailed(CheckFailed):
    pass


class BudgetNotMet(CheckFailed):
    pass


class InternalError(Exception):
    """A bug in edgeport that surfaced away from its traceback (e.g. in a converter's child process).

    Deliberately *not* an ``EdgeportError``: code that records user errors and goes on (a study's
    failed candidate) must not swallow it. ``traceback`` is the original traceback text.
    """

    exit_code: int = 70

    def __init__(self, message: str, *, traceback: str = "") -> None:
        self.traceback = traceback
        super().__init__(message)


# ---- mapping backend exceptions ---------------------------------------------------------------

ExceptionMatch = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
ErrorFactory = type[EdgeportError] | Callable[[BaseException], EdgeportError]


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The exception's message on one line (whitespace collapsed), or its type name when empty."""
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:limit]


def raised_in(*packages: str) -> Callable[[BaseException], bool]:
    """A predicate: the exception's type belongs to one of ``packages``, or it was raised inside their code.

    "Inside" means some traceback frame is in those packages and the innermost frame is not edgeport's
    (an edgeport callback that fails while a backend calls it is still an edgeport bug).
    """

    def _in(module: str | None) -> bool:
        return bool(module) and any(module == p or module.startswith(p + ".") for p in packages)  # type: ignore[union-attr]

    def match(exc: BaseException) -> bool:
        if _in(type(exc).__module__):
            return True
        modules = []
        tb = exc.__traceback__
        while tb is not None:
            modules.append(tb.tb_frame.f_globals.get("__name__"))
            tb = tb.tb_next
        if not modules or (modules[-1] or "").split(".")[0] == "edgeport":
            return False
        return any(_in(m) for m in modules)

    match.__qualname__ = f"raised_in({', '.join(map(repr, packages))})"
    return match


def _matches(match: ExceptionMatch, exc: BaseException) -> bool:
    if isinstance(match, type) or isinstance(match, tuple):
        return isinstance(exc, match)
    return bool(match(exc))


@contextmanager
def map_exceptions(mapping: Mapping[ExceptionMatch, ErrorFactory], message: str = "", *,
                   fix: str | None = None, **error_kwargs: Any) -> Iterator[None]:
    """Translate a backend's exceptions raised inside the block into edgeport errors; re-raise the rest.

    ``mapping`` goes from an exception type, a tuple of types or a predicate (first match wins) to an
    ``EdgeportError`` subclass — raised as ``cls(f"{message}: {one_line(exc)}", fix=fix, **error_kwargs)``
    — or to a callable that builds the error from the exception. The original exception is chained
    (``raise ... from exc``). ``EdgeportError`` passes through untouched; any exception no entry
    matches is re-raised as it is, so a bug keeps its traceback::

        with map_exceptions({raised_in("onnxruntime"): BackendError}, f"ONNX Runtime failed running {name}",
                            fix="check the input data"):
            values = session.run(None, feeds)
    """
    try:
        yield
    except EdgeportError:
        raise
    except Exception as exc:
        for match, target in mapping.items():
            if _matches(match, exc):
                if isinstance(target, type) and issubclass(target, EdgeportError):
                    text = f"{message}: {one_line(exc)}" if message else one_line(exc)
                    err = target(text, fix=fix, **error_kwargs)
                else:
                    err = target(exc)  # type: ignore[call-arg]
                raise err from exc
        raise
