"""Runtimes: one module per runtime, registered by file name (see ``edgeport._registry``)."""

from __future__ import annotations

from edgeport._registry import Registry
from edgeport.runtimes.base import Runtime

RUNTIMES: Registry[type[Runtime]] = Registry("runtime", __name__, base=Runtime)

__all__ = ["RUNTIMES", "Runtime"]
