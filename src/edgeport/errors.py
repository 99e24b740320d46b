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

Internal bugs are *not* ``EdgeportError``: they keep their traceback.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BudgetNotMet",
    "CheckFailed",
    "ConfigError",
    "ConversionError",
    "DatasetError",
    "EdgeportError",
    "FeedError",
    "InputError",
    "MissingDependencyError",
    "ModelFileError",
    "NotRunnableHere",
    "PluginError",
    "UnknownNameError",
    "UnsupportedConversionError",
    "UnsupportedError",
    "VerificationFailed",
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

    def __init__(self, purpose: str, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{purpose} needs '{module}'", fix=f'pip install "edgeport[{extra}]"'
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


class CheckFailed(EdgeportError):
    exit_code = 1


class VerificationFailed(CheckFailed):
    pass


class BudgetNotMet(CheckFailed):
    pass
