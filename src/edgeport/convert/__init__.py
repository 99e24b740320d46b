"""Converters: one edge ``source Format → target Format`` per module (``<source>_to_<target>.py``)."""

from __future__ import annotations

from edgeport._registry import Registry
from edgeport.convert.base import ConvertOptions, Converter

CONVERTERS: Registry[type[Converter]] = Registry("converter", __name__)

__all__ = ["CONVERTERS", "ConvertOptions", "Converter"]
