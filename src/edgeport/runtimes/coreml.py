"""Core ML (``.mlpackage`` / ``.mlmodel``): inspected everywhere, executed only on macOS.

Core ML's prediction engine exists only on Apple platforms; ``coremltools`` converts, saves,
compresses and reads specs on Linux, but ``MLModel.predict`` is macOS-only. On any other host this
runtime reports that as an explicit status: ``runnable_here`` is False and ``open()``/``run()``
raise ``NotRunnableHere`` — never a silent skip or a fake pass.

The model spec is read without importing ``coremltools`` itself (that import pulls TensorFlow and
PyTorch: ≈ 26 s here): only its generated protobuf modules are loaded, under a private name.
``inspect_coreml`` returns the op inventory of an ML Program (MIL ops per function, nested blocks
included), the declared compute units and precision recorded at conversion, and the weight size.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import Dim, TensorSpec
from edgeport.errors import ModelFileError, NotRunnableHere
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

__all__ = ["CoreMLOpInventory", "CoreMLOptions", "CoreMLRuntime", "inspect_coreml", "load_spec", "read_io"]

ON_APPLE = sys.platform == "darwin"
_HOST = "Linux" if sys.platform.startswith("linux") else sys.platform
NOT_RUNNABLE = "Core ML models run only on macOS/iOS; this host is Linux" if sys.platform.startswith("linux") \
    else f"Core ML models run only on macOS/iOS; this host is {sys.platform}"
NOT_RUNNABLE_FIX = ("verify on a Mac (edgeport verify on macOS runs Core ML), or convert to ONNX/TFLite to run "
                    "here; the package's spec and op inventory are still available via inspect_coreml()")
META_PREFIX = "edgeport."  # keys edgeport writes into the model's user-defined metadata

_DTYPES = {"FLOAT32": "float32", "FLOAT16": "float16", "DOUBLE": "float64", "INT32": "int32", "INT8": "int8",
           "UINT8": "uint8"}  # ArrayFeatureType.ArrayDataType names


@dataclass
class CoreMLOpInventory:
    """What a Core ML model contains, read from its spec (no Core ML runtime needed)."""

    path: str
    model_type: str  # "mlProgram" | "neuralNetwork" | ...
    spec_version: int
    opset: str  # e.g. "CoreML7" (ML Program opset = minimum deployment target)
    ops: dict[str, int]  # MIL op type -> count (all functions, nested blocks included)
    functions: list[str]
    compute_units: str  # declared at conversion ("ALL", "CPU_ONLY", ...) or "not declared"
    compute_precision: str  # "fp16" | "fp32" | "unknown"
    weight_compression: str  # "none" | "linear" | "palette" | ...
    weight_bytes: int
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "coreml-inventory"

    @property
    def compute_ops(self) -> dict[str, int]:
        """Ops that do work: everything but constants and constexpr weight decompression."""
        return {k: v for k, v in self.ops.items() if k != "const" and not k.startswith("constexpr_")}


def _proto_module() -> Any:
    """``coremltools.proto.Model_pb2`` loaded under a private package name (no coremltools import)."""
    name = "_edgeport_coreml_proto"
    if f"{name}.Model_pb2" in sys.modules:
        return sys.modules[f"{name}.Model_pb2"]
    spec = importlib.util.find_spec("coremltools")
    if spec is None or not spec.submodule_search_locations:
        from edgeport._optional import require

        require("coremltools", "coreml", "reading a Core ML model")
    root = Path(next(iter(spec.submodule_search_locations))) / "proto"  # type: ignore[union-attr]
    pkg_spec = importlib.util.spec_from_file_location(name, root / "__init__.py",
                                                      submodule_search_locations=[str(root)])
    assert pkg_spec is not None and pkg_spec.loader is not None
    package = importlib.util.module_from_spec(pkg_spec)
    sys.modules[name] = package
    pkg_spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.Model_pb2")


def _spec_file(path: Path) -> Path:
    if path.is_file():
        return path  # a legacy .mlmodel
    manifest = path / "Manifest.json"
    if not manifest.is_file():
        raise ModelFileError(f"{path}: not an .mlpackage (no Manifest.json)", fix="pass a Core ML .mlpackage")
    try:
        data = json.loads(manifest.read_text())
        entry = data["itemInfoEntries"][data["rootModelIdentifier"]]
        spec = path / "Data" / entry["path"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable Manifest.json ({exc})", fix="re-export the Core ML package") from exc
    if not spec.is_file():
        raise ModelFileError(f"{path}: model spec {entry['path']} is missing", fix="re-export the Core ML package")
    return spec


def load_spec(path: str | Path) -> Any:
    """The Core ML ``Model`` protobuf of an ``.mlpackage`` directory or ``.mlmodel`` file."""
    path = Path(path)
    spec_path = _spec_file(path)
    try:
        model = _proto_module().Model()
    except Exception:  # private proto load failed (layout change): fall back to coremltools itself
        from edgeport._optional import require

        return require("coremltools", "coreml", "reading a Core ML model").utils.load_spec(str(path))
    try:
        model.ParseFromString(spec_path.read_bytes())
    except Exception as exc:  # protobuf DecodeError
        raise ModelFileError(f"{path}: Core ML spec does not parse ({exc})", fix="re-export the model") from exc
    return model


def _feature_spec(feature: Any) -> TensorSpec:
    kind = feature.type.WhichOneof("Type")
    if kind != "multiArrayType":
        return TensorSpec(feature.name, "float32", (), None)
    arr = feature.type.multiArrayType
    dtype = _DTYPES.get(arr.DESCRIPTOR.fields_by_name["dataType"].enum_type.values_by_number[arr.dataType].name
                        if arr.dataType in arr.DESCRIPTOR.fields_by_name["dataType"].enum_type.values_by_number
                        else "", "float32")
    shape: tuple[Dim, ...] = tuple(int(d) for d in arr.shape)
    if arr.WhichOneof("ShapeFlexibility") == "shapeRange":
        ranges = arr.shapeRange.sizeRanges
        shape = tuple(int(r.lowerBound) if r.lowerBound == r.upperBound else ("batch" if i == 0 else None)
                      for i, r in enumerate(ranges))
    layout = "NCHW" if len(shape) == 4 else None
    return TensorSpec(feature.name, dtype, shape, layout)


def _count_ops(block: Any, counter: Counter[str]) -> None:
    for op in block.operations:
        counter[op.type] += 1
        for inner in op.blocks:
            _count_ops(inner, counter)


def inspect_coreml(path: str | Path) -> CoreMLOpInventory:
    """Op inventory, declared compute units/precision and weight size of a Core ML model."""
    path = Path(path)
    spec = load_spec(path)
    model_type = spec.WhichOneof("Type") or "unknown"
    ops: Counter[str] = Counter()
    functions: list[str] = []
    opset = ""
    if model_type == "mlProgram":
        for fname, func in spec.mlProgram.functions.items():
            functions.append(fname)
            opset = opset or func.opset
            block = func.block_specializations.get(func.opset) or next(iter(func.block_specializations.values()))
            _count_ops(block, ops)
    elif model_type == "neuralNetwork":
        for layer in spec.neuralNetwork.layers:
            ops[layer.WhichOneof("layer") or "unknown"] += 1
    user = dict(spec.description.metadata.userDefined)
    precision = user.get(META_PREFIX + "compute_precision", "")
    if not precision and model_type == "mlProgram":
        precision = "fp16" if ops.get("cast") else "fp32"  # fp16 programs cast their fp32 I/O
    compression = user.get(META_PREFIX + "weight_compression", "")
    if not compression:
        kinds = {k for k in ops if k.startswith("constexpr_")}
        compression = "palette" if any("lut" in k for k in kinds) else "linear" if kinds else "none"
    weights = path / "Data" / "com.apple.CoreML" / "weights" if path.is_dir() else None
    weight_bytes = sum(f.stat().st_size for f in weights.rglob("*") if f.is_file()) if weights and weights.is_dir() \
        else 0
    ins = [_feature_spec(f) for f in spec.description.input]
    outs = [_feature_spec(f) for f in spec.description.output]
    return CoreMLOpInventory(
        path=str(path), model_type=model_type, spec_version=int(spec.specificationVersion), opset=opset,
        ops=dict(sorted(ops.items())), functions=functions,
        compute_units=user.get(META_PREFIX + "compute_units", "not declared (Core ML picks at load; default ALL)"),
        compute_precision=precision or "unknown", weight_compression=compression, weight_bytes=weight_bytes,
        inputs=[{"name": s.name, "dtype": s.dtype, "shape": list(s.shape)} for s in ins],
        outputs=[{"name": s.name, "dtype": s.dtype, "shape": list(s.shape)} for s in outs])


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O reader for ``Format.COREML``: specs plus the op inventory and compute units as metadata."""
    spec = load_spec(path)
    ins = tuple(_feature_spec(f) for f in spec.description.input)
    outs = tuple(_feature_spec(f) for f in spec.description.output)
    inv = inspect_coreml(path)
    meta = {"model_type": inv.model_type, "spec_version": inv.spec_version, "opset": inv.opset, "ops": inv.ops,
            "compute_units": inv.compute_units, "compute_precision": inv.compute_precision,
            "weight_compression": inv.weight_compression, "weight_bytes": inv.weight_bytes,
            "runnable_here": ON_APPLE}
    if not ON_APPLE:
        meta["not_runnable"] = NOT_RUNNABLE
    return ins, outs, meta


@dataclass(frozen=True)
class CoreMLOptions(RuntimeOptions):
    compute_units: str = "ALL"  # ALL | CPU_ONLY | CPU_AND_GPU | CPU_AND_NE (macOS only)


@RUNTIMES.register
class CoreMLRuntime(Runtime):
    name = "coreml"
    formats = frozenset({Format.COREML})
    requires = ("coremltools",)
    extra = "coreml"
    io_readers = {Format.COREML: "edgeport.runtimes.coreml:read_io"}
    device = DeviceSupport(profile_names=("coreml",), modules=("coremltools",), os=("darwin", "ios"))
    Options = CoreMLOptions
    runnable_here = ON_APPLE
    not_runnable_reason = "" if ON_APPLE else (f"Core ML is not runnable on this host ({_HOST}): Core ML models "
                                               "run only on macOS/iOS")
    priority = 10
    description = "Apple Core ML via coremltools (prediction on macOS only; specs readable everywhere)"

    def open(self) -> Runtime:
        if not ON_APPLE:
            raise NotRunnableHere(NOT_RUNNABLE, fix=NOT_RUNNABLE_FIX)
        return super().open()

    def run(self, feeds: Any, *, raw: bool = False) -> dict[str, np.ndarray]:
        if not ON_APPLE:
            raise NotRunnableHere(NOT_RUNNABLE, fix=NOT_RUNNABLE_FIX)
        return super().run(feeds, raw=raw)

    def _load(self) -> None:  # macOS only (open() refuses elsewhere)
        import coremltools as ct

        units = getattr(ct.ComputeUnit, self.options.compute_units, None)
        if units is None:
            from edgeport.errors import ConfigError

            raise ConfigError(f"unknown compute_units {self.options.compute_units!r}",
                              fix="use ALL, CPU_ONLY, CPU_AND_GPU or CPU_AND_NE")
        self._model = ct.models.MLModel(str(self.artifact.path), compute_units=units)
        spec = self._model.get_spec()
        self._specs = (tuple(_feature_spec(f) for f in spec.description.input),
                       tuple(_feature_spec(f) for f in spec.description.output))

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        return self._specs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self._model.predict(feeds)
        return {s.name: np.asarray(result[s.name]) for s in self._outputs}

    def _release(self) -> None:
        self._model = None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(compute_units=self.options.compute_units, runnable_here=ON_APPLE)
        if not ON_APPLE:
            info["status"] = NOT_RUNNABLE
        return info
