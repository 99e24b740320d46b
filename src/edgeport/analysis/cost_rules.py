"""Per-operator cost rules (MACs, FLOPs) and constant-input roles, keyed by format and op type.

One table per ``Format`` (ONNX op names, TFLite builtin names); a reader for another format
adds its rules with ``@cost_rule(Format.X, "OP", ...)``, ``zero_cost(Format.X, ...)`` and
``input_roles(Format.X, "OP", {index: role})`` without touching the profiler.

What is counted
---------------
* **MAC** — one multiply-accumulate of a convolution or matrix product: Conv, ConvTranspose,
  Gemm, MatMul (batched and broadcast, so attention's Q·Kᵀ and attn·V count too) and their
  quantised forms; TFLite CONV_2D, CONV_3D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED,
  BATCH_MATMUL. Bias additions are not MACs. This is what ``torch.utils.flop_counter.FlopCounterMode``
  counts (its FLOPs are 2 × these MACs).
* **FLOP** — every arithmetic operation: 2 per MAC, plus 1 per output element for a bias, plus
  the non-MAC operators below, which count 0 MACs:

  ================================  =====================================================
  pooling (Max/Average/Lp)          kernel-size operations per output element (compares or adds)
  global pooling, Reduce*           1 per input element
  BatchNormalization (inference)    2 per element (scale, shift)
  Instance/Layer/GroupNorm          7 per element (mean, subtract, square, accumulate,
                                    normalise, scale, shift)
  elementwise (Add, Mul, Relu...)   1 per output element (transcendentals included)
  Softmax / LogSoftmax              5 per element (max, subtract, exp, sum, divide)
  Resize                            nearest: 0; linear: 2·2ʳ−1; cubic: 2·4ʳ−1 per output
                                    element (r = number of resized axes)
  data movement (Reshape, Concat…)  0
  ================================  =====================================================

Constant roles
--------------
A constant input is a ``weight`` (counted as a parameter), a ``buffer`` (BatchNorm running
statistics: stored but, like PyTorch buffers, not parameters), ``quant`` (scales, zero points)
or a ``literal`` (shapes, axes, indices, scalars). Explicit roles come from ``input_roles``;
otherwise a constant is a literal when it is a scalar or integer-typed (int32/int64/bool/string),
and a weight otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgeport.core.formats import Format
from edgeport.graph.ir import Graph, Node

__all__ = ["Cost", "CostContext", "cost_rule", "input_roles", "rule_for", "roles_for", "zero_cost"]


@dataclass(frozen=True)
class Cost:
    macs: int = 0
    flops: int = 0


class CostContext:
    """Shape access for rules: symbolic dims bound to the chosen values, unknown dims read as 1.

    Reading a shape with an unknown dim marks the current node's count as inexact.
    """

    def __init__(self, graph: Graph, bindings: dict[str, int]) -> None:
        self.graph = graph
        self.bindings = bindings
        self.exact = True

    def shape(self, name: str) -> tuple[int, ...] | None:
        t = self.graph.tensor(name)
        if t is None or t.shape is None:
            self.exact = False
            return None
        out: list[int] = []
        for d in t.shape:
            if isinstance(d, int) and d >= 0:
                out.append(d)
            elif isinstance(d, str) and d in self.bindings:
                out.append(self.bindings[d])
            else:
                self.exact = False
                out.append(1)
        return tuple(out)

    def numel(self, name: str) -> int:
        shape = self.shape(name)
        if shape is None:
            return 0
        n = 1
        for d in shape:
            n *= d
        return n

    def out_numel(self, node: Node, index: int = 0) -> int:
        return self.numel(node.outputs[index]) if len(node.outputs) > index else 0

    def has_input(self, node: Node, index: int) -> bool:
        return len(node.inputs) > index and bool(node.inputs[index])


Rule = Callable[[Node, CostContext], Cost]
_RULES: dict[Format, dict[str, Rule]] = {}
_ZERO: dict[Format, set[str]] = {}
_ROLES: dict[Format, dict[str, dict[int, str]]] = {}


def cost_rule(fmt: Format, *op_types: str) -> Callable[[Rule], Rule]:
    """Register ``rule`` as the cost of ``op_types`` in ``fmt``."""
    def deco(rule: Rule) -> Rule:
        for op in op_types:
            _RULES.setdefault(fmt, {})[op] = rule
        return rule
    return deco


def zero_cost(fmt: Format, *op_types: str) -> None:
    """Declare ``op_types`` as pure data movement (0 MACs, 0 FLOPs)."""
    _ZERO.setdefault(fmt, set()).update(op_types)


def input_roles(fmt: Format, op_type: str, roles: dict[int, str]) -> None:
    """Declare the role of constant inputs by index: weight | buffer | quant | literal."""
    _ROLES.setdefault(fmt, {})[op_type] = roles


def rule_for(fmt: Format, op_type: str) -> Rule | None:
    """The cost rule of an op; ``None`` for an op with no rule (counted 0 and reported)."""
    rule = _RULES.get(fmt, {}).get(op_type)
    if rule is None and op_type in _ZERO.get(fmt, set()):
        return _zero
    return rule


def roles_for(fmt: Format, op_type: str) -> dict[int, str]:
    return _ROLES.get(fmt, {}).get(op_type, {})


def _zero(node: Node, ctx: CostContext) -> Cost:
    return Cost()


def _prod(values: tuple[int, ...] | list[int]) -> int:
    n = 1
    for v in values:
        n *= int(v)
    return n


def _with_bias(macs: int, bias_elems: int) -> Cost:
    return Cost(macs, 2 * macs + bias_elems)


def per_element(flops_per_element: int, *, of: str = "output") -> Rule:
    """A rule costing ``flops_per_element`` FLOPs per output (or input) element, 0 MACs."""
    def rule(node: Node, ctx: CostContext) -> Cost:
        n = ctx.out_numel(node) if of == "output" else ctx.numel(node.inputs[0])
        return Cost(0, flops_per_element * n)
    return rule


# =========================================================================== ONNX

ONNX = Format.ONNX


@cost_rule(ONNX, "Conv", "ConvInteger", "QLinearConv", "FusedConv")
def _onnx_conv(node: Node, ctx: CostContext) -> Cost:
    """MACs = output elements × (input channels / groups) × kernel elements, any spatial rank."""
    w_index, b_index = {"ConvInteger": (1, -1), "QLinearConv": (3, 8)}.get(node.op_type, (1, 2))
    out = ctx.out_numel(node)
    w = ctx.shape(node.inputs[w_index])
    if w is not None and len(w) >= 2:
        per_output = _prod(w[1:])
    else:  # weight shape unknown: channels of X / group × kernel_shape
        x = ctx.shape(node.inputs[0 if node.op_type != "QLinearConv" else 0])
        cin = x[1] if x is not None and len(x) > 1 else 1
        per_output = cin // int(node.attrs.get("group", 1) or 1) * _prod(node.attrs.get("kernel_shape", []))
    macs = out * per_output
    return _with_bias(macs, out if b_index >= 0 and ctx.has_input(node, b_index) else 0)


@cost_rule(ONNX, "ConvTranspose")
def _onnx_conv_transpose(node: Node, ctx: CostContext) -> Cost:
    """W is [C_in, C_out/groups, k...]: each input element meets C_out/groups × kernel weights."""
    w = ctx.shape(node.inputs[1])
    per_input = _prod(w[1:]) if w is not None and len(w) >= 2 else 1
    macs = ctx.numel(node.inputs[0]) * per_input
    return _with_bias(macs, ctx.out_numel(node) if ctx.has_input(node, 2) else 0)


def _gemm_cost(node: Node, ctx: CostContext, b_index: int, c_index: int) -> Cost:
    a, b = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[b_index])
    if a is not None and b is not None and len(a) == 2 and len(b) == 2:
        m, k = (a[1], a[0]) if int(node.attrs.get("transA", 0)) else (a[0], a[1])
        n = b[0] if int(node.attrs.get("transB", 0)) else b[1]
        out = m * n
    else:  # operand shapes unknown: fall back to the output
        out, k = ctx.out_numel(node), (a[-1] if a else 1)
    return _with_bias(out * k, out if ctx.has_input(node, c_index) else 0)


@cost_rule(ONNX, "Gemm")
def _onnx_gemm(node: Node, ctx: CostContext) -> Cost:
    """Y[M,N] = A[M,K]·B[K,N] (+C): M·N·K MACs; C adds M·N FLOPs."""
    return _gemm_cost(node, ctx, 1, 2)


@cost_rule(ONNX, "QGemm")
def _onnx_qgemm(node: Node, ctx: CostContext) -> Cost:
    """com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp; as Gemm."""
    return _gemm_cost(node, ctx, 3, 6)


@cost_rule(ONNX, "MatMul", "MatMulInteger", "QLinearMatMul")
def _onnx_matmul(node: Node, ctx: CostContext) -> Cost:
    """numpy matmul semantics: output elements (batch dims broadcast) × K, K = A's last dim."""
    a = ctx.shape(node.inputs[0])
    k = a[-1] if a else 1
    return Cost(ctx.out_numel(node) * k, 2 * ctx.out_numel(node) * k)


@cost_rule(ONNX, "MaxPool", "AveragePool", "LpPool", "MaxRoiPool")
def _onnx_pool(node: Node, ctx: CostContext) -> Cost:
    """Comparisons/additions: kernel elements per output element; 0 MACs."""
    return Cost(0, ctx.out_numel(node) * _prod(node.attrs.get("kernel_shape", []) or [1]))


_REDUCE = ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceSum", "ReduceMax",
           "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
           "ReduceSumSquare", "ArgMax", "ArgMin")
cost_rule(ONNX, *_REDUCE)(per_element(1, of="input"))
cost_rule(ONNX, "BatchNormalization")(per_element(2))
cost_rule(ONNX, "InstanceNormalization", "LayerNormalization", "GroupNormalization",
          "MeanVarianceNormalization", "LpNormalization", "SimplifiedLayerNormalization",
          "RMSNormalization")(per_element(7))
cost_rule(ONNX, "Softmax", "LogSoftmax", "Hardmax")(per_element(5))
cost_rule(ONNX, "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Mean", "Sum", "Relu", "LeakyRelu",
          "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus",
          "Softsign", "Mish", "Swish", "Clip", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "Sin",
          "Cos", "Tan", "Floor", "Ceil", "Round", "Sign", "ThresholdedRelu", "Shrink", "Where", "Equal",
          "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
          "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Dropout", "CumSum",
          "BitShift", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
          "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu")(per_element(1))
cost_rule(ONNX, "QLinearGlobalAveragePool", "QLinearReduceMean")(per_element(1, of="input"))
cost_rule(ONNX, "QLinearSoftmax")(per_element(5))


@cost_rule(ONNX, "QLinearAveragePool")
def _onnx_qpool(node: Node, ctx: CostContext) -> Cost:
    return Cost(0, ctx.out_numel(node) * _prod(node.attrs.get("kernel_shape", []) or [1]))


@cost_rule(ONNX, "Resize", "Upsample")
def _onnx_resize(node: Node, ctx: CostContext) -> Cost:
    """nearest: 0; linear: 2·2ʳ−1; cubic: 2·4ʳ−1 FLOPs per output element (r = resized axes)."""
    mode = str(node.attrs.get("mode", "nearest"))
    if mode == "nearest":
        return Cost()
    x, y = ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    r = sum(1 for a, b in zip(x, y) if a != b) if x is not None and y is not None and len(x) == len(y) else 2
    taps = (4 if mode == "cubic" else 2) ** r
    return Cost(0, ctx.out_numel(node) * (2 * taps - 1))


zero_cost(ONNX, "Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Gather", "GatherElements",
          "GatherND", "Squeeze", "Unsqueeze", "Shape", "Size", "Constant", "ConstantOfShape", "Identity", "Cast",
          "CastLike", "Pad", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "ScatterND", "ScatterElements",
          "Range", "NonZero", "TopK", "OneHot", "EyeLike", "Trilu", "ReverseSequence", "Compress",
          "SequenceConstruct", "SplitToSequence", "ConcatFromSequence", "Optional", "OptionalGetElement",
          "QLinearConcat")

input_roles(ONNX, "Conv", {1: "weight", 2: "weight"})
input_roles(ONNX, "FusedConv", {1: "weight", 2: "weight"})
input_roles(ONNX, "ConvTranspose", {1: "weight", 2: "weight"})
input_roles(ONNX, "ConvInteger", {1: "weight", 2: "quant", 3: "quant"})
input_roles(ONNX, "Gemm", {0: "weight", 1: "weight", 2: "weight"})
input_roles(ONNX, "MatMul", {0: "weight", 1: "weight"})
input_roles(ONNX, "MatMulInteger", {0: "weight", 1: "weight", 2: "quant", 3: "quant"})
input_roles(ONNX, "QLinearConv", {1: "quant", 2: "quant", 3: "weight", 4: "quant", 5: "quant", 6: "quant",
                                  7: "quant", 8: "weight"})
input_roles(ONNX, "QLinearMatMul", {0: "weight", 1: "quant", 2: "quant", 3: "weight", 4: "quant", 5: "quant",
                                    6: "quant", 7: "quant"})
input_roles(ONNX, "QGemm", {1: "quant", 2: "quant", 3: "weight", 4: "quant", 5: "quant", 6: "weight",
                            7: "quant", 8: "quant"})
input_roles(ONNX, "BatchNormalization", {1: "weight", 2: "weight", 3: "buffer", 4: "buffer"})
input_roles(ONNX, "QuantizeLinear", {1: "quant", 2: "quant"})
input_roles(ONNX, "DequantizeLinear", {0: "weight", 1: "quant", 2: "quant"})
input_roles(ONNX, "Reshape", {1: "literal"})
input_roles(ONNX, "Resize", {1: "literal", 2: "literal", 3: "literal"})
input_roles(ONNX, "Clip", {1: "literal", 2: "literal"})
input_roles(ONNX, "Shape", {0: "literal"})  # reads only the shape
input_roles(ONNX, "Size", {0: "literal"})


# =========================================================================== TFLite
# Weight layouts (TFLite schema): CONV_2D filter [O, H, W, I/groups]; DEPTHWISE_CONV_2D filter
# [1, H, W, C·M]; CONV_3D filter [D, H, W, I, O]; FULLY_CONNECTED weights [out, in];
# TRANSPOSE_CONV inputs (output_shape, filter [O, H, W, I], input, bias).

TFLITE = Format.TFLITE


@cost_rule(TFLITE, "CONV_2D")
def _tfl_conv(node: Node, ctx: CostContext) -> Cost:
    w = ctx.shape(node.inputs[1])
    out = ctx.out_numel(node)
    macs = out * (_prod(w[1:]) if w is not None and len(w) == 4 else 1)
    return _with_bias(macs, out if ctx.has_input(node, 2) else 0)


@cost_rule(TFLITE, "CONV_3D")
def _tfl_conv3d(node: Node, ctx: CostContext) -> Cost:
    w = ctx.shape(node.inputs[1])
    out = ctx.out_numel(node)
    macs = out * (_prod(w[:-1]) if w is not None and len(w) == 5 else 1)
    return _with_bias(macs, out if ctx.has_input(node, 2) else 0)


@cost_rule(TFLITE, "DEPTHWISE_CONV_2D")
def _tfl_depthwise(node: Node, ctx: CostContext) -> Cost:
    w = ctx.shape(node.inputs[1])
    out = ctx.out_numel(node)
    macs = out * (w[1] * w[2] if w is not None and len(w) == 4 else 1)
    return _with_bias(macs, out if ctx.has_input(node, 2) else 0)


@cost_rule(TFLITE, "FULLY_CONNECTED")
def _tfl_fully_connected(node: Node, ctx: CostContext) -> Cost:
    w = ctx.shape(node.inputs[1])
    out = ctx.out_numel(node)
    macs = out * (w[-1] if w else 1)
    return _with_bias(macs, out if ctx.has_input(node, 2) else 0)


@cost_rule(TFLITE, "TRANSPOSE_CONV", "CONV_3D_TRANSPOSE")
def _tfl_transpose_conv(node: Node, ctx: CostContext) -> Cost:
    w = ctx.shape(node.inputs[1])
    if node.op_type == "TRANSPOSE_CONV":  # filter [O, H, W, I]
        per_input = w[0] * w[1] * w[2] if w is not None and len(w) == 4 else 1
    else:  # CONV_3D_TRANSPOSE filter [D, H, W, O, I]
        per_input = _prod(w[:-1]) if w is not None and len(w) == 5 else 1
    macs = ctx.numel(node.inputs[2]) * per_input
    return _with_bias(macs, ctx.out_numel(node) if ctx.has_input(node, 3) else 0)


@cost_rule(TFLITE, "BATCH_MATMUL")
def _tfl_batch_matmul(node: Node, ctx: CostContext) -> Cost:
    x = ctx.shape(node.inputs[0])
    adj_x = bool(node.attrs.get("adj_x", node.attrs.get("adjoint_lhs", False)))
    k = (x[-2] if adj_x else x[-1]) if x is not None and len(x) >= 2 else 1
    return Cost(ctx.out_numel(node) * k, 2 * ctx.out_numel(node) * k)


@cost_rule(TFLITE, "MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D")
def _tfl_pool(node: Node, ctx: CostContext) -> Cost:
    k = int(node.attrs.get("filter_height", 1) or 1) * int(node.attrs.get("filter_width", 1) or 1)
    return Cost(0, ctx.out_numel(node) * k)


cost_rule(TFLITE, "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "ARG_MAX", "ARG_MIN")(
    per_element(1, of="input"))
cost_rule(TFLITE, "SOFTMAX", "LOG_SOFTMAX")(per_element(5))
cost_rule(TFLITE, "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION")(per_element(7))
cost_rule(TFLITE, "ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM", "RELU", "RELU6", "RELU_N1_TO_1",
          "RELU_0_TO_1", "LEAKY_RELU", "PRELU", "ELU", "GELU", "LOGISTIC", "TANH", "HARD_SWISH", "EXP", "LOG",
          "SQRT", "RSQRT", "SQUARE", "SQUARED_DIFFERENCE", "NEG", "ABS", "SIN", "COS", "FLOOR", "CEIL", "ROUND",
          "SIGN", "FLOOR_DIV", "FLOOR_MOD", "ADD_N", "SELECT", "SELECT_V2", "EQUAL", "NOT_EQUAL", "LESS",
          "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT", "QUANTIZE",
          "DEQUANTIZE", "CUMSUM")(per_element(1))


@cost_rule(TFLITE, "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _tfl_resize(node: Node, ctx: CostContext) -> Cost:
    return Cost() if node.op_type == "RESIZE_NEAREST_NEIGHBOR" else Cost(0, ctx.out_numel(node) * 7)


zero_cost(TFLITE, "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "TRANSPOSE",
          "SLICE", "STRIDED_SLICE", "GATHER", "GATHER_ND", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "SHAPE", "CAST",
          "TILE", "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND",
          "FILL", "ZEROS_LIKE", "ONES_LIKE", "RANGE", "REVERSE_V2", "SCATTER_ND", "TOPK_V2", "ONE_HOT",
          "EMBEDDING_LOOKUP")

for _op in ("CONV_2D", "CONV_3D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
    input_roles(TFLITE, _op, {1: "weight", 2: "weight"})
input_roles(TFLITE, "TRANSPOSE_CONV", {0: "literal", 1: "weight", 3: "weight"})
input_roles(TFLITE, "CONV_3D_TRANSPOSE", {0: "literal", 1: "weight", 3: "weight"})
input_roles(TFLITE, "BATCH_MATMUL", {0: "weight", 1: "weight"})
input_roles(TFLITE, "EMBEDDING_LOOKUP", {0: "literal", 1: "weight"})
