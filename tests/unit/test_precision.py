"""One precision vocabulary: parsing, families, the tolerance each family gets, and what components declare."""

from __future__ import annotations

import json

import pytest

from edgeport.core.precision import Precision, PrecisionFamily
from edgeport.errors import ConfigError
from edgeport.report.schema import to_json
from edgeport.verify.tolerance import Tolerance


@pytest.mark.parametrize(("text", "expected"), [
    ("fp32", Precision.FP32), ("float32", Precision.FP32), ("F32", Precision.FP32), (None, Precision.FP32),
    ("fp16", Precision.FP16), ("half", Precision.FP16), ("float16", Precision.FP16),
    ("bf16", Precision.BF16), ("bfloat16", Precision.BF16),
    ("int8", Precision.INT8), ("int8-dynamic", Precision.INT8_DYNAMIC), ("int8_dynamic", Precision.INT8_DYNAMIC),
    ("dynamic-int8", Precision.INT8_DYNAMIC), ("int16x8", Precision.INT16X8), (" INT16X8 ", Precision.INT16X8),
    (Precision.BF16, Precision.BF16),
])
def test_parse_knows_names_and_aliases(text, expected):  # noqa: ANN001
    assert Precision.parse(text) is expected


@pytest.mark.parametrize("text", ["int9", "fp8", "", "float64", "int8-static-ish"])
def test_unknown_precision_is_refused_with_the_valid_names(text):  # noqa: ANN001
    with pytest.raises(ConfigError) as info:
        Precision.parse(text)
    assert repr(text) in info.value.cause
    for name in ("fp32", "fp16", "bf16", "int8", "int8-dynamic", "int16x8"):
        assert name in info.value.fix


def test_families():
    assert Precision.FP32.family is PrecisionFamily.FLOAT32
    assert {p for p in Precision if p.family is PrecisionFamily.REDUCED_FLOAT} == {Precision.FP16, Precision.BF16}
    assert {p for p in Precision if p.family is PrecisionFamily.INTEGER} == {
        Precision.INT8, Precision.INT8_DYNAMIC, Precision.INT16X8}
    assert Precision.BF16.is_float and not Precision.INT16X8.is_float


def test_a_precision_is_its_plain_name_everywhere():
    assert Precision.INT8 == "int8" and str(Precision.INT8_DYNAMIC) == "int8-dynamic"
    assert f"{Precision.BF16}" == "bf16" and f"{Precision.FP16:>6}" == "  fp16"
    assert json.dumps(to_json({"p": Precision.INT16X8})) == '{"p": "int16x8"}'


def test_bf16_is_judged_as_a_reduced_float_not_as_int8():
    bf16, fp16, int8 = (Tolerance.for_precision(p) for p in ("bf16", "fp16", "int8"))
    assert bf16.atol is not None and bf16.max_accuracy_drop is None  # elementwise bounds, like fp16
    assert int8.atol is None and int8.max_accuracy_drop == 0.02
    assert bf16.atol > fp16.atol and bf16.min_cosine < fp16.min_cosine  # 8 significant bits vs 11
    assert Tolerance().layer_snr_floor("bf16") == Tolerance().layer_snr_floor("fp16") == 30.0


def test_every_integer_precision_gets_the_integer_tolerance():
    expected = Tolerance.for_precision("int8")
    for p in (Precision.INT8_DYNAMIC, Precision.INT16X8):
        assert Tolerance.for_precision(p) == expected
        assert Tolerance.for_output_kind("dense", p) == Tolerance.for_output_kind("dense", "int8")


def test_tolerance_refuses_an_unknown_precision():
    with pytest.raises(ConfigError, match="unknown precision 'int3'"):
        Tolerance.for_precision("int3")


def test_converter_tolerance_follows_the_precision_family():
    from edgeport.convert.base import ConvertOptions
    from edgeport.convert.torch_to_onnx import TorchToOnnx

    assert TorchToOnnx.tolerance_for(ConvertOptions()) == TorchToOnnx.default_tolerance
    assert TorchToOnnx.tolerance_for(ConvertOptions(precision="bf16")) == Tolerance.for_precision("bf16")
    assert TorchToOnnx.tolerance_for(ConvertOptions(precision="int8-dynamic")) == Tolerance.for_precision("int8")


def test_every_declared_precision_parses():
    from edgeport.convert import CONVERTERS
    from edgeport.passes import PASSES

    declared = {p for conv in CONVERTERS for p in (*conv.precisions, *conv.needs_data)}
    declared |= {cls.precision for cls in PASSES} | {s.precision for cls in PASSES for s in cls.sweeps}
    assert declared >= {"fp32", "fp16", "int8", "int8-dynamic", "int16x8"}
    for name in declared:
        assert Precision.parse(name).value == name, name  # declared by canonical name, not an alias
