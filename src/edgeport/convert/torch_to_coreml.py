"""PyTorch (``torch.export`` .pt2) → Core ML ``.mlpackage`` (ML Program) with ``coremltools``.

The ExportedProgram is converted directly (``ct.convert(program)``, coremltools ≥ 8); when that
fails a ``torch.jit.trace`` of ``program.module()`` is converted instead. Compute precision is
fp16 (Core ML's default, ``precision="fp16"``) or fp32. Weights can be compressed after conversion:
``compress="int8"`` (``linear_quantize_weights``, symmetric per-channel int8) or
``compress="palettize"`` (k-means lookup tables of ``palette_bits`` bits, ``palettize_weights``).

Core ML cannot run on Linux, so a conversion made here is not numerically verified; the package,
its spec and op inventory are (see ``edgeport.runtimes.coreml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.convert import CONVERTERS
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("coremltools", "torch")

__all__ = ["TorchToCoreML", "TorchToCoreMLOptions"]

_COMPRESS = ("", "none", "int8", "palettize")
_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")


@dataclass(frozen=True)
class TorchToCoreMLOptions(ConvertOptions):
    precision: str = "fp16"  # compute precision: fp16 (Core ML default) | fp32
    compress: str = ""  # "" | int8 (linear weight quantisation) | palettize (lookup tables)
    palette_bits: int = 4  # 1, 2, 3, 4, 6 or 8 bits per weight index when compress="palettize"
    weight_threshold: int = 512  # weights with fewer elements stay uncompressed
    compute_units: str = "ALL"  # declared in the package: ALL | CPU_ONLY | CPU_AND_GPU | CPU_AND_NE
    deployment_target: str = "iOS17"  # minimum deployment target (sets the ML Program opset)
    dynamic_batch: bool = True  # keep the export's dynamic batch dim (as a shape range)
    exporter: str = "auto"  # auto (ExportedProgram, then trace) | exported-program | trace


def _validate(options: TorchToCoreMLOptions) -> None:
    if options.compress not in _COMPRESS:
        raise ConfigError(f"compress {options.compress!r} is not a Core ML weight compression",
                          fix="use int8 or palettize (or leave empty)")
    if options.compress == "palettize" and options.palette_bits not in (1, 2, 3, 4, 6, 8):
        raise ConfigError(f"palette_bits {options.palette_bits} is not supported", fix="use 1, 2, 3, 4, 6 or 8")
    if options.compute_units not in _UNITS:
        raise ConfigError(f"compute_units {options.compute_units!r} is unknown", fix=f"use one of: {', '.join(_UNITS)}")
    if options.exporter not in ("auto", "exported-program", "trace"):
        raise ConfigError(f"exporter {options.exporter!r} is unknown", fix="use auto, exported-program or trace")


@CONVERTERS.register
class TorchToCoreML(Converter):
    name = "torch-to-coreml"
    source = Format.TORCH_EXPORT
    target = Format.COREML
    requires = ("torch", "coremltools")
    extra = "coreml"
    Options = TorchToCoreMLOptions
    precisions = ("fp16", "fp32")
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    description = "coremltools ct.convert(ExportedProgram) → ML Program .mlpackage, fp16/fp32, int8/palette weights"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, TorchToCoreMLOptions)
        _validate(options)  # before the (slow) coremltools import
        import coremltools as ct

        from edgeport.runtimes.coreml import META_PREFIX, inspect_coreml
        from edgeport.runtimes.torch import load_exported_program

        target = getattr(ct.target, options.deployment_target, None)
        if target is None:
            raise ConfigError(f"deployment_target {options.deployment_target!r} is unknown to coremltools",
                              fix="use e.g. iOS16, iOS17, iOS18, macOS14")
        program = load_exported_program(artifact.path)
        out_names = [s.name for s in artifact.outputs] or ["output"]
        common = {"convert_to": "mlprogram", "minimum_deployment_target": target,
                  "compute_precision": ct.precision.FLOAT16 if options.precision == "fp16" else ct.precision.FLOAT32,
                  "compute_units": getattr(ct.ComputeUnit, options.compute_units),
                  "outputs": [ct.TensorType(name=n) for n in out_names]}
        errors: list[str] = []
        model = None
        used = ""
        ways = ["exported-program", "trace"] if options.exporter == "auto" else [options.exporter]
        for way in ways:
            try:
                if way == "exported-program":
                    model = ct.convert(program.run_decompositions({}), **common)
                else:
                    model = ct.convert(_trace(program, artifact.inputs), inputs=_ct_inputs(ct, artifact.inputs,
                                                                                           options.dynamic_batch),
                                       **common)
                used = way
                break
            except Exception as exc:  # coremltools raises many types; unsupported ops name themselves
                if not _BACKEND(exc):
                    raise  # not the backend's failure: a bug keeps its traceback
                text = str(exc).strip().splitlines()
                errors.append(f"{way}: {(text[0] if text else type(exc).__name__)[:300]}")
        if model is None:
            raise ConversionError("Core ML conversion failed: " + "; ".join(errors), converter=self.name,
                                  stage="convert", fix="an op coremltools cannot convert is named above; "
                                  "replace it in the model or register a composite op with coremltools")
        if options.compress == "int8":
            from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

            config = OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8",
                                             weight_threshold=options.weight_threshold)
            model = linear_quantize_weights(model, OptimizationConfig(global_config=config))
        elif options.compress == "palettize":
            from coremltools.optimize.coreml import OpPalettizerConfig, OptimizationConfig, palettize_weights

            config = OpPalettizerConfig(mode="kmeans", nbits=options.palette_bits,
                                        weight_threshold=options.weight_threshold)
            model = palettize_weights(model, OptimizationConfig(global_config=config))
        compression = {"int8": "linear-int8", "palettize": f"palette-{options.palette_bits}bit"}.get(
            options.compress, "none")
        user = model.user_defined_metadata
        user[META_PREFIX + "compute_units"] = options.compute_units
        user[META_PREFIX + "compute_precision"] = options.precision
        user[META_PREFIX + "weight_compression"] = compression
        user[META_PREFIX + "source"] = artifact.path.name
        model.save(str(out))
        inv = inspect_coreml(out)
        spec_ins = [TensorSpec(d["name"], d["dtype"], tuple(d["shape"]), "NCHW" if len(d["shape"]) == 4 else None)
                    for d in inv.inputs]
        outputs = tuple(TensorSpec(d["name"], d["dtype"], src.shape if src is not None else tuple(d["shape"]))
                        for d, src in zip(inv.outputs, [*artifact.outputs, *([None] * len(inv.outputs))]))
        meta: dict[str, Any] = {"exporter": used, "compute_precision": options.precision,
                                "compute_units": options.compute_units, "weight_compression": compression,
                                "deployment_target": options.deployment_target, "opset": inv.opset,
                                "ops": inv.ops, "weight_bytes": inv.weight_bytes, "runnable_here": False,
                                "coremltools_version": ct.__version__}
        if errors:
            meta["fallback_reason"] = errors[0]
        return artifact.derive(out, Format.COREML, step=artifact.step or _placeholder_step(),
                               inputs=tuple(spec_ins), outputs=outputs, metadata=meta)


def _trace(program: Any, specs: tuple[TensorSpec, ...]) -> Any:
    import torch

    example = tuple(torch.zeros(s.concrete_shape(1), dtype=getattr(torch, s.dtype)) for s in specs)
    return torch.jit.trace(program.module().eval(), example)


def _ct_inputs(ct: Any, specs: tuple[TensorSpec, ...], dynamic_batch: bool) -> list[Any]:
    inputs = []
    for s in specs:
        dims: list[Any] = list(s.concrete_shape(1))
        if dynamic_batch and s.shape and not isinstance(s.shape[0], int):
            dims[0] = ct.RangeDim(lower_bound=1, upper_bound=1024, default=1)
        inputs.append(ct.TensorType(name=s.name, shape=ct.Shape(dims)))
    return inputs


def _placeholder_step() -> Any:  # the parent process records the real step
    from edgeport.core.artifact import Step

    return Step("convert", "torch-to-coreml")
