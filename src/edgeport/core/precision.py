"""Numeric precision: the one vocabulary every converter, pass, verifier and study speaks.

A ``Precision`` names how a model computes (``int8-dynamic`` = int8 weights, float activations);
its ``family`` says how far its outputs may honestly drift from the float32 source, and so which
tolerance the verifier applies:

- ``float32``: the source's own arithmetic; elementwise error near rounding.
- ``reduced-float``: fp16 and bf16 keep the float graph but round every tensor (bf16 has fp32's
  range and 8 significant bits, fp16 11 bits and a narrow range): loose elementwise bounds.
- ``integer``: quantised tensors; elementwise error is expected, so outputs are judged by agreement
  and the task metric.

User strings parse through ``Precision.parse``, which knows the common aliases and refuses anything
else with the list of valid names (an unknown string is never guessed to be int8).
"""

from __future__ import annotations

import enum

from edgeport.errors import ConfigError

__all__ = ["Precision", "PrecisionFamily"]


class PrecisionFamily(str, enum.Enum):
    FLOAT32 = "float32"
    REDUCED_FLOAT = "reduced-float"
    INTEGER = "integer"

    def __str__(self) -> str:
        return self.value


class Precision(str, enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"  # static: int8 weights and activations, calibrated
    INT8_DYNAMIC = "int8-dynamic"  # int8 weights, activations quantised on the fly (or kept float)
    INT16X8 = "int16x8"  # int16 activations, int8 weights

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def family(self) -> PrecisionFamily:
        return _FAMILY[self]

    @property
    def is_float(self) -> bool:
        return self.family is not PrecisionFamily.INTEGER

    @classmethod
    def parse(cls, value: str | Precision | None) -> Precision:
        """``value`` as a Precision (``None``: fp32). Raises ``ConfigError`` for an unknown name."""
        if value is None:
            return cls.FP32
        if isinstance(value, cls):
            return value
        key = str(value).strip().lower().replace("_", "-")
        found = _ALIASES.get(key)
        if found is None:
            try:
                return cls(key)
            except ValueError:
                names = ", ".join(p.value for p in cls)
                raise ConfigError(f"unknown precision {value!r}", fix=f"use one of: {names}") from None
        return found


_FAMILY = {
    Precision.FP32: PrecisionFamily.FLOAT32,
    Precision.FP16: PrecisionFamily.REDUCED_FLOAT,
    Precision.BF16: PrecisionFamily.REDUCED_FLOAT,
    Precision.INT8: PrecisionFamily.INTEGER,
    Precision.INT8_DYNAMIC: PrecisionFamily.INTEGER,
    Precision.INT16X8: PrecisionFamily.INTEGER,
}

_ALIASES = {
    "float32": Precision.FP32, "f32": Precision.FP32, "float": Precision.FP32,
    "float16": Precision.FP16, "f16": Precision.FP16, "half": Precision.FP16,
    "bfloat16": Precision.BF16,
    "qint8": Precision.INT8, "int8-static": Precision.INT8, "w8a8": Precision.INT8,
    "dynamic-int8": Precision.INT8_DYNAMIC, "int8dynamic": Precision.INT8_DYNAMIC,
    "w8": Precision.INT8_DYNAMIC, "weights-int8": Precision.INT8_DYNAMIC,
    "int16": Precision.INT16X8, "a16w8": Precision.INT16X8, "16x8": Precision.INT16X8,
}
