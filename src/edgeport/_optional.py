"""Optional dependencies: probe without importing, import with an error that names the extra."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from types import ModuleType

from edgeport.errors import MissingDependencyError

__all__ = ["is_available", "require", "version_of"]

# import name -> distribution name, where they differ
_DISTRIBUTIONS = {
    "onnxruntime": "onnxruntime",
    "ai_edge_litert": "ai-edge-litert",
    "litert_torch": "litert-torch",
    "tvm": "apache-tvm",
    "sklearn": "scikit-learn",
    "tflite_micro": "tflite-micro",
    "onnxconverter_common": "onnxconverter-common",
}


def is_available(module: str) -> bool:
    """True when ``module`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version_of(module: str) -> str | None:
    """Installed version of the distribution providing ``module`` (no import)."""
    dist = _DISTRIBUTIONS.get(module, module.split(".")[0])
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``MissingDependencyError`` naming the extra to install."""
    if not is_available(module):
        raise MissingDependencyError(purpose, module, extra)
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # installed but broken: still the user's environment to fix
        raise MissingDependencyError(f"{purpose} (import failed: {exc})", module, extra) from exc
