"""Lower an int8 TFLite graph to calls of edgeport's C kernels (``_mcu_c/ep_kernels.c``).

Everything TFLite computes in a kernel's ``Prepare`` — requantisation multipliers and shifts
(``QuantizeMultiplier``: frexp, round half away from zero, in double), activation ranges, SAME
padding, broadcast strides — is computed here once, so the C kernels only do what TFLite's
reference ``Eval`` does, and the generated code holds every parameter as a ``const`` struct.

Each op becomes a ``Call``: the C statement, the declarations it needs (parameter struct,
per-channel arrays) and the activation tensors it reads and writes (their arena offsets come
from the planner).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
import numpy as np

from edgeport.errors import UnsupportedError
from edgeport.graph.ir import Graph, Node

__all__ = ["SUPPORTED_OPS", "Call", "Lowering", "act_range", "carray", "quantize_multiplier"]


@dataclass
class Call:
    node: str
    op: str
    statement: str
    decls: list[str] = field(default_factory=list)
    scratch_bytes: int = 0  # int32 scratch the kernel needs in the arena while it runs (MEAN)
    rows_statement: str = ""  # windowed ops: the statement for output rows {lo}..{hi} (fused pairs)


def _round_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``m ≈ q · 2^(shift-31)`` with ``q`` in [2^30, 2^31)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    fixed = _round_away(q * (1 << 31))
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return (1 << 31) - 1, 30
    return fixed, shift


def _f32(x: float) -> np.float32:
    return np.float32(x)


def act_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for int8 (``zp + round(f / scale)`` in float)."""

    def q(f: float) -> int:
        return zero_point + _round_away(float(_f32(f) / _f32(scale)))

    lo, hi = -128, 127
    if activation == "RELU":
        return max(lo, q(0.0)), hi
    if activation == "RELU6":
        return max(lo, q(0.0)), min(hi, q(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, q(-1.0)), min(hi, q(1.0))
    if activation in ("NONE", "", None):
        return lo, hi
    raise UnsupportedError(f"fused activation {activation} has no int8 kernel here",
                           fix="convert the model with the TFLite Micro path instead (edgeport fit / tflm)")


def _padding(padding: str, stride: int, dilation: int, in_size: int, k: int, out_size: int) -> int:
    if padding != "SAME":
        return 0
    effective = (k - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(total, 0) // 2


def carray(ctype: str, name: str, values: np.ndarray, *, per_line: int = 24) -> str:
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    if not flat:
        flat = [0]
    rows = [", ".join(str(v) for v in flat[i:i + per_line]) for i in range(0, len(flat), per_line)]
    body = ",\n    ".join(rows)
    return f"static const {ctype} {name}[{len(flat)}] = {{\n    {body}\n}};"


class Lowering:
    """Per-op lowering over one graph and its constants; ``tensor_ref`` names a tensor's C pointer."""

    def __init__(self, graph: Graph, constants: dict[str, np.ndarray], tensor_ref: Callable[[str], str],
                 rings: dict[str, int] | None = None) -> None:
        self.graph = graph
        self.constants = constants
        self.ref = tensor_ref
        self.rings = rings or {}  # tensor -> rows of its line buffer (a fused pair's intermediate)

    def _rows(self, fn: str, key: str, x: str, y: str) -> tuple[str, str]:
        """The whole-op statement and the row-range one; the ring sizes of ``x`` and ``y`` end the params."""
        return (f"{fn}(&{key}_p, {self.ref(x)}, {self.ref(y)});",
                f"{fn}_rows(&{key}_p, {self.ref(x)}, {self.ref(y)}, {{lo}}, {{hi}});")

    def _ring_fields(self, x: str, y: str) -> str:
        return f"{self.rings.get(x, 0)}, {self.rings.get(y, 0)}"

    # ---- tensor facts -----------------------------------------------------------------------
    def dims(self, name: str) -> tuple[int, ...]:
        t = self.graph.tensors[name]
        return tuple(d if isinstance(d, int) and d > 0 else 1 for d in (t.shape or ()))

    def numel(self, name: str) -> int:
        return int(np.prod(self.dims(name), dtype=np.int64)) if self.dims(name) else 1

    def qp(self, name: str) -> tuple[float, int]:
        q = self.graph.tensors[name].quant
        if q is None:
            raise UnsupportedError(f"tensor {name!r} has no quantisation parameters",
                                   fix="the MCU path needs a full-integer int8 model (edgeport quantize MODEL "
                                       "--precision int8)")
        return float(q.scale[0]), int(q.zero_point[0])

    def scales(self, name: str) -> list[float]:
        q = self.graph.tensors[name].quant
        return [float(s) for s in q.scale] if q is not None else [1.0]

    def const(self, name: str) -> np.ndarray:
        return self.constants[name]

    # ---- dispatch -----------------------------------------------------------------------------
    def lower(self, index: int, node: Node) -> Call:
        fn = _LOWER[node.op_type]
        return fn(self, f"n{index}", node)

    # ---- ops ----------------------------------------------------------------------------------
    def _per_channel(self, key: str, node: Node, in_name: str, w_name: str, out_name: str,
                     channels: int) -> tuple[list[str], str, str]:
        s_in, _ = self.qp(in_name)
        s_out, _ = self.qp(out_name)
        ws = self.scales(w_name)
        if len(ws) == 1:
            ws = ws * channels
        pairs = [quantize_multiplier(s_in * w / s_out) for w in ws]
        mult = np.array([m for m, _ in pairs], dtype=np.int64)
        shift = np.array([s for _, s in pairs], dtype=np.int64)
        return ([carray("int32_t", f"{key}_mult", mult), carray("int32_t", f"{key}_shift", shift)],
                f"{key}_mult", f"{key}_shift")

    def _weights(self, key: str, node: Node, w_name: str, b_name: str) -> tuple[list[str], str]:
        decls = [carray("int8_t", f"{key}_w", self.const(w_name))]
        bias = "NULL"
        if b_name and b_name in self.constants:
            decls.append(carray("int32_t", f"{key}_b", self.const(b_name)))
            bias = f"{key}_b"
        return decls, bias

    def _conv_common(self, key: str, node: Node, ih: int, iw: int, kh: int, kw: int,
                     oc: int) -> tuple[int, int, str, list[str], str, str, str]:
        """What a conv and a depthwise conv share: output size, "strides, dilations, padding, zero points,
        activation range" as C initialiser fields, and the weight, bias and per-channel requantisation arrays."""
        x, w, b = (node.inputs + [""])[:3]
        y = node.outputs[0]
        _, oh, ow, _ = self.dims(y)
        a = node.attrs
        sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
        dh, dw = int(a.get("dilation_h_factor", 1)), int(a.get("dilation_w_factor", 1))
        ph = _padding(a.get("padding", "VALID"), sh, dh, ih, kh, oh)
        pw = _padding(a.get("padding", "VALID"), sw, dw, iw, kw, ow)
        _, zin = self.qp(x)
        s_out, zout = self.qp(y)
        lo, hi = act_range(a.get("fused_activation_function", "NONE"), s_out, zout)
        decls, bias = self._weights(key, node, w, b)
        q, mult, shift = self._per_channel(key, node, x, w, y, oc)
        geometry = f"{sh}, {sw}, {dh}, {dw}, {ph}, {pw}, {-zin}, {zout}, {lo}, {hi}"
        return oh, ow, geometry, decls + q, bias, mult, shift

    def conv(self, key: str, node: Node) -> Call:
        x, w = node.inputs[:2]
        y = node.outputs[0]
        n, ih, iw, ic = self.dims(x)
        oc, kh, kw, fic = self.dims(w)
        oh, ow, geometry, decls, bias, mult, shift = self._conv_common(key, node, ih, iw, kh, kw, oc)
        decls.append(f"static const ep_conv_params {key}_p = {{{n}, {ih}, {iw}, {ic}, {oh}, {ow}, {oc}, {kh}, {kw}, "
                     f"{fic}, {geometry}, {key}_w, {bias}, "
                     f"{mult}, {shift}, {self._ring_fields(x, y)}}};")
        whole, rows = self._rows("ep_conv2d", key, x, y)
        return Call(node.name, node.op_type, whole, decls, rows_statement=rows)

    def depthwise(self, key: str, node: Node) -> Call:
        x, w = node.inputs[:2]
        y = node.outputs[0]
        n, ih, iw, ic = self.dims(x)
        _, kh, kw, oc = self.dims(w)
        oh, ow, geometry, decls, bias, mult, shift = self._conv_common(key, node, ih, iw, kh, kw, oc)
        decls.append(f"static const ep_dwconv_params {key}_p = {{{n}, {ih}, {iw}, {ic}, {oh}, {ow}, {oc}, {kh}, "
                     f"{kw}, {oc // ic}, {geometry}, {key}_w, "
                     f"{bias}, {mult}, {shift}, {self._ring_fields(x, y)}}};")
        whole, rows = self._rows("ep_depthwise_conv2d", key, x, y)
        return Call(node.name, node.op_type, whole, decls, rows_statement=rows)

    def fully_connected(self, key: str, node: Node) -> Call:
        x, w, b = (node.inputs + [""])[:3]
        y = node.outputs[0]
        out_depth, in_depth = self.dims(w)
        batches = self.numel(x) // in_depth
        _, zin = self.qp(x)
        s_out, zout = self.qp(y)
        wq = self.graph.tensors[w].quant
        zw = int(wq.zero_point[0]) if wq is not None else 0
        lo, hi = act_range(node.attrs.get("fused_activation_function", "NONE"), s_out, zout)
        decls, bias = self._weights(key, node, w, b)
        per_channel = len(self.scales(w)) > 1
        q, mult, shift = self._per_channel(key, node, x, w, y, out_depth if per_channel else 1)
        decls += q
        decls.append(f"static const ep_fc_params {key}_p = {{{batches}, {in_depth}, {out_depth}, {int(per_channel)}, "
                     f"{-zin}, {-zw}, {zout}, {lo}, {hi}, {key}_w, {bias}, {mult}, {shift}}};")
        return Call(node.name, node.op_type, f"ep_fully_connected(&{key}_p, {self.ref(x)}, {self.ref(y)});", decls)

    def _broadcast(self, a: str, b: str, y: str) -> tuple[list[int], list[int], list[int]]:
        out = [1] * (4 - len(self.dims(y))) + list(self.dims(y))

        def strides(name: str) -> list[int]:
            d = [1] * (4 - len(self.dims(name))) + list(self.dims(name))
            st, acc = [0] * 4, 1
            for i in range(3, -1, -1):
                st[i] = 0 if d[i] == 1 and out[i] != 1 else acc
                acc *= d[i]
            return st

        if len(self.dims(y)) > 4:
            raise UnsupportedError(f"{y!r}: broadcasting over more than 4 dimensions", fix="reshape to 4-D or less")
        return out, strides(a), strides(b)

    def add(self, key: str, node: Node) -> Call:
        a, b = node.inputs[:2]
        y = node.outputs[0]
        (sa, za), (sb, zb), (sy, zy) = self.qp(a), self.qp(b), self.qp(y)
        left = 20
        twice_max = float(2 * max(_f32(sa), _f32(sb)))
        ma, sha = quantize_multiplier(sa / twice_max)
        mb, shb = quantize_multiplier(sb / twice_max)
        mo, sho = quantize_multiplier(twice_max / float(_f32(1 << left) * _f32(sy)))
        lo, hi = act_range(node.attrs.get("fused_activation_function", "NONE"), sy, zy)
        out, st_a, st_b = self._broadcast(a, b, y)
        decl = (f"static const ep_binary_params {key}_p = {{{{{_j(out)}}}, {{{_j(st_a)}}}, {{{_j(st_b)}}}, {-za}, "
                f"{-zb}, {zy}, {ma}, {mb}, {mo}, {sha}, {shb}, {sho}, {left}, {lo}, {hi}}};")
        return Call(node.name, node.op_type, f"ep_add(&{key}_p, {self.ref(a)}, {self.ref(b)}, {self.ref(y)});", [decl])

    def mul(self, key: str, node: Node) -> Call:
        a, b = node.inputs[:2]
        y = node.outputs[0]
        (sa, za), (sb, zb), (sy, zy) = self.qp(a), self.qp(b), self.qp(y)
        mo, sho = quantize_multiplier(sa * sb / sy)
        lo, hi = act_range(node.attrs.get("fused_activation_function", "NONE"), sy, zy)
        out, st_a, st_b = self._broadcast(a, b, y)
        decl = (f"static const ep_binary_params {key}_p = {{{{{_j(out)}}}, {{{_j(st_a)}}}, {{{_j(st_b)}}}, {-za}, "
                f"{-zb}, {zy}, 0, 0, {mo}, 0, 0, {sho}, 0, {lo}, {hi}}};")
        return Call(node.name, node.op_type, f"ep_mul(&{key}_p, {self.ref(a)}, {self.ref(b)}, {self.ref(y)});", [decl])

    def pool(self, key: str, node: Node) -> Call:
        x, y = node.inputs[0], node.outputs[0]
        n, ih, iw, c = self.dims(x)
        _, oh, ow, _ = self.dims(y)
        a = node.attrs
        kh, kw = int(a["filter_height"]), int(a["filter_width"])
        sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
        ph = _padding(a.get("padding", "VALID"), sh, 1, ih, kh, oh)
        pw = _padding(a.get("padding", "VALID"), sw, 1, iw, kw, ow)
        s_out, zout = self.qp(y)
        lo, hi = act_range(a.get("fused_activation_function", "NONE"), s_out, zout)
        fn = "ep_max_pool" if node.op_type == "MAX_POOL_2D" else "ep_avg_pool"
        decl = (f"static const ep_pool_params {key}_p = {{{n}, {ih}, {iw}, {c}, {oh}, {ow}, {kh}, {kw}, {sh}, {sw}, "
                f"{ph}, {pw}, {lo}, {hi}, {self._ring_fields(x, y)}}};")
        whole, rows = self._rows(fn, key, x, y)
        return Call(node.name, node.op_type, whole, [decl], rows_statement=rows)

    def mean(self, key: str, node: Node) -> Call:
        x, axis_name = node.inputs[:2]
        y = node.outputs[0]
        rank = len(self.dims(x))
        if rank > 4 or axis_name not in self.constants:
            raise UnsupportedError(f"MEAN {node.name}: only constant axes over at most 4-D inputs",
                                   fix="use the TFLite Micro path for this model")
        axes = sorted({int(v) % rank for v in self.const(axis_name).reshape(-1)})
        dims = [1] * (4 - rank) + list(self.dims(x))
        reduce = [0] * 4
        for ax in axes:
            reduce[ax + 4 - rank] = 1
        (s_in, z_in), (s_out, z_out) = self.qp(x), self.qp(y)
        # TFLite's QuantizedMeanOrSum: the sum less n·zero_point, rescaled once with 1/n folded into the multiplier
        mult, shift = quantize_multiplier(s_in / s_out)
        n = int(np.prod([d for d, r in zip(dims, reduce) if r], dtype=np.int64))
        k = min(n.bit_length() - 1, 32, 31 + shift)
        mult, shift = (mult << k) // n, shift - k
        decl = (f"static const ep_mean_params {key}_p = {{{{{_j(dims)}}}, {{{_j(reduce)}}}, {z_in}, {z_out}, {mult}, "
                f"{shift}}};")
        return Call(node.name, node.op_type, f"ep_mean(&{key}_p, {self.ref(x)}, {self.ref(y)}, SCRATCH_{key});",
                    [decl], scratch_bytes=4 * self.numel(y))

    def reshape(self, key: str, node: Node) -> Call:
        x, y = node.inputs[0], node.outputs[0]
        return Call(node.name, node.op_type, f"ep_copy({self.ref(x)}, {self.ref(y)}, {self.numel(y)});")

    def pad(self, key: str, node: Node) -> Call:
        x, p, y = node.inputs[0], node.inputs[1], node.outputs[0]
        rank = len(self.dims(x))
        if rank > 4 or p not in self.constants:
            raise UnsupportedError(f"PAD {node.name}: only constant paddings over at most 4-D inputs",
                                   fix="use the TFLite Micro path for this model")
        pads = self.const(p).reshape(rank, 2)
        dims = [1] * (4 - rank) + list(self.dims(x))
        pre = [0] * (4 - rank) + [int(v) for v in pads[:, 0]]
        post = [0] * (4 - rank) + [int(v) for v in pads[:, 1]]
        _, z_out = self.qp(y)
        decl = f"static const ep_pad_params {key}_p = {{{{{_j(dims)}}}, {{{_j(pre)}}}, {{{_j(post)}}}, {z_out}}};"
        return Call(node.name, node.op_type, f"ep_pad(&{key}_p, {self.ref(x)}, {self.ref(y)});", [decl])

    def quantize(self, key: str, node: Node) -> Call:
        x, y = node.inputs[0], node.outputs[0]
        s_out, z_out = self.qp(y)
        if self.graph.tensors[x].dtype == "float32":  # a float model input: TFLite's AffineQuantize
            decl = f"static const ep_affine_params {key}_p = {{{self.numel(y)}, {_c_float(s_out)}, {z_out}}};"
            return Call(node.name, node.op_type, f"ep_quantize_f32(&{key}_p, {self.ref(x)}, {self.ref(y)});",
                        [decl])
        if self.graph.tensors[x].dtype != "int8":
            raise UnsupportedError(f"QUANTIZE {node.name} from {self.graph.tensors[x].dtype}: the MCU path takes "
                                   "int8 or float32 model inputs", fix="convert with int8 I/O (io_dtype int8)")
        s_in, z_in = self.qp(x)
        mult, shift = quantize_multiplier(s_in / s_out)
        decl = f"static const ep_requant_params {key}_p = {{{self.numel(y)}, {z_in}, {z_out}, {mult}, {shift}}};"
        return Call(node.name, node.op_type, f"ep_requantize(&{key}_p, {self.ref(x)}, {self.ref(y)});", [decl])

    def dequantize(self, key: str, node: Node) -> Call:
        x, y = node.inputs[0], node.outputs[0]
        if self.graph.tensors[x].dtype != "int8" or self.graph.tensors[y].dtype != "float32":
            raise UnsupportedError(f"DEQUANTIZE {node.name}: only int8 to float32 has a kernel here",
                                   fix="convert with int8 or float32 I/O")
        s_in, z_in = self.qp(x)
        decl = f"static const ep_affine_params {key}_p = {{{self.numel(x)}, {_c_float(s_in)}, {z_in}}};"
        return Call(node.name, node.op_type, f"ep_dequantize_f32(&{key}_p, {self.ref(x)}, {self.ref(y)});", [decl])

    def softmax(self, key: str, node: Node) -> Call:
        """TFLite's reference int8 softmax: ``PreprocessSoftmaxScaling`` (beta · input scale in Q5.26, capped)
        and the input radius below which exp() is taken as zero."""
        x, y = node.inputs[0], node.outputs[0]
        s_in, _ = self.qp(x)
        beta = float(node.attrs.get("beta", 1.0))
        real = min(beta * s_in * float(1 << 26), float((1 << 31) - 1))
        mult, shift = quantize_multiplier(real)
        radius = math.floor(31.0 * float(1 << 26) / float(1 << shift))
        depth = self.dims(x)[-1] if self.dims(x) else 1
        decl = (f"static const ep_softmax_params {key}_p = {{{self.numel(x) // depth}, {depth}, {mult}, {shift}, "
                f"{-radius}}};")
        return Call(node.name, node.op_type, f"ep_softmax(&{key}_p, {self.ref(x)}, {self.ref(y)});", [decl])

    def logistic(self, key: str, node: Node) -> Call:
        """TFLite's reference int8 LOGISTIC is a table built in float32 (``LUTPopulate``): built here, in flash."""
        x, y = node.inputs[0], node.outputs[0]
        (s_in, z_in), (s_out, z_out) = self.qp(x), self.qp(y)
        values = np.arange(-128, 128, dtype=np.int32)
        with np.errstate(over="ignore"):
            deq = _f32(s_in) * (values - z_in).astype(np.float32)
            sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-deq))
        scaled = (sig * (np.float32(1.0) / _f32(s_out))).astype(np.float64)
        rounded = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.float32) + np.float32(z_out)
        table = np.zeros(256, dtype=np.int64)
        table[values.astype(np.uint8)] = np.clip(rounded.astype(np.int64), -128, 127)
        decls = [carray("int8_t", f"{key}_lut", table)]
        return Call(node.name, node.op_type,
                    f"ep_lookup({key}_lut, {self.numel(y)}, {self.ref(x)}, {self.ref(y)});", decls)

    def hard_swish(self, key: str, node: Node) -> Call:
        """TFLite's ``HardSwishPrepare``: the multipliers in float32, then cut to 16 bits."""
        x, y = node.inputs[0], node.outputs[0]
        (s_in, z_in), (s_out, z_out) = self.qp(x), self.qp(y)
        hires = _f32(1.0 / 128.0) * _f32(s_in)
        out_m, out_exp = quantize_multiplier(float(hires / _f32(s_out)))
        rel_m, rel_exp = quantize_multiplier(float(hires / _f32(3.0 / 32768.0)))
        if out_exp > 0:
            raise UnsupportedError(f"HARD_SWISH {node.name}: output scale below input scale / 128",
                                   fix="use the TFLite Micro path for this model")
        decl = (f"static const ep_hard_swish_params {key}_p = {{{self.numel(y)}, {z_in}, {z_out}, {_int16(out_m)}, "
                f"{_int16(rel_m)}, {out_exp}, {rel_exp}}};")
        return Call(node.name, node.op_type, f"ep_hard_swish(&{key}_p, {self.ref(x)}, {self.ref(y)});", [decl])

    def concat(self, key: str, node: Node) -> Call:
        y = node.outputs[0]
        rank = len(self.dims(y))
        axis = int(node.attrs.get("axis", 0)) % rank
        outer = int(np.prod(self.dims(y)[:axis], dtype=np.int64))
        inner = [int(np.prod(self.dims(i)[axis:], dtype=np.int64)) for i in node.inputs]
        refs = ", ".join(self.ref(i) for i in node.inputs)
        decls = [f"static const int {key}_inner[{len(inner)}] = {{{_j(inner)}}};",
                 f"static const ep_concat_params {key}_p = {{{outer}, {sum(inner)}, {len(inner)}, {key}_inner}};"]
        statement = (f"{{ const int8_t *const {key}_in[{len(inner)}] = {{{refs}}}; "
                     f"ep_concat(&{key}_p, {key}_in, {self.ref(y)}); }}")
        return Call(node.name, node.op_type, statement, decls)


def _c_float(value: float) -> str:
    """A float32 literal that C reads back to the same float."""
    return f"{float(np.float32(value))!r}f"


def _int16(multiplier: int) -> int:
    """TFLite's ``DownScaleInt32ToInt16Multiplier``: round the Q0.31 multiplier to Q0.15."""
    return 32767 if multiplier >= (1 << 31) - 1 - (1 << 15) else (multiplier + (1 << 15)) >> 16


def _j(values: list[int]) -> str:
    return ", ".join(str(int(v)) for v in values)


_LOWER: dict[str, Callable[[Lowering, str, Node], Call]] = {
    "CONV_2D": Lowering.conv, "DEPTHWISE_CONV_2D": Lowering.depthwise, "FULLY_CONNECTED": Lowering.fully_connected,
    "ADD": Lowering.add, "MUL": Lowering.mul, "MAX_POOL_2D": Lowering.pool, "AVERAGE_POOL_2D": Lowering.pool,
    "MEAN": Lowering.mean, "RESHAPE": Lowering.reshape, "SQUEEZE": Lowering.reshape, "EXPAND_DIMS": Lowering.reshape,
    "PAD": Lowering.pad, "QUANTIZE": Lowering.quantize, "CONCATENATION": Lowering.concat,
    "DEQUANTIZE": Lowering.dequantize, "SOFTMAX": Lowering.softmax, "LOGISTIC": Lowering.logistic,
    "HARD_SWISH": Lowering.hard_swish,
}
#: the TFLite operators the C kernels implement (int8)
SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(_LOWER))

