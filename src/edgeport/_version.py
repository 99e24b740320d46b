"""edgeport's version, in the lowest layer so any module can record it without importing the package API."""

__version__ = "0.1.0"
