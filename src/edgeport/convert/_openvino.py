"""OpenVINO helpers shared by the ONNX/PyTorch → IR converters and the NNCF quantisation pass.

``ov.convert_model`` reads the source, ``save_ir`` writes ``.xml`` + ``.bin`` under a temporary
name and renames both into place, ``quantize_int8`` runs NNCF post-training quantisation
(optionally with accuracy control on a labelled validation split), and ``conversion_error``
turns OpenVINO's multi-line failures into one line quoting OpenVINO's first meaningful line and the
step that failed (convert_model, compile_model) — never an operator list guessed from its text.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, DatasetError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("openvino")

__all__ = ["NNCFSettings", "OpenVINOConvertOptions", "OpenVINOConverter", "backend_first_line", "conversion_error", "input_shapes", "name_outputs", "quantize_int8", "save_ir"]

_PRESETS = ("performance", "mixed")
_MODEL_TYPES = ("transformer",)


@dataclass(frozen=True)
class NNCFSettings:
    """NNCF post-training quantisation knobs (``nncf.quantize`` arguments)."""

    subset_size: int = 300  # calibration samples used (the calibration split is capped to this)
    preset: str = "performance"  # performance (symmetric) | mixed (asymmetric activations)
    fast_bias_correction: bool = True
    model_type: str | None = None  # None | transformer
    max_accuracy_drop: float | None = None  # absolute top-1 drop: nncf.quantize_with_accuracy_control


def input_shapes(ov: Any, specs: tuple[TensorSpec, ...], dynamic_batch: bool) -> list[tuple[str, Any, Any]]:
    """``input=`` for ``ov.convert_model``: each input's name, shape and type.

    An unknown batch stays dynamic with ``dynamic_batch`` (else 1); a static batch stays static —
    making it dynamic breaks models whose Reshape constants hold that batch (YOLO heads do).
    """
    result = []
    for spec in specs:
        dims = [d if isinstance(d, int) and d >= 0 else -1 for d in spec.shape]
        if dims and not dynamic_batch and dims[0] < 0:
            dims[0] = 1
        result.append((spec.name, ov.PartialShape(dims), ov.Type(np.dtype(spec.dtype))))
    return result


def batch_follows(ov: Any, model: Any) -> bool:
    """Whether the outputs take the batch the inputs get: a graph converted from a batch-1 file (a
    Reshape to ``[1, -1, C]``) keeps batch 1 however its input is declared, and must stay static."""
    inputs = [p.get_partial_shape() for p in model.inputs]
    if not inputs or any(s.rank.is_dynamic or len(s) == 0 for s in inputs):
        return True
    probe = model.clone()
    shapes = {}
    for port, shape in zip(probe.inputs, inputs):
        dims = [d.get_length() if d.is_static else -1 for d in shape]
        dims[0] = 2
        shapes[port] = ov.PartialShape(dims)
    try:
        probe.reshape(shapes)
    except Exception as exc:  # the graph refuses batch 2 (OpenVINO's own exception types, or RuntimeError)
        if not (_BACKEND(exc) or isinstance(exc, RuntimeError)):
            raise
        return False
    for port in probe.outputs:
        shape = port.get_partial_shape()
        if shape.rank.is_static and len(shape) and shape[0].is_static and shape[0].get_length() != 2:
            return False
    return True


def name_outputs(model: Any, specs: tuple[TensorSpec, ...]) -> None:
    """Give the IR's outputs the source model's output names (verification pairs outputs by name)."""
    if len(specs) != len(model.outputs):
        return
    for port, spec in zip(model.outputs, specs):
        port.get_tensor().set_names({spec.name})


def conversion_error(exc: BaseException, converter: str, step: str) -> ConversionError:
    """One line for a failed OpenVINO ``step`` (convert_model, compile_model) quoting OpenVINO's own words."""
    return ConversionError(f"OpenVINO {step} failed: {backend_first_line(exc)}", converter=converter, stage=step,
                           fix="the quoted line is OpenVINO's; pass --shape for dynamic inputs, or run the model "
                               "with ONNX Runtime")


_NOISE = re.compile(r"^(Check '.*' failed at |Exception from |\[ ?\w+ ?\]$|Traceback|File \")")


def backend_first_line(exc: BaseException, limit: int = 300) -> str:
    """A backend's own message on one line: its lines that say something (not source locations), joined.

    OpenVINO's first line is often a header ("FrontEnd API failed with OpConversionFailure:") and the
    cause follows on the next lines, so they are quoted together up to ``limit`` characters.
    """
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    said = [ln for ln in lines if not _NOISE.match(ln)] or lines or [type(exc).__name__]
    text = " ".join(said)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def save_ir(ov: Any, model: Any, out: Path, *, compress_to_fp16: bool) -> None:
    """Write ``out`` (.xml) and its ``.bin`` under temporary names, then rename both into place."""
    out = Path(out)
    tmp_xml = out.with_name(f".{out.stem}.partial.xml")
    tmp_bin = tmp_xml.with_suffix(".bin")
    try:
        ov.save_model(model, str(tmp_xml), compress_to_fp16=compress_to_fp16)
        os.replace(tmp_bin, out.with_suffix(".bin"))
        os.replace(tmp_xml, out)
    finally:
        tmp_xml.unlink(missing_ok=True)
        tmp_bin.unlink(missing_ok=True)


def _samples(data: Dataset, specs: tuple[TensorSpec, ...]) -> list[Any]:
    """One NNCF data item per sample: the array for single-input models, else a name → array dict."""
    items = []
    for feeds in data.batches(specs, 1):
        arrays = {k: np.ascontiguousarray(v.astype(np.dtype(s.dtype))) for (k, v), s in zip(feeds.items(), specs)}
        items.append(next(iter(arrays.values())) if len(arrays) == 1 else arrays)
    return items


def _check(settings: NNCFSettings) -> None:
    if settings.preset not in _PRESETS:
        raise ConfigError(f"preset {settings.preset!r} is not an NNCF preset", fix=f"use one of: {', '.join(_PRESETS)}")
    if settings.model_type is not None and settings.model_type not in _MODEL_TYPES:
        raise ConfigError(f"model_type {settings.model_type!r} is not supported", fix="use None or 'transformer'")
    if settings.subset_size < 1:
        raise ConfigError(f"subset_size {settings.subset_size} must be ≥ 1", fix="use e.g. 300")
    if settings.max_accuracy_drop is not None and not 0 <= settings.max_accuracy_drop < 1:
        raise ConfigError(f"max_accuracy_drop {settings.max_accuracy_drop} is not an absolute drop in [0, 1)",
                          fix="use e.g. 0.01 for one point of top-1 accuracy")


def quantize_int8(model: Any, specs: tuple[TensorSpec, ...], calibration: Dataset, settings: NNCFSettings,
                  validation: Dataset | None = None) -> tuple[Any, dict[str, Any]]:
    """NNCF int8 PTQ of an ``ov.Model``; with ``settings.max_accuracy_drop``, accuracy-controlled on ``validation``."""
    from edgeport._optional import require

    nncf = require("nncf", "openvino", "int8 quantisation of OpenVINO models")
    _check(settings)
    quiet = _quiet_nncf(nncf)
    try:
        return _quantize(nncf, model, specs, calibration, settings, validation)
    finally:
        quiet()


def _quiet_nncf(nncf: Any) -> Any:
    """NNCF logs every step at INFO; keep warnings only while edgeport drives it. Returns the undo."""
    import logging

    logger = logging.getLogger("nncf")
    previous = logger.level
    nncf.set_log_level(logging.WARNING)
    return lambda: nncf.set_log_level(previous)


def _quantize(nncf: Any, model: Any, specs: tuple[TensorSpec, ...], calibration: Dataset, settings: NNCFSettings,
              validation: Dataset | None) -> tuple[Any, dict[str, Any]]:
    cal = calibration.head(settings.subset_size)
    if cal.count == 0:
        raise DatasetError("the calibration split is empty", fix="give the dataset a calibration split")
    cal_set = nncf.Dataset(_samples(cal, specs))
    kwargs: dict[str, Any] = {
        "preset": nncf.QuantizationPreset.MIXED if settings.preset == "mixed" else nncf.QuantizationPreset.PERFORMANCE,
        "subset_size": cal.count, "fast_bias_correction": settings.fast_bias_correction}
    if settings.model_type == "transformer":
        kwargs["model_type"] = nncf.ModelType.TRANSFORMER
    meta: dict[str, Any] = {"quantization": "nncf-ptq", "calibration_samples": cal.count,
                            "preset": settings.preset}
    if settings.max_accuracy_drop is None:
        return nncf.quantize(model, cal_set, **kwargs), meta
    if validation is None or validation.labels is None or validation.task != "classification":
        raise DatasetError("accuracy-controlled quantisation needs a labelled classification split",
                           fix="use a dataset with integer labels, or drop max_accuracy_drop")
    labels = np.asarray(validation.labels)
    val_set = nncf.Dataset(list(zip(_samples(validation, specs), labels.tolist())), lambda item: item[0])

    def top1(compiled: Any, items: Any) -> float:
        port = compiled.outputs[0]
        hits = [int(np.asarray(compiled(x)[port]).reshape(-1).argmax() == y) for x, y in items]
        return float(np.mean(hits)) if hits else 0.0

    quantized = nncf.quantize_with_accuracy_control(model, cal_set, val_set, top1,
                                                    max_drop=settings.max_accuracy_drop, **kwargs)
    reverted = sum(1 for op in model.get_ordered_ops() if op.get_type_name() in ("Convolution", "MatMul")) - \
        _quantized_weight_ops(quantized)
    meta.update(quantization="nncf-accuracy-control", max_accuracy_drop=settings.max_accuracy_drop,
                validation_samples=validation.count, float_weight_ops=max(reverted, 0))
    return quantized, meta


def _quantized_weight_ops(model: Any) -> int:
    """Convolution/MatMul ops whose weights come through a FakeQuantize / int8 constant (quantised)."""
    count = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() not in ("Convolution", "MatMul"):
            continue
        producer = op.input_value(1).get_node()
        seen = 0
        while producer is not None and seen < 6:
            kind = producer.get_type_name()
            if kind == "FakeQuantize" or (kind == "Constant" and producer.get_element_type().is_integral()):
                count += 1
                break
            if producer.get_input_size() == 0:
                break
            producer = producer.input_value(0).get_node()
            seen += 1
    return count

# ---- the converter base shared by the ONNX and PyTorch edges ---------------------------------------


@dataclass(frozen=True)
class OpenVINOConvertOptions(ConvertOptions):
    """fp32 keeps fp32 weights; fp16 stores weights in fp16 (``compress_to_fp16``); int8 is NNCF PTQ."""

    dynamic_batch: bool = True  # an unknown batch stays dynamic in the IR (False: 1); a static one stays
    subset_size: int = 300  # int8: calibration samples
    preset: str = "performance"  # int8: performance (symmetric) | mixed
    fast_bias_correction: bool = True
    model_type: str | None = None  # int8: None | transformer


class OpenVINOConverter(Converter):
    """Source model → ``ov.Model`` (subclass hook) → optional NNCF int8 → ``.xml`` + ``.bin``."""

    target = Format.OPENVINO
    requires = ("openvino",)
    extra = "openvino"
    Options = OpenVINOConvertOptions
    precisions = ("fp32", "fp16", "int8")
    needs_data = ("int8",)
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)

    def _read(self, ov: Any, artifact: Artifact, options: OpenVINOConvertOptions) -> Any:
        raise NotImplementedError

    def _prepare(self, artifact: Artifact, options: OpenVINOConvertOptions, work: Path) -> tuple[Artifact, dict[str, Any]]:
        """The artifact ``_read`` reads (a prepared copy in ``work``) and metadata for the result."""
        return artifact, {}

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, OpenVINOConvertOptions)
        with tempfile.TemporaryDirectory(prefix=".openvino-prepare-", dir=out.parent) as work:
            source, meta = self._prepare(artifact, options, Path(work))
            return self._convert_prepared(artifact, source, out, options, calibration, meta)

    def _convert_prepared(self, artifact: Artifact, source: Artifact, out: Path, options: OpenVINOConvertOptions,
                          calibration: Dataset | None, meta: dict[str, Any]) -> Artifact:
        import openvino as ov

        try:
            model = self._read(ov, source, options)
        except ConversionError:
            raise
        except Exception as exc:  # frontends raise OpConversionFailure, GeneralFailure, RuntimeError...
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            raise conversion_error(exc, self.name, "convert_model") from exc
        if options.dynamic_batch and not batch_follows(ov, model):  # e.g. a Reshape baked to batch 1
            model = self._read(ov, source, dataclasses.replace(options, dynamic_batch=False))
        name_outputs(model, source.outputs)
        meta.update({"precision": options.precision, "weights": "fp16" if options.precision == "fp16" else "fp32",
                     "openvino": ov.get_version().split("-")[0]})
        if options.precision == "int8":
            if calibration is None:
                raise ConfigError(f"{self.name} int8 needs calibration data", fix="pass --data D")
            settings = NNCFSettings(subset_size=options.subset_size, preset=options.preset,
                                    fast_bias_correction=options.fast_bias_correction, model_type=options.model_type)
            model, qmeta = quantize_int8(model, source.inputs, calibration, settings)
            meta.update(qmeta, weights="int8")
        try:
            ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        except Exception as exc:  # a model that converts but cannot compile fails here, not at verification
            if not _BACKEND(exc):
                raise
            raise conversion_error(exc, self.name, "compile_model") from exc
        save_ir(ov, model, out, compress_to_fp16=options.precision == "fp16")
        written = load_artifact(out, format=Format.OPENVINO)
        layouts = {s.name: s.layout for s in source.inputs}
        inputs = tuple(TensorSpec(s.name, s.dtype, s.shape, s.layout or layouts.get(s.name), s.quant)
                       for s in written.inputs)
        meta.update(written.metadata)
        return artifact.derive(out, Format.OPENVINO, step=Step("convert", self.name), inputs=inputs,
                               outputs=written.outputs, metadata=meta)
