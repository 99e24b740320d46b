"""PyTorch → Core ML on the real digits model: package written, spec parsed, op inventory checked
against the source graph, compressed variants measured, and the runtime's explicit "not runnable".

Core ML's predictor exists only on Apple platforms, so on Linux nothing here runs the model; the
tests assert that this is *reported* (error type and message), not skipped.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from edgeport import load_artifact
from edgeport._optional import is_available
from edgeport.convert.api import convert
from edgeport.core.formats import Format, detect_format
from edgeport.errors import ConfigError, NotRunnableHere, UnsupportedError
from edgeport.runtimes.coreml import CoreMLRuntime, inspect_coreml

pytestmark = pytest.mark.skipif(not is_available("coremltools"), reason="needs edgeport[coreml]")

linux_only = pytest.mark.skipif(sys.platform == "darwin", reason="on macOS Core ML runs: covered by the macOS job")


@pytest.fixture(scope="module")
def coreml_fp32(tmp_path_factory: pytest.TempPathFactory, digits_pt2, digits_data):
    out = tmp_path_factory.mktemp("coreml") / "digits.mlpackage"
    return convert(digits_pt2, "coreml", out=out, data=digits_data, options={"precision": "fp32"})


def _source_op_counts(onnx_path: Path) -> Counter[str]:
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    counts = Counter(n.op_type for n in graph.node)
    return Counter({"conv": counts["Conv"], "relu": counts["Relu"], "max_pool": counts["MaxPool"],
                    "linear": counts["Gemm"] + counts["MatMul"]})


@linux_only
def test_package_is_written_and_reported_unverifiable(coreml_fp32) -> None:
    path = coreml_fp32.artifact.path
    assert path.is_dir() and (path / "Manifest.json").is_file()
    assert (path / "Data" / "com.apple.CoreML" / "model.mlmodel").is_file()
    assert detect_format(path) is Format.COREML
    assert coreml_fp32.verification is None
    assert coreml_fp32.verified_on.startswith("not verified: Core ML is not runnable on this host (Linux)")
    assert not list(path.parent.glob("edgeport-convert-*"))  # the temp work dir was moved and cleaned


def test_spec_parses_into_specs_and_metadata(coreml_fp32) -> None:
    art = load_artifact(coreml_fp32.artifact.path)
    (inp,) = art.inputs
    assert inp.name == "input" and inp.dtype == "float32" and inp.shape == ("batch", 1, 8, 8)
    (out,) = art.outputs
    assert out.name == "output" and out.dtype == "float32"
    meta = art.metadata
    assert meta["model_type"] == "mlProgram" and meta["opset"] == "CoreML7"
    assert meta["compute_units"] == "ALL" and meta["compute_precision"] == "fp32"
    assert meta["weight_compression"] == "none"
    assert "not runnable" not in meta or "Linux" in meta["not_runnable"]


def test_op_inventory_matches_the_source_graph(coreml_fp32, digits_onnx) -> None:
    inv = inspect_coreml(coreml_fp32.artifact.path)
    want = _source_op_counts(digits_onnx.path)
    assert want == Counter({"conv": 3, "relu": 4, "max_pool": 1, "linear": 2})
    got = Counter({k: v for k, v in inv.compute_ops.items() if k in want})
    assert got == want
    # batch norm is folded into the convs; only a reshape (flatten) remains besides those ops
    assert set(inv.compute_ops) - set(want) == {"reshape"}
    assert inv.functions == ["main"] and inv.ops["const"] > 0
    # fp32 weights: conv 144+4608+9216, linear 32768+640 floats (+ biases) ≈ 190 kB
    assert 185_000 < inv.weight_bytes < 200_000


@linux_only
def test_runtime_says_not_runnable_here(coreml_fp32, digits_data) -> None:
    from edgeport.runtimes.base import open_runtime, runtimes_for

    art = load_artifact(coreml_fp32.artifact.path)
    assert CoreMLRuntime in runtimes_for(Format.COREML)
    assert CoreMLRuntime.runnable_here is False
    rt = open_runtime(art, "coreml")
    with pytest.raises(NotRunnableHere, match="Core ML models run only on macOS/iOS; this host is Linux") as err:
        rt.open()
    assert err.value.exit_code == 1 and err.value.fix
    with pytest.raises(NotRunnableHere, match="this host is Linux"):
        rt.run({"input": digits_data.inputs["x"][:1]})
    with pytest.raises(UnsupportedError, match="no runtime runs coreml"):
        open_runtime(art)  # automatic choice never picks a runtime that cannot run here
    assert rt.describe()["status"].endswith("this host is Linux")


def test_bad_compression_option_is_a_config_error(tmp_path: Path, digits_pt2) -> None:
    from edgeport.convert.torch_to_coreml import TorchToCoreML, TorchToCoreMLOptions

    with pytest.raises(ConfigError, match="compress"):
        TorchToCoreML().convert(digits_pt2, tmp_path / "x.mlpackage", TorchToCoreMLOptions(compress="zip"))
    with pytest.raises(ConfigError, match="palette_bits"):
        TorchToCoreML().convert(digits_pt2, tmp_path / "x.mlpackage",
                                TorchToCoreMLOptions(compress="palettize", palette_bits=5))


@pytest.mark.slow
def test_compressed_variants_are_smaller(tmp_path: Path, coreml_fp32, digits_pt2) -> None:
    from edgeport.convert.torch_to_coreml import TorchToCoreML, TorchToCoreMLOptions

    fp32 = inspect_coreml(coreml_fp32.artifact.path)
    made = {}
    for name, opts in {"fp16": TorchToCoreMLOptions(),
                       "int8": TorchToCoreMLOptions(precision="fp32", compress="int8"),
                       "pal4": TorchToCoreMLOptions(precision="fp32", compress="palettize", palette_bits=4)}.items():
        art = TorchToCoreML().convert(digits_pt2, tmp_path / f"{name}.mlpackage", opts)
        made[name] = inspect_coreml(art.path)
    ratio = {k: v.weight_bytes / fp32.weight_bytes for k, v in made.items()}
    assert 0.45 < ratio["fp16"] < 0.55, ratio
    assert 0.2 < ratio["int8"] < 0.35, ratio  # ≈ 1/4 plus per-channel scales and small uncompressed weights
    assert ratio["pal4"] < ratio["int8"] and ratio["pal4"] < 0.2, ratio
    assert made["fp16"].compute_precision == "fp16" and made["fp16"].ops.get("cast", 0) >= 1
    assert made["int8"].weight_compression == "linear-int8"
    assert any(k.startswith("constexpr_") for k in made["int8"].ops)
    assert made["pal4"].weight_compression == "palette-4bit"
    assert any(k.startswith("constexpr_") for k in made["pal4"].ops)
    for inv in made.values():  # compression changes weights, not the network
        assert {k: v for k, v in inv.compute_ops.items() if k != "cast"} == fp32.compute_ops
