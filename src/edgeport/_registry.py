"""The one registration mechanism for pluggable components (runtimes, converters, passes).

Built-ins: the file name is the registry. Every module of the component's package (except
``base`` and private ``_*`` modules) is imported on first lookup and registers its classes
with the ``@REGISTRY.register`` decorator. Component modules import their heavy backend
inside methods only, so listing never imports a backend.

Plugins: an entry point in group ``edgeport.<kind>s`` whose value is ``module:Class``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from edgeport.errors import UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, cls: T) -> T:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} must define a non-empty class attribute 'name'")
        existing = self._entries.get(name)
        if existing is not None and existing is not cls:
            raise TypeError(f"{self.kind} {name!r} registered twice ({existing.__qualname__}, {cls.__qualname__})")
        self._entries[name] = cls
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_") or info.name == "base":
                continue
            importlib.import_module(f"{self.package}.{info.name}")
        for ep in importlib.metadata.entry_points(group=f"edgeport.{self.kind}s"):
            if ep.name not in self._entries:
                self.register(ep.load())

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}", fix=f"use one of: {known}") from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def select(self, predicate: Callable[[T], bool]) -> list[T]:
        return [cls for cls in self if predicate(cls)]
