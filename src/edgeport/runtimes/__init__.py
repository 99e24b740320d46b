"""Runtimes: one module per runtime, registered by file name (see ``edgeport._registry``)."""

from __future__ import annotations

from edgeport.runtimes.base import RUNTIMES, Runtime

__all__ = ["RUNTIMES", "Runtime"]
