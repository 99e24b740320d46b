"""Planted faults on the real digits model, built once per session from the shared ONNX fixture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class Planted:
    perturbed: Path  # one conv weight (node_Conv_26's) perturbed
    scrambled: Path  # a Transpose swapping H/W inserted before the second conv
    quantized: Path  # ORT static QDQ int8 (faithful)
    broken_scale: Path  # the same with the second conv's weight scale broken (sized to the model, see below)
    broken_factor: float  # the factor the scale was multiplied by
    nhwc: Path  # the same network taking NHWC input (a Transpose in front)
    nhwc_wrong: Path  # NHWC input with a wrong NHWC→NCHW transpose (H and W swapped)


def _conv_input_of(model, index: int):  # noqa: ANN001, ANN202
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    return convs[index]


# A planted fault must be a fault *for this model*: a fixed ×8 scale error cost the digits model trained on one
# machine over 2 points and the one trained on a fresh machine 1.1, which int8's tolerance rightly lets through.
# So the break is grown until the broken model disagrees with the faithful int8 one on a clear share of the
# calibration samples (never the test split the verifier judges on).
BREAK_FACTORS = (8.0, 1 / 8, 32.0, 1 / 32, 128.0, 1 / 128, -1.0)
MAX_AGREEMENT = 0.85


def _top1(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0].argmax(1)


def _break_weight_scale(quantized: Path, out: Path, calibration: np.ndarray) -> float:
    import onnx
    from onnx import numpy_helper

    faithful = _top1(quantized, calibration)
    for factor in BREAK_FACTORS:
        q = onnx.load(str(quantized))
        qconv2 = _conv_input_of(q, 1)
        weight_dq = next(n for n in q.graph.node if n.output[0] == qconv2.input[1])
        for init in q.graph.initializer:
            if init.name == weight_dq.input[1]:
                s = numpy_helper.to_array(init)
                init.CopyFrom(numpy_helper.from_array((s * factor).astype(s.dtype), init.name))
        onnx.save(q, str(out))
        if float((_top1(out, calibration) == faithful).mean()) <= MAX_AGREEMENT:
            return factor
    raise AssertionError(f"no factor in {BREAK_FACTORS} breaks the second conv's scale enough for this model")


def plant_faults(onnx_path: Path, out: Path, calibration: np.ndarray) -> Planted:
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    base = onnx.load(str(onnx_path))
    conv2 = _conv_input_of(base, 1)

    # (a) one conv weight perturbed
    m = onnx.ModelProto()
    m.CopyFrom(base)
    for init in m.graph.initializer:
        if init.name == conv2.input[1]:
            w = numpy_helper.to_array(init).copy()
            w += (0.5 * w.std() * np.random.default_rng(0).standard_normal(w.shape)).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(w, init.name))
    onnx.save(m, str(out / "perturbed.onnx"))

    # (b) a wrong transpose: H and W swapped in front of the second conv
    m = onnx.ModelProto()
    m.CopyFrom(base)
    nodes = list(m.graph.node)
    pos = next(i for i, n in enumerate(nodes) if n.name == conv2.name)
    src = nodes[pos].input[0]
    nodes[pos].input[0] = src + "_hw"
    nodes.insert(pos, helper.make_node("Transpose", [src], [src + "_hw"], name="scramble_hw", perm=[0, 1, 3, 2]))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, str(out / "scrambled.onnx"))

    # (c) static QDQ int8, then one weight scale broken
    name = base.graph.input[0].name

    class Reader:
        def __init__(self) -> None:
            self.it = iter([{name: calibration[i:i + 32]} for i in range(0, len(calibration), 32)])

        def get_next(self):  # noqa: ANN202
            return next(self.it, None)

    quantize_static(str(onnx_path), str(out / "quantized.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    factor = _break_weight_scale(out / "quantized.onnx", out / "broken_scale.onnx", calibration)

    # NHWC variant: Transpose(NHWC→NCHW) in front, input (N, 8, 8, 1)
    m = onnx.ModelProto()
    m.CopyFrom(base)
    inp = m.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    n, c, h, w = (d.dim_param or d.dim_value for d in dims)
    new_in = helper.make_tensor_value_info("input_nhwc", onnx.TensorProto.FLOAT, [n, h, w, c])
    m.graph.input.remove(inp)
    m.graph.input.insert(0, new_in)
    body = list(m.graph.node)
    for fname, perm in (("nhwc.onnx", [0, 3, 1, 2]), ("nhwc_wrong.onnx", [0, 3, 2, 1])):
        tr = helper.make_node("Transpose", ["input_nhwc"], [inp.name], name="to_nchw", perm=perm)
        del m.graph.node[:]
        m.graph.node.extend([tr, *body])
        onnx.save(m, str(out / fname))
    return Planted(out / "perturbed.onnx", out / "scrambled.onnx", out / "quantized.onnx",
                   out / "broken_scale.onnx", factor, out / "nhwc.onnx", out / "nhwc_wrong.onnx")


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory, digits_onnx, digits_data) -> Planted:  # noqa: ANN001
    out = tmp_path_factory.mktemp("planted")
    calibration = next(iter(digits_data.split("calibration").inputs.values()))
    return plant_faults(digits_onnx.path, out, calibration)


@pytest.fixture(scope="session")
def second_conv(digits_onnx) -> str:  # noqa: ANN001
    import onnx

    return _conv_input_of(onnx.load(str(digits_onnx.path)), 1).name
