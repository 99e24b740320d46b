"""``Converter``: one edge between two formats, with typed options and a default tolerance.

A converter implements ``_convert`` in-process; callers go through
``edgeport.convert.api.convert`` which runs each step in a child process with a time limit
(a native crash or a hang cannot take the caller down) and ends in verification.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from edgeport._optional import is_available, require
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.precision import Precision
from edgeport.data.datasets import Dataset
from edgeport.verify.tolerance import Tolerance

__all__ = ["ConvertOptions", "Converter"]


@dataclass(frozen=True)
class ConvertOptions:
    """Options every converter understands; converters subclass with their own."""

    precision: str = "fp32"  # fp32 | fp16 | int8-dynamic | int8 | int16x8 (what the converter supports)
    dynamic_batch: bool = False


class Converter(ABC):
    name: ClassVar[str] = ""
    source: ClassVar[Format]
    target: ClassVar[Format]
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = ""
    Options: ClassVar[type[ConvertOptions]] = ConvertOptions
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    needs_data: ClassVar[tuple[str, ...]] = ()  # precisions that need calibration data
    default_tolerance: ClassVar[Tolerance] = Tolerance()
    timeout_s: ClassVar[float] = 600.0
    priority: ClassVar[int] = 100  # lower is tried first when several edges connect the same formats
    description: ClassVar[str] = ""

    @classmethod
    def available(cls) -> bool:
        return all(is_available(m) for m in cls.requires)

    @classmethod
    def missing(cls) -> list[str]:
        return [m for m in cls.requires if not is_available(m)]

    @classmethod
    def require(cls) -> None:
        for module in cls.requires:
            require(module, cls.extra, f"converter {cls.name!r}")

    @classmethod
    def tolerance_for(cls, options: ConvertOptions) -> Tolerance:
        """Verification tolerance for this conversion: the converter's own at fp32, else its precision's."""
        precision = Precision.parse(options.precision)
        if precision is Precision.FP32:
            return cls.default_tolerance
        return Tolerance.for_precision(precision)

    def convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                calibration: Dataset | None = None) -> Artifact:
        """Convert in this process. Prefer ``edgeport.convert.api.convert`` (isolated + verified)."""
        self.require()
        return self._convert(artifact, Path(out), options, calibration)

    @abstractmethod
    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact: ...

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"name": cls.name, "source": cls.source.value, "target": cls.target.value,
                "precisions": list(cls.precisions), "extra": cls.extra, "available": cls.available()}
