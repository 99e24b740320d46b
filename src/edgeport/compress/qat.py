"""Quantisation-aware training (PT2E): fake-quantise, fine-tune, convert, export a deployable int8 model.

``torch.export`` → ``prepare_qat_pt2e`` with the XNNPACK quantizer (symmetric int8, per-channel
weights) → training (the built-in classification loop, or a user ``train_fn``) →
``convert_pt2e`` → export to ONNX (QDQ, runs on ONNX Runtime) or ExecuTorch ``.pte`` (XNNPACK
delegate). Accuracy is measured on the test split for the float model, the converted int8
PyTorch model and, where a runtime here runs it, the exported artifact.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeport._optional import require
from edgeport.compress._torch import as_module, export_onnx, sample_shape, training_threads
from edgeport.compress.measure import Latency, accuracy_on, measure_latency, slower_warning
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, EdgeportError

__all__ = ["QATOptions", "QATResult", "qat"]

_TARGETS = ("onnx", "pte")


@dataclass(frozen=True)
class QATOptions:
    epochs: int = 3
    lr: float = 5e-4
    batch: int = 64
    seed: int = 0
    per_channel: bool = True
    to: str = "onnx"  # onnx (QDQ) | pte (ExecuTorch, XNNPACK)


@dataclass
class QATResult:
    float_accuracy: float | None  # the float model, test split
    qat_accuracy: float | None  # the converted int8 PyTorch model (reference numerics), test split
    deployed_accuracy: float | None  # the exported artifact on its runtime here (None: no runtime here)
    accuracy_drop: float | None  # float − deployed (or − qat when the artifact cannot run here)
    size_bytes: int
    float_size_bytes: int  # the float model exported to ONNX
    artifact: Artifact
    latency: Latency | None = None
    float_latency: Latency | None = None
    warnings: list[str] = field(default_factory=list)
    options: QATOptions = field(default_factory=QATOptions)
    kind: str = "qat"


def _pt2e() -> tuple[Any, Any, Any, Any, Any]:
    require("torchao", "executorch", "quantisation-aware training (PT2E)")
    require("executorch", "executorch", "the XNNPACK quantizer for QAT")
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_qat_pt2e

    return XNNPACKQuantizer, get_symmetric_quantization_config, allow_exported_model_train_eval, \
        prepare_qat_pt2e, convert_pt2e


def _export_pte(program: Any, out: Path) -> None:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    buffer = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch().buffer
    fd, tmp = tempfile.mkstemp(suffix=".pte", dir=out.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(buffer)
    os.replace(tmp, out)


def _export_onnx_program(program: Any, example: tuple[Any, ...], out: Path) -> None:
    import torch

    dyn = ({0: torch.export.Dim("batch", min=1, max=1024)},)
    onnx_program = torch.onnx.export(program, example, dynamo=True, input_names=["input"], output_names=["output"],
                                     dynamic_shapes=dyn, external_data=False, verbose=False)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        onnx_program.save(str(Path(tmp) / out.name), external_data=False)
        os.replace(Path(tmp) / out.name, out)


def qat(model: Any, data: Dataset, out: str | Path, options: QATOptions | None = None, *,
        train_fn: Callable[[Any, Dataset, QATOptions], Any] | None = None, threads: int = 1,
        measure_speed: bool = True) -> tuple[Any, QATResult]:
    """QAT-fine-tune ``model`` (``nn.Module`` or ``.pt2``) on ``data`` and export an int8 artifact to ``out``.

    ``train_fn(prepared_module, data, options)`` replaces the built-in loop (it must train in place;
    ``.train()``/``.eval()`` work on the prepared module).
    """
    import torch

    from edgeport.data.examples import accuracy_of, train_classifier

    opts = options or QATOptions()
    if opts.to not in _TARGETS:
        raise ConfigError(f"QAT export target {opts.to!r} is not supported", fix=f"use one of: {', '.join(_TARGETS)}")
    if opts.epochs < 0:
        raise ConfigError("QAT epochs must be ≥ 0", fix="e.g. epochs=3")
    Quantizer, config_fn, allow_train_eval, prepare_qat_pt2e, convert_pt2e = _pt2e()
    module = as_module(model).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    float_art = export_onnx(module, data, out.with_name(f"{out.stem}.float.onnx"))
    test = data.split("test")
    float_acc = accuracy_of(module, test) if test.labels is not None else None
    example = (torch.zeros((2, *sample_shape(data)), dtype=torch.float32),)
    dyn = ({0: torch.export.Dim("batch", min=1, max=1024)},)
    start = time.perf_counter()
    with training_threads():
        torch.manual_seed(opts.seed)
        graph = torch.export.export(module, example, dynamic_shapes=dyn).module()
        quantizer = Quantizer().set_global(config_fn(is_per_channel=opts.per_channel, is_qat=True))
        prepared = prepare_qat_pt2e(graph, quantizer)
        allow_train_eval(prepared)
        if opts.epochs > 0:
            if train_fn is not None:
                train_fn(prepared, data, opts)
            else:
                train_classifier(prepared, data, epochs=opts.epochs, batch=opts.batch, lr=opts.lr, seed=opts.seed)
        prepared.eval()
        converted = convert_pt2e(prepared)
        allow_train_eval(converted)
        converted.eval()
        qat_acc = accuracy_of(converted, test) if test.labels is not None else None
        program = torch.export.export(converted, example, dynamic_shapes=dyn)
        try:
            if opts.to == "onnx":
                _export_onnx_program(program, example, out)
            else:
                _export_pte(program, out)
        except Exception as exc:  # exporter failures come in many types
            raise ConversionError(f"{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
                                  converter=f"qat-{opts.to}", stage="export",
                                  fix="try options.to='onnx' or 'pte'") from exc
    seconds = time.perf_counter() - start
    produced = load_artifact(out, format=Format.ONNX if opts.to == "onnx" else Format.EXECUTORCH)
    warnings: list[str] = []
    deployed_acc: float | None = None
    try:
        deployed_acc = accuracy_on(produced, data)
    except EdgeportError as exc:
        warnings.append(f"{produced.format.value} accuracy not measured here: {exc}")
    ref = deployed_acc if deployed_acc is not None else qat_acc
    drop = None if float_acc is None or ref is None else float_acc - ref
    metrics = {"size_bytes": produced.size_bytes(), "parent_size_bytes": float_art.size_bytes(),
               "accuracy": ref, "parent_accuracy": float_acc, "accuracy_drop": drop, "qat_accuracy": qat_acc,
               "split": "test", "epochs": opts.epochs}
    artifact = float_art.derive(produced.path, produced.format, step=Step("train", "qat-pt2e", asdict(opts),
                                                                           seconds, metrics),
                                inputs=produced.inputs or float_art.inputs, outputs=produced.outputs or float_art.outputs,
                                metadata={**dict(produced.metadata), "precision": "int8", "quantizer": "xnnpack"})
    result = QATResult(float_accuracy=float_acc, qat_accuracy=qat_acc, deployed_accuracy=deployed_acc,
                       accuracy_drop=drop, size_bytes=produced.size_bytes(), float_size_bytes=float_art.size_bytes(),
                       artifact=artifact, warnings=warnings, options=opts)
    if measure_speed:
        result.latency = measure_latency(produced, data, threads=threads)
        result.float_latency = measure_latency(float_art, data, threads=threads)
        loud = slower_warning(result.latency, result.float_latency, "the QAT int8 model")
        if loud:
            result.warnings.append(loud)
    return converted, result
