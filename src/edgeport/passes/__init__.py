"""Passes: transformations within a format (simplify, fp16, quantize, …), one module per pass."""

from __future__ import annotations

from edgeport._registry import Registry
from edgeport.passes.base import Pass, PassOptions

PASSES: Registry[type[Pass]] = Registry("pass", __name__)

__all__ = ["PASSES", "Pass", "PassOptions", "apply_pass"]


def apply_pass(name: str, artifact: object, out: object, options: object = None, data: object = None,
               **kwargs: object) -> object:
    """Apply the registered pass ``name`` (see ``Pass.apply``)."""
    return PASSES.get(name)().apply(artifact, out, options, data, **kwargs)  # type: ignore[arg-type]
