"""The op class of a node: what the cost model fits one efficiency and one overhead for.

Classes group canonical ops (``analysis.canonical``) whose kernels behave alike on a CPU or an
accelerator: dense convolutions, depthwise convolutions, matrix products, elementwise arithmetic and
normalisation, piecewise-linear activations (ReLU, clip, hard-swish), transcendental ones (sigmoid,
tanh, GELU, exp, softmax: an order of magnitude dearer per element), a softmax over an axis that is not the
innermost one (``strided_softmax``: each row is gathered across strides, so per element it cost 20-30× a softmax
over the last axis on ONNX Runtime's CPU kernels: 10 ns against 0.5 ns per element on a Zen3 core), pooling and
reductions, data movement (reshape, transpose, concat, pad, gather, resize…), control flow, and anything else.
"""

from __future__ import annotations

from edgeport.analysis.canonical import canonical_op
from edgeport.graph.ir import Graph, Node

__all__ = ["CLASS_OF", "MAC_CLASSES", "op_class"]

MAC_CLASSES = ("conv", "depthwise_conv", "matmul")  # compute is MACs; every other class counts FLOPs

_GROUPS = {
    "conv": ("conv", "conv3d", "conv_transpose"),
    "depthwise_conv": ("depthwise_conv",),
    "matmul": ("fully_connected", "matmul", "einsum", "lstm"),
    "elementwise": ("add", "sub", "mul", "div", "pow", "sqrt", "rsqrt", "abs", "neg", "floor",
                    "minimum", "maximum", "squared_difference", "batch_norm", "layer_norm", "instance_norm",
                    "l2_norm", "lrn", "where", "compare", "logical", "cast", "quantize", "dequantize", "cumsum"),
    "activation": ("relu", "relu6", "leaky_relu", "prelu", "hard_swish", "hard_sigmoid"),
    "transcendental": ("exp", "log", "elu", "sigmoid", "tanh", "gelu", "erf", "softmax", "log_softmax"),
    "pool_reduce": ("max_pool", "avg_pool", "mean", "reduce_max", "reduce_min", "reduce_sum", "reduce_prod",
                    "argmax", "topk"),
    "data_movement": ("reshape", "identity", "transpose", "concat", "pack", "unpack", "split", "slice", "pad",
                      "gather", "gather_nd", "scatter", "resize", "depth_to_space", "space_to_depth", "tile",
                      "expand", "shape", "constant"),
    "control_flow": ("control_flow", "nms", "nonzero"),
}
CLASS_OF = {op: cls for cls, ops in _GROUPS.items() for op in ops}


def op_class(graph: Graph, node: Node) -> str:
    """The op class of ``node`` (``other`` for ops the canonical table does not name)."""
    op = canonical_op(graph, node)
    if op in ("softmax", "log_softmax") and _strided(graph, node):
        return "strided_softmax"
    return CLASS_OF.get(op, "other")


def _strided(graph: Graph, node: Node) -> bool:
    """Does this softmax normalise over an axis with more than one element after it? ONNX from opset 13 only:
    older ONNX softmaxes flatten the dims from ``axis`` on into one row, and TFLite's is over the last axis."""
    from edgeport.core.formats import Format

    if graph.format is not Format.ONNX or (graph.opset or 13) < 13 or not node.inputs:
        return False
    t = graph.tensor(node.inputs[0])
    if t is None or t.shape is None or not t.shape:
        return False
    axis = int(node.attrs.get("axis", -1))
    axis = axis + len(t.shape) if axis < 0 else axis
    inner = t.shape[axis + 1:]
    return 0 <= axis < len(t.shape) and any(not isinstance(d, int) or d > 1 for d in inner)
