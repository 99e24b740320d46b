"""The calibration family: small ONNX networks spanning op mixes, sizes and precisions.

Built with ``onnx.helper`` from seeded random weights (no training, no download), so a calibration
anywhere measures the same networks. Each spec names one op mix at one size; together they give every
op class the cost model fits something to measure, from a few-µs network where the per-invoke floor
dominates to a few-ms convolution stack where compute does. The int8 members are QDQ graphs
(QuantizeLinear/DequantizeLinear around each convolution or matrix product), which ONNX Runtime runs
as its integer kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._optional import require

__all__ = ["FAMILY", "REFERENCE", "NetSpec", "build_family", "build_net"]


@dataclass(frozen=True)
class NetSpec:
    name: str
    kind: str  # conv | dwsep | mlp | eltwise | act | pool | move | mixed
    size: int  # spatial size (images) or width (vectors)
    channels: int
    depth: int
    int8: bool = False


FAMILY: tuple[NetSpec, ...] = (
    NetSpec("conv-c8-s32-d2", "conv", 32, 8, 2), NetSpec("conv-c16-s32-d3", "conv", 32, 16, 3),
    NetSpec("conv-c32-s16-d2", "conv", 16, 32, 2), NetSpec("conv-c32-s56-d2", "conv", 56, 32, 2),
    NetSpec("conv-c64-s28-d3", "conv", 28, 64, 3), NetSpec("conv-c16-s112-d1", "conv", 112, 16, 1),
    NetSpec("dwsep-c32-s56-d2", "dwsep", 56, 32, 2), NetSpec("dwsep-c64-s28-d3", "dwsep", 28, 64, 3),
    NetSpec("dwsep-c128-s14-d2", "dwsep", 14, 128, 2), NetSpec("dwsep-c16-s112-d1", "dwsep", 112, 16, 1),
    NetSpec("mlp-w64-d2", "mlp", 64, 1, 2), NetSpec("mlp-w256-d3", "mlp", 256, 1, 3),
    NetSpec("mlp-w1024-d2", "mlp", 1024, 1, 2), NetSpec("mlp-w512-d4", "mlp", 512, 1, 4),
    NetSpec("eltwise-c16-s32-d4", "eltwise", 32, 16, 4), NetSpec("eltwise-c32-s64-d6", "eltwise", 64, 32, 6),
    NetSpec("eltwise-c64-s112-d3", "eltwise", 112, 64, 3),
    NetSpec("act-c16-s32-d3", "act", 32, 16, 3), NetSpec("act-c32-s64-d4", "act", 64, 32, 4),
    NetSpec("pool-c16-s64-d2", "pool", 64, 16, 2), NetSpec("pool-c64-s56-d3", "pool", 56, 64, 3),
    NetSpec("move-c16-s32-d3", "move", 32, 16, 3), NetSpec("move-c64-s56-d2", "move", 56, 64, 2),
    NetSpec("mixed-c16-s32-d2", "mixed", 32, 16, 2), NetSpec("mixed-c32-s64-d3", "mixed", 64, 32, 3),
    NetSpec("mixed-c64-s28-d4", "mixed", 28, 64, 4),
    NetSpec("conv-c32-s28-d2-int8", "conv", 28, 32, 2, True), NetSpec("conv-c64-s56-d2-int8", "conv", 56, 64, 2, True),
    NetSpec("dwsep-c64-s28-d2-int8", "dwsep", 28, 64, 2, True), NetSpec("mlp-w512-d3-int8", "mlp", 512, 1, 3, True),
    NetSpec("mixed-c32-s32-d3-int8", "mixed", 32, 32, 3, True), NetSpec("mlp-w128-d2-int8", "mlp", 128, 1, 2, True),
)


# Out-of-family reference nets (not calibrated on by default): ResNet-18 and MobileNetV2 topologies at
# batch 1 with seeded weights, for judging the predictor on networks shaped like real ones.
REFERENCE: tuple[NetSpec, ...] = (
    NetSpec("resnet18-s224", "resnet18", 224, 3, 0), NetSpec("resnet18-s112", "resnet18", 112, 3, 0),
    NetSpec("mobilenetv2-s224", "mobilenetv2", 224, 3, 0), NetSpec("mobilenetv2-s128", "mobilenetv2", 128, 3, 0),
)


class _Builder:
    """Appends nodes and seeded initializers; ``q`` puts a QDQ pair in front of a float tensor (int8 nets)."""

    def __init__(self, spec: NetSpec, seed: int) -> None:
        self.onnx = require("onnx", "onnx", "building the calibration networks")
        self.h = self.onnx.helper
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, arr: np.ndarray, base: str = "w") -> str:
        name = self.name(base)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.h.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def q(self, x: str) -> str:
        """x → QuantizeLinear → DequantizeLinear (int8 nets only)."""
        if not self.spec.int8:
            return x
        s, z = self.const(np.array(0.05, np.float32), "s"), self.const(np.array(0, np.int8), "z")
        return self.op("DequantizeLinear", [self.op("QuantizeLinear", [x, s, z]), s, z])

    def weight(self, shape: tuple[int, ...]) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        w = (self.rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(np.float32)
        if not self.spec.int8:
            return self.const(w)
        scale = float(np.abs(w).max() / 127 or 1.0)
        wq = self.const(np.clip(np.round(w / scale), -127, 127).astype(np.int8), "wq")
        return self.op("DequantizeLinear", [wq, self.const(np.array(scale, np.float32), "s"),
                                            self.const(np.array(0, np.int8), "z")])

    def conv(self, x: str, cin: int, cout: int, k: int = 3, group: int = 1, stride: int = 1) -> str:
        w = self.weight((cout, cin // group, k, k))
        b = self.const(np.zeros(cout, np.float32), "b")
        return self.op("Conv", [self.q(x), w, b], kernel_shape=[k, k], pads=[k // 2] * 4, group=group,
                       strides=[stride, stride])

    def gemm(self, x: str, cin: int, cout: int) -> str:
        return self.op("Gemm", [self.q(x), self.weight((cout, cin)), self.const(np.zeros(cout, np.float32), "b")],
                       transB=1)


def _head(b: _Builder, x: str, c: int) -> tuple[str, list[int]]:
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1)
    return b.gemm(x, c, 1000), [1, 1000]


def _resnet18(b: _Builder, x: str) -> tuple[str, list[int]]:
    x = b.op("Relu", [b.conv(x, 3, 64, 7, stride=2)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage and not block else 1
            y = b.op("Relu", [b.conv(x, cin, cout, 3, stride=stride)])
            y = b.conv(y, cout, cout, 3)
            skip = b.conv(x, cin, cout, 1, stride=stride) if stride != 1 or cin != cout else x
            x, cin = b.op("Relu", [b.op("Add", [y, skip])]), cout
    return _head(b, x, 512)


def _mobilenetv2(b: _Builder, x: str) -> tuple[str, list[int]]:
    def relu6(t: str) -> str:
        return b.op("Clip", [t, b.const(np.array(0, np.float32), "lo"), b.const(np.array(6, np.float32), "hi")])

    x = relu6(b.conv(x, 3, 32, 3, stride=2))
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = relu6(b.conv(x, cin, hidden, 1)) if t != 1 else x
            y = relu6(b.conv(y, hidden, hidden, 3, group=hidden, stride=stride))
            y = b.conv(y, hidden, c, 1)
            x = b.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    return _head(b, relu6(b.conv(x, cin, 1280, 1)), 1280)


def _body(b: _Builder, x: str) -> tuple[str, list[int]]:
    """The network for ``b.spec`` on input ``x``; returns (output, output shape)."""
    s = b.spec
    c, size = s.channels, s.size
    if s.kind == "resnet18":
        return _resnet18(b, x)
    if s.kind == "mobilenetv2":
        return _mobilenetv2(b, x)
    if s.kind == "mlp":
        for _ in range(s.depth):
            x = b.op("Relu", [b.gemm(x, size, size)])
        return x, [1, size]
    if s.kind == "conv":
        for _ in range(s.depth):
            x = b.op("Relu", [b.conv(x, c, c)])
    elif s.kind == "dwsep":
        for _ in range(s.depth):
            x = b.op("Clip", [b.conv(x, c, c, 3, group=c), b.const(np.array(0, np.float32), "lo"),
                              b.const(np.array(6, np.float32), "hi")])
            x = b.op("Relu", [b.conv(x, c, c, 1)])
    elif s.kind == "eltwise":
        for i in range(s.depth):
            other = b.const(b.rng.standard_normal((1, c, 1, 1)).astype(np.float32), "k")
            x = b.op(("Add", "Mul", "Sub", "Div")[i % 4], [x, other] if i % 4 != 3 else [x, b.op("Abs", [other])])
    elif s.kind == "act":
        for i in range(s.depth):
            x = b.op(("Sigmoid", "Tanh", "Relu", "HardSwish")[i % 4], [x])
        x = b.op("Softmax", [x], axis=1)
    elif s.kind == "pool":
        for _ in range(s.depth):
            x = b.op("MaxPool", [x], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
            x = b.op("AveragePool", [x], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
        x = b.op("ReduceMean", [x], axes=[2, 3], keepdims=1)
        return x, [1, c, 1, 1]
    elif s.kind == "move":
        for _ in range(s.depth):
            t = b.op("Transpose", [x], perm=[0, 1, 3, 2])
            x = b.op("Concat", [x, t], axis=1)
            x = b.op("Slice", [x, b.const(np.array([0], np.int64), "st"), b.const(np.array([c], np.int64), "en"),
                               b.const(np.array([1], np.int64), "ax")])
            x = b.op("Pad", [x, b.const(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pd")])
            x = b.op("Slice", [x, b.const(np.array([1, 1], np.int64), "st"),
                               b.const(np.array([size + 1, size + 1], np.int64), "en"),
                               b.const(np.array([2, 3], np.int64), "ax")])
    elif s.kind == "mixed":
        for i in range(s.depth):
            y = b.op("Relu", [b.conv(x, c, c)])
            x = b.op("Add", [x, y]) if i % 2 else b.op("Sigmoid", [y])
        x = b.op("GlobalAveragePool", [x])
        x = b.op("Flatten", [x], axis=1)
        x = b.op("Softmax", [b.gemm(x, c, 10)], axis=1)
        return x, [1, 10]
    return x, [1, c, size, size]


def build_net(spec: NetSpec, path: Path, seed: int = 0) -> Path:
    """Write the network ``spec`` describes to ``path`` (ONNX, opset 17, IR 10)."""
    b = _Builder(spec, seed)
    h = b.h
    shape = [1, spec.size] if spec.kind == "mlp" else [1, spec.channels, spec.size, spec.size]
    out, out_shape = _body(b, "x")
    graph = h.make_graph(b.nodes, spec.name, [h.make_tensor_value_info("x", b.onnx.TensorProto.FLOAT, shape)],
                         [h.make_tensor_value_info(out, b.onnx.TensorProto.FLOAT, out_shape)], b.inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], ir_version=10,
                         producer_name="edgeport-calibration")
    b.onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    b.onnx.save(model, str(tmp))
    tmp.replace(path)
    return path


def build_family(out_dir: Path, specs: tuple[NetSpec, ...] = FAMILY,
                 keep: Callable[[NetSpec], bool] | None = None) -> list[Path]:
    """Every network of ``specs`` (those ``keep`` accepts) as ``out_dir/<name>.onnx``."""
    return [build_net(s, Path(out_dir) / f"{s.name}.onnx", seed=i) for i, s in enumerate(specs)
            if keep is None or keep(s)]
