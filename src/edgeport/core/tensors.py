"""Tensor specifications: name, dtype, shape with symbolic dims, layout and quantisation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Dim", "QuantParams", "TensorSpec", "spec_from_dict", "spec_to_dict"]

Dim = int | str | None  # int: static; str: symbolic (e.g. "batch"); None: unknown


@dataclass(frozen=True)
class QuantParams:
    """Affine quantisation of a tensor: real = scale * (q - zero_point)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None  # per-channel axis, None for per-tensor

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        scale = np.asarray(self.scale, dtype=np.float32)
        zp = np.asarray(self.zero_point, dtype=np.float32)
        if self.axis is not None and scale.size > 1:
            shape = [1] * q.ndim
            shape[self.axis] = -1
            scale, zp = scale.reshape(shape), zp.reshape(shape)
        return (q.astype(np.float32) - zp) * scale

    def quantize(self, x: np.ndarray, dtype: np.dtype[Any] | str) -> np.ndarray:
        dt = np.dtype(dtype)
        scale = np.asarray(self.scale, dtype=np.float32)
        zp = np.asarray(self.zero_point, dtype=np.float32)
        if self.axis is not None and scale.size > 1:
            shape = [1] * x.ndim
            shape[self.axis] = -1
            scale, zp = scale.reshape(shape), zp.reshape(shape)
        info = np.iinfo(dt)
        q = np.round(np.asarray(x, dtype=np.float32) / scale + zp)
        return np.clip(q, info.min, info.max).astype(dt)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name: "float32", "int8", ...
    shape: tuple[Dim, ...]
    layout: str | None = None  # "NCHW", "NHWC", ... when known
    quant: QuantParams | None = field(default=None)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def dynamic_dims(self) -> list[int]:
        return [i for i, d in enumerate(self.shape) if not isinstance(d, int)]

    def concrete_shape(self, default: int = 1) -> tuple[int, ...]:
        """Shape with every symbolic/unknown dim replaced by ``default``."""
        return tuple(d if isinstance(d, int) else default for d in self.shape)

    def with_batch(self, batch: int) -> TensorSpec:
        if not self.shape:
            return self
        return replace(self, shape=(batch, *self.shape[1:]))

    def accepts(self, array: np.ndarray) -> str | None:
        """None when ``array`` fits this spec, else a reason."""
        if len(array.shape) != len(self.shape):
            return f"rank {array.ndim}, expected {len(self.shape)} (shape {self.shape_str()})"
        for got, want in zip(array.shape, self.shape):
            if isinstance(want, int) and want >= 0 and got != want:
                return f"shape {tuple(array.shape)}, expected {self.shape_str()}"
        return None

    def shape_str(self) -> str:
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"

    def nbytes(self, default_dim: int = 1) -> int:
        return int(np.prod(self.concrete_shape(default_dim), dtype=np.int64)) * np.dtype(self.dtype).itemsize


def spec_to_dict(spec: TensorSpec) -> dict[str, object]:
    quant = None if spec.quant is None else {"scale": list(spec.quant.scale),
                                             "zero_point": list(spec.quant.zero_point), "axis": spec.quant.axis}
    return {"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape), "layout": spec.layout, "quant": quant}


def spec_from_dict(data: dict[str, object]) -> TensorSpec:
    q = data.get("quant")
    quant = None
    if isinstance(q, dict):
        quant = QuantParams(tuple(q["scale"]), tuple(q["zero_point"]), q.get("axis"))
    return TensorSpec(str(data["name"]), str(data["dtype"]), tuple(data["shape"]),  # type: ignore[arg-type]
                      data.get("layout"), quant)  # type: ignore[arg-type]
