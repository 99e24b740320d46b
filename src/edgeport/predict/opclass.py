"""The op class of a node: what the cost model fits one efficiency and one overhead for.

Classes group canonical ops (``analysis.canonical``) whose kernels behave alike on a CPU or an
accelerator: dense convolutions, depthwise convolutions, matrix products, elementwise arithmetic and
normalisation, piecewise-linear activations (ReLU, clip, hard-swish), transcendental ones (sigmoid,
tanh, GELU, exp, softmax: an order of magnitude dearer per element), pooling and reductions, data movement (reshape,
transpose, concat, pad, gather, resize…), control flow, and anything else.
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
    return CLASS_OF.get(canonical_op(graph, node), "other")
