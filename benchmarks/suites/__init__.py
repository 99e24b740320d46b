"""Benchmark suites, one module each, discovered by file name and run in ``ORDER``.

A suite module defines ``NAME`` (its file name), ``TITLE``, ``ORDER`` (int; lower runs first —
the hardware limit runs before the model suites that report a fraction of it) and
``run(ctx: Context) -> SuiteResult``. Adding a stack or a model means adding a module here
(or a runtime/converter/pass to edgeport, which the model suites discover on their own).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["discover"]


def discover() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
