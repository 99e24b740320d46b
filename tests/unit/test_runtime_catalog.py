"""The tables derived from the built-in runtime modules, and what reads them (no backend imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeport.bench.matrix import runtime_options
from edgeport.core.formats import Format
from edgeport.deploy.manifest import build_package
from edgeport.deploy.select import probe
from edgeport.errors import ConfigError, UnknownNameError
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import deploy_modules, host_bound_reason, io_reader_for, profile_runtimes_for
from edgeport.runtimes.litert import LiteRTRuntime
from edgeport.runtimes.onnxruntime import OnnxRuntime


def test_each_format_reads_its_io_with_the_reader_its_runtime_declares() -> None:
    assert io_reader_for(Format.ONNX) == "edgeport.graph.onnx_reader:read_io"  # not OpenVINO's: ORT is preferred
    assert io_reader_for(Format.TFLITE) == "edgeport.graph.tflite_reader:read_io"
    assert io_reader_for(Format.SAVED_MODEL) == io_reader_for(Format.KERAS) == "edgeport.runtimes.tensorflow:read_io"
    for fmt in (Format.OPENVINO, Format.EXECUTORCH, Format.TVM, Format.COREML):
        assert io_reader_for(fmt) == f"edgeport.runtimes.{fmt.value}:read_io"
    assert io_reader_for(Format.TORCH_EXPORT) == "edgeport.runtimes.torch:read_io"
    assert io_reader_for(Format.TORCHSCRIPT) is None  # no runtime runs it: load_artifact marks io_unknown


def test_device_profile_names_come_from_the_runtimes_preferred_first() -> None:
    assert profile_runtimes_for(Format.ONNX) == ("onnxruntime", "onnxruntime-web", "openvino")
    assert profile_runtimes_for(Format.TFLITE) == ("litert", "tflite-micro")
    assert profile_runtimes_for(Format.EXECUTORCH) == ("executorch",)
    assert profile_runtimes_for(Format.TVM) == ()
    assert "compiled for this host's CPU" in host_bound_reason(Format.TVM)
    assert host_bound_reason(Format.ONNX) == ""


def test_every_profile_runtime_name_of_a_shipped_target_is_known_or_deliberately_absent() -> None:
    """Names in targets/*.toml either belong to a runtime module or are runtimes edgeport does not drive yet."""
    import tomllib

    from edgeport.runtimes.base import runtimes_for

    declared = {n for fmt in Format for cls in runtimes_for(fmt, devices=True) for n in cls.device.profile_names}
    declared |= {cls.name for cls in RUNTIMES}
    targets = Path(__import__("edgeport.core.target", fromlist=["x"]).__file__).parents[1] / "targets"
    used = {n for f in targets.glob("*.toml") for n in tomllib.loads(f.read_text()).get("runtimes", [])}
    not_driven_yet = {"vela", "pycoral", "esp-dl", "qnn", "tensorrt"}
    assert used - declared == not_driven_yet


def test_deploy_modules_come_from_the_runtime_and_unknown_names_are_refused() -> None:
    assert deploy_modules("litert") == ("ai_edge_litert", "tflite_runtime", "tensorflow")
    assert deploy_modules("executorch") == ("executorch",)  # not torch: the device runs the .pte alone
    with pytest.raises(UnknownNameError):
        deploy_modules("no-such-runtime")


def test_execution_providers_belong_to_onnxruntime() -> None:
    cuda = runtime_options(OnnxRuntime, 2, "cuda")
    assert cuda.threads == 2 and cuda.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert runtime_options(OnnxRuntime, None, "CPU").providers == ("CPUExecutionProvider",)
    assert runtime_options(OnnxRuntime, 1, "MyExecutionProvider").providers[0] == "MyExecutionProvider"
    with pytest.raises(ConfigError, match="'litert' has no execution providers"):
        runtime_options(LiteRTRuntime, 1, "cuda")


def _study(tmp_path: Path, runtime: str, fmt: str) -> dict:
    model = tmp_path / f"m.{fmt}"
    model.write_bytes(b"model")
    return {"model": "m", "conditions": {"machine": "x86_64", "isa_flags": ["avx2", "avx512f"]},
            "candidates": [{"key": "k", "status": "ok", "format": fmt, "precision": "fp32", "runtime": runtime,
                            "threads": 1, "artifact": str(model)}],
            "recommendations": [{"target": "t", "key": "k"}]}


def test_manifest_requirements_follow_the_runtime_declaration(tmp_path: Path) -> None:
    (tvm,) = build_package(_study(tmp_path, "tvm", "tvm"), tmp_path / "p1").variants
    assert tvm["runtime_modules"] == ["tvm"]
    assert tvm["arch_required"] == ["x86_64", "amd64"] and tvm["isa_required"] == ["avx512f"]  # host-bound
    (coreml,) = build_package(_study(tmp_path, "coreml", "coreml"), tmp_path / "p2").variants
    assert coreml["runtime_modules"] == ["coremltools"] and coreml["os_required"] == ["darwin", "ios"]
    assert "arch_required" not in coreml
    ort = build_package(_study(tmp_path, "onnxruntime", "onnx"), tmp_path / "p3").variants[0]  # (+ CPU fallback)
    assert ort["runtime_modules"] == ["onnxruntime"] and "os_required" not in ort


def test_the_selector_probes_only_the_modules_it_is_given() -> None:
    here = probe(["json", "edgeport_no_such_runtime_module"])
    assert here.runtimes == frozenset({"json"})
    assert probe().runtimes == frozenset()


def test_listing_runtimes_and_deriving_every_table_imports_no_backend() -> None:
    code = """
import json, sys
from edgeport.core.formats import Format
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import deploy_modules, io_reader_for, profile_runtimes_for, runtimes_for
for fmt in Format:
    runtimes_for(fmt), io_reader_for(fmt), profile_runtimes_for(fmt)
for name in RUNTIMES.names():
    deploy_modules(name), RUNTIMES.get(name).available()
heavy = {"torch", "onnx", "onnxruntime", "tensorflow", "openvino", "tvm", "executorch", "coremltools", "jax",
         "ai_edge_litert", "keras", "nncf"}
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
