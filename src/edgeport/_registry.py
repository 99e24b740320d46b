"""The one registration mechanism for pluggable components (runtimes, converters, passes).

Built-ins: the file name is the registry. Every module of the component's package (except
``base`` and private ``_*`` modules) is imported on first lookup and registers its classes
with the ``@REGISTRY.register`` decorator. Component modules import their heavy backend
inside methods only, so listing never imports a backend.

Plugins: an entry point in group ``edgeport.<kind>s`` whose value is ``module:Class``.

Failures, decided once here:

- A built-in module that fails to import is an internal bug: the lookup raises that error with
  its traceback and the registry stays *not loaded*, so the next lookup imports again (modules
  that did import are not re-run) instead of answering from a half-filled table.
- A plugin entry point that fails (its module raises, it names no class, the class is not a
  component of this kind, or its name is already taken) never breaks the built-ins or other
  plugins. It is listed by ``broken()``; asking for it by its entry-point name raises
  ``PluginError`` naming the entry point and its distribution, chained to the original error.
  A plugin whose name a built-in (or an earlier plugin) already has is refused that way: the
  name keeps its first owner, and the duplicate is reported, never silently dropped.
- Two built-ins registering one name is an internal bug (``TypeError``).

Declared strings ``"module:function"`` (e.g. a runtime's I/O readers) resolve with ``resolve``,
so metadata can name code without importing it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from edgeport.errors import PluginError, UnknownNameError

__all__ = ["BrokenPlugin", "Registry", "resolve"]

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin entry point that could not be registered, and why."""

    kind: str
    name: str  # the entry point's name
    value: str  # the entry point's target, "module:Class"
    distribution: str  # "name version" of the distribution that declares it ("" when unknown)
    reason: str  # one line
    error: BaseException

    def describe(self) -> str:
        source = f" from {self.distribution}" if self.distribution else ""
        return f"entry point '{self.name} = {self.value}' (group edgeport.{self.kind}s{source})"


def resolve(target: str) -> Any:
    """The object a ``"module:attribute"`` string names (imports the module)."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{target!r} is not 'module:attribute'")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, base: type | None = None) -> None:
        self.kind = kind
        self.package = package
        self.base = base  # registered classes must subclass it (when given)
        self._entries: dict[str, T] = {}
        self._broken: dict[str, BrokenPlugin] = {}
        self._loaded = False
        self._loading = False
        self._lock = threading.RLock()

    def register(self, cls: T) -> T:
        name = getattr(cls, "name", None)
        if not isinstance(cls, type):
            raise TypeError(f"{self.kind} entries must be classes, got {cls!r}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} must define a non-empty class attribute 'name'")
        if self.base is not None and not issubclass(cls, self.base):
            raise TypeError(f"{cls.__qualname__} is registered as a {self.kind} but is not a {self.base.__name__}")
        existing = self._entries.get(name)
        if existing is not None and existing is not cls and not _same_definition(existing, cls):
            raise TypeError(f"{self.kind} {name!r} registered twice ({_where(existing)}, {_where(cls)})")
        self._entries[name] = cls
        return cls

    # ---- loading ------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            if self._loading:
                raise RuntimeError(f"the {self.kind} registry was looked up while its modules were importing: "
                                   "a component module must not look up components at import time")
            self._loading = True
            try:
                self._import_builtins()
                self._load_plugins()
                self._loaded = True  # only once everything above finished
            finally:
                self._loading = False

    def _import_builtins(self) -> None:
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_") or info.name == "base":
                continue
            importlib.import_module(f"{self.package}.{info.name}")  # an error here is a bug: it propagates

    def _load_plugins(self) -> None:
        for ep in importlib.metadata.entry_points(group=f"edgeport.{self.kind}s"):
            if ep.name in self._broken:
                continue
            before = dict(self._entries)
            try:
                cls = ep.load()
                taken = self._entries.get(getattr(cls, "name", None) or "")
                if taken is not None and taken is not cls:
                    raise TypeError(f"{self.kind} name {taken.name!r} is already registered by {_where(taken)}")
                self.register(cls)
            except Exception as exc:  # noqa: BLE001 - any failure of third-party code is that plugin's, recorded
                self._entries = before  # undo whatever the failing module registered
                self._broken[ep.name] = BrokenPlugin(self.kind, ep.name, ep.value, _distribution(ep),
                                                     _one_line(exc), exc)

    # ---- lookup -------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        self._load()
        found = self._entries.get(name)
        if found is not None:
            return found
        broken = self._broken.get(name)
        if broken is not None:
            raise PluginError(f"{self.kind} plugin {name!r} is broken: {broken.describe()} failed: {broken.reason}",
                              fix="fix, upgrade or uninstall the distribution that declares it") from broken.error
        known = ", ".join(sorted(self._entries)) or "none"
        raise UnknownNameError(f"unknown {self.kind} {name!r}", fix=f"use one of: {known}")

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def broken(self) -> list[BrokenPlugin]:
        """Plugin entry points that failed to register (built-ins never appear: they raise)."""
        self._load()
        return [self._broken[n] for n in sorted(self._broken)]

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def select(self, predicate: Callable[[T], bool]) -> list[T]:
        return [cls for cls in self if predicate(cls)]


def _same_definition(a: type, b: type) -> bool:
    """The same class statement run again (a module re-imported after an earlier failed import)."""
    return a.__module__ == b.__module__ and a.__qualname__ == b.__qualname__


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _distribution(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ""
    try:
        return f"{dist.metadata['Name']} {dist.version}"
    except Exception:  # noqa: BLE001 - unreadable metadata only loses the label
        return ""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
