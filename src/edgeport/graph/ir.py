"""``Graph``: the format-neutral analysis IR every analysis works on.

Readers (``onnx_reader``, ``tflite_reader``) fill it; ``op_type`` keeps the format's own
operator name (``Conv`` for ONNX, ``CONV_2D`` for TFLite) and ``Graph.format`` says whose.
Shapes may hold symbolic dims (str) or unknown dims (None).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from edgeport.core.formats import Format
from edgeport.core.tensors import Dim, QuantParams

__all__ = ["Graph", "Node", "TensorInfo"]


@dataclass
class TensorInfo:
    name: str
    dtype: str | None  # numpy dtype name, None when unknown
    shape: tuple[Dim, ...] | None  # None when the rank is unknown
    is_constant: bool = False
    nbytes: int = 0  # bytes of constant data (0 for activations)
    quant: QuantParams | None = None
    value: Any = None  # numpy value of small constants (shape inputs, axes, scalars); None otherwise

    @property
    def numel(self) -> int | None:
        if self.shape is None or not all(isinstance(d, int) for d in self.shape):
            return None
        n = 1
        for d in self.shape:
            n *= int(d)  # type: ignore[arg-type]
        return n

    @property
    def is_static(self) -> bool:
        return self.shape is not None and all(isinstance(d, int) for d in self.shape)


@dataclass
class Node:
    name: str
    op_type: str
    inputs: list[str]  # "" marks an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""


@dataclass
class Graph:
    name: str
    format: Format
    nodes: list[Node]
    tensors: dict[str, TensorInfo]
    inputs: list[str]
    outputs: list[str]
    opset: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def tensor(self, name: str) -> TensorInfo | None:
        return self.tensors.get(name) if name else None

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    @cached_property
    def producers(self) -> dict[str, Node]:
        return {out: n for n in self.nodes for out in n.outputs if out}

    @cached_property
    def consumers(self) -> dict[str, list[Node]]:
        result: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    result.setdefault(i, []).append(n)
        return result

    def constants(self) -> list[TensorInfo]:
        return [t for t in self.tensors.values() if t.is_constant]

    def param_count(self) -> int:
        return sum(t.numel or 0 for t in self.constants())

    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.constants())

    def op_types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
        return counts

    def activations(self) -> list[TensorInfo]:
        """Non-constant tensors (graph inputs and intermediate values)."""
        return [t for t in self.tensors.values() if not t.is_constant]
