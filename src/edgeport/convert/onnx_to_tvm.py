"""ONNX → Apache TVM: Relax import, optional MetaSchedule tuning, compiled module for the host CPU.

The output is a directory ``<name>.tvm/`` holding ``module.so`` (``export_library``) and
``manifest.json`` (input/output specs, target, tuning summary). TVM compiles for concrete shapes:
the ONNX file is prepared first (``_onnx_prepare``: the user's shapes, an unknown batch →
``options.batch``, constant inputs baked in, onnxslim); any other unknown dim fails naming ``--shape``.

Untuned modules run TVM's default schedules and are slow (ResNet-18 measured here ≈ 1.8 s vs
ONNX Runtime ≈ 33 ms; ≈ 72 ms after a short tuning run): the result carries that warning.
``tune_seconds`` > 0 tunes with MetaSchedule for that wall-clock budget; records are cached in
``$EDGEPORT_CACHE/tvm-tuning/`` and reused by later conversions of the same model and target.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert._onnx_prepare import prepare_for
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, UnsupportedError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("tvm", "tvm_ffi", "onnx")

__all__ = ["OnnxToTvm", "OnnxToTvmOptions", "host_target"]


@dataclass(frozen=True)
class OnnxToTvmOptions(ConvertOptions):
    batch: int = 1  # the static batch size compiled in
    mcpu: str = ""  # LLVM CPU name; "" = this host's CPU (e.g. znver4)
    num_cores: int = 0  # 0 = this host's core count
    tune_seconds: float = 0.0  # MetaSchedule wall-clock budget; 0 = no new tuning
    use_cached_tuning: bool = True  # compile with records cached by earlier runs when they exist
    trials_per_round: int = 8  # candidates per task per tuning round
    max_trials_per_task: int = 64  # stop tuning a model once every task had this many candidates


def host_target(mcpu: str = "", num_cores: int = 0) -> dict[str, Any]:
    """The LLVM target dict for this host: ``{"kind": "llvm", "mcpu": ..., "num-cores": ...}``."""
    if not mcpu:
        from tvm.target import codegen

        mcpu = str(codegen.llvm_get_system_cpu())
    if not num_cores:
        num_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return {"kind": "llvm", "mcpu": mcpu, "num-cores": int(num_cores)}


@CONVERTERS.register
class OnnxToTvm(Converter):
    name = "onnx-to-tvm"
    source = Format.ONNX
    target = Format.TVM
    requires = ("tvm", "onnx")
    extra = "tvm"
    Options = OnnxToTvmOptions
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    timeout_s = 3600.0
    description = "relax.frontend.onnx → tvm.compile (llvm, host -mcpu), optional MetaSchedule tuning"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        import numpy as np
        import onnx
        import tvm
        from tvm import relax
        from tvm.relax.frontend.onnx import from_onnx

        from edgeport.convert import _tvm_tuning as tuning
        from edgeport.runtimes.tvm import MODULE, UNTUNED_WARNING, write_manifest

        assert isinstance(options, OnnxToTvmOptions)
        if options.batch < 1:
            raise ConfigError(f"batch {options.batch} must be ≥ 1", fix="pass options batch=1 (or more)")
        if options.tune_seconds < 0:
            raise ConfigError("tune_seconds must be ≥ 0", fix="pass 0 (no tuning) or a budget in seconds")
        target_dict = host_target(options.mcpu, options.num_cores)
        try:
            target = tvm.target.Target(target_dict)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise ConfigError(f"TVM rejects target {target_dict}: {str(exc).strip().splitlines()[-1][:200]}",
                              fix="pass an LLVM CPU name TVM knows as mcpu (e.g. znver4, skylake-avx512)") from exc
        with tempfile.TemporaryDirectory(prefix=".tvm-prepare-", dir=out.parent) as work:
            source, prepared = prepare_for(artifact, Path(work), backend="TVM", batch=options.batch)
            model = onnx.load(str(source.path))
            model_hash = hashlib.sha256(source.path.read_bytes()).hexdigest()
        inputs, src_out = source.inputs, source.outputs
        shapes = {s.name: list(s.shape) for s in inputs}
        try:
            mod = from_onnx(model, shape_dict=shapes, dtype_dict={s.name: s.dtype for s in inputs},
                            keep_params_in_input=False)
            mod = relax.transform.DecomposeOpsForInference()(mod)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise _import_error(exc, self.name) from exc

        cache = tuning.cache_dir_for(model_hash, target_dict, shapes)
        outcome = tuning.TuningOutcome(cache_dir=str(cache), budget_s=options.tune_seconds)
        if options.tune_seconds > 0 or (options.use_cached_tuning and cache.is_dir()):
            fused = tuning.fuse_for_tuning(mod, target)
            outcome = tuning.tune(fused, target, cache, options.tune_seconds,
                                  trials_per_round=max(1, options.trials_per_round),
                                  max_trials_per_task=max(1, options.max_trials_per_task))
            outcome.tuned = outcome.tasks_with_records > 0
            if outcome.records_before and outcome.tuned:
                outcome.notes.append(f"reused {outcome.records_before} tuning records from {cache}")
        try:
            executable = tuning.compile_module(mod, target, cache if outcome.tuned else None)
        except Exception as exc:
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise ConversionError(f"TVM compile failed: {_tvm_message(exc)}", converter=self.name, stage="compile",
                                  fix="try without tuning records (use_cached_tuning=False)") from exc

        out.mkdir(parents=True, exist_ok=True)
        executable.export_library(str(out / MODULE))
        outputs = _probe_outputs(out / MODULE, inputs, src_out, np)
        warnings = [] if outcome.tuned else [UNTUNED_WARNING]
        if outcome.tuned and outcome.tasks_with_records < outcome.tasks:
            warnings.append(f"only {outcome.tasks_with_records} of {outcome.tasks} kernels have tuning records; "
                            "the others use slow default schedules")
        info = {**prepared, "target": target_dict, "batch": options.batch, "tvm_version": tvm.__version__,
                "source": artifact.path.name, "tuning": outcome.as_dict(), "warnings": warnings + outcome.notes}
        write_manifest(out, inputs, outputs, info)
        return artifact.derive(out, Format.TVM, step=artifact.step or _placeholder_step(), inputs=inputs,
                               outputs=outputs, metadata=info)


def _probe_outputs(module: Path, inputs: tuple[TensorSpec, ...], src_out: tuple[TensorSpec, ...],
                   np: Any) -> tuple[TensorSpec, ...]:
    """Concrete output specs: run the compiled module once on zeros; names come from the ONNX graph."""
    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(tvm.runtime.load_module(str(module)), tvm.cpu(0))
    args = [tvm.runtime.tensor(np.zeros(s.shape, dtype=s.dtype), tvm.cpu(0)) for s in inputs]
    from edgeport.runtimes.tvm import _flatten

    values = _flatten(vm["main"](*args))
    if len(values) != len(src_out):
        raise ConversionError(f"compiled module returns {len(values)} outputs, the ONNX model declares {len(src_out)}",
                              converter="onnx-to-tvm", stage="probe", fix="report this model to edgeport")
    return tuple(TensorSpec(s.name, str(v.dtype), tuple(int(d) for d in v.shape), s.layout)
                 for s, v in zip(src_out, values))


def _tvm_message(exc: BaseException) -> str:
    """TVM's own message: its FFI errors put the traceback first and the message on the last line."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def _import_error(exc: Exception, converter: str) -> Exception:
    text = str(exc)
    first = _tvm_message(exc)
    for marker in ("not supported", "not implemented", "NotImplemented", "OpNotImplemented"):
        if marker in text:
            return UnsupportedError(f"TVM's ONNX importer cannot convert this model: {first}",
                                    fix="the named op is missing in TVM's Relax ONNX frontend: run the "
                                        "model with ONNX Runtime or OpenVINO, or replace the op before exporting")
    return ConversionError(f"TVM from_onnx failed: {first}", converter=converter, stage="import",
                           fix="check the model imports with tvm.relax.frontend.onnx.from_onnx")


def _placeholder_step() -> Any:  # the parent process records the real step
    from edgeport.core.artifact import Step

    return Step("convert", "onnx-to-tvm")
