"""Quantise a float ``.tflite`` with Google's ``ai_edge_quantizer`` (no re-conversion from a source model).

Two passes, because one needs data and the other does not (the study leaves passes that need data
out when it has none):

- ``tflite-quantize``: static int8 weights and activations (or int16 activations for ``int16x8``),
  calibrated on the dataset's ``calibration`` split.
- ``tflite-weights``: weights only, no data: int8 weights with activations quantised on the fly
  (``int8-dynamic``), or float16 weights (``fp16``; compute stays float32).

Both keep float inputs and outputs, so the result is fed and compared like its parent. The float
model is first rewritten into a form the quantizer reads correctly (``passes/_tflite.py``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError
from edgeport.passes import PASSES
from edgeport.passes.base import Pass, PassOptions, sweep

__all__ = ["TfliteQuantize", "TfliteQuantizeOptions", "TfliteWeights", "TfliteWeightsOptions"]

_STATIC = {"int8": "static_wi8_ai8", "int16": "static_wi8_ai16"}
_WEIGHTS = {"int8-dynamic": "dynamic_wi8_afp32", "int8-weight-only": "weight_only_wi8_afp32",
            "fp16": "fp16_weights"}


@dataclass(frozen=True)
class TfliteQuantizeOptions(PassOptions):
    activations: str = "int8"  # int8 | int16 (int16x8: int16 activations, int8 weights)
    max_calibration_samples: int = 128  # calibration runs every sample through the float model
    min_calibration_samples: int = 32  # fewer → warning


@dataclass(frozen=True)
class TfliteWeightsOptions(PassOptions):
    weights: str = "int8-dynamic"  # int8-dynamic | int8-weight-only (float compute) | fp16


class _AEQPass(Pass):
    formats = frozenset({Format.TFLITE})
    # from a torch/ONNX source the LiteRT converters quantise from the source graph (measured faster than
    # AEQ's rewrite of the fp32 file); AEQ makes the int8/fp16 builds of a .tflite given as the source
    yields_to_converter = True
    requires = ("ai_edge_quantizer", "ai_edge_litert")
    extra = "tflite"

    def _recipe(self, options: Any) -> str:
        raise NotImplementedError

    def _calibration(self, artifact: Artifact, options: Any, data: Dataset | None) -> list[Any] | None:
        return None

    def pre_check(self, artifact: Artifact, options: Any, data: Dataset | None) -> list[str]:
        self._recipe(options)  # refuses an unknown option value before any work
        quantised = [s.name for s in (*artifact.inputs, *artifact.outputs) if s.dtype in ("int8", "uint8", "int16")]
        if quantised:
            return [f"{artifact.path.name} already has integer I/O ({', '.join(quantised)}): "
                    "quantise its float source instead"]
        return []

    def _apply(self, artifact: Artifact, out: Path, options: Any, data: Dataset | None) -> dict[str, Any]:
        from edgeport.passes._tflite import prepare_float_model, quantize_tflite, recipe

        kind = self._recipe(options)
        calibration = self._calibration(artifact, options, data)
        with tempfile.TemporaryDirectory(prefix="edgeport-aeq-", dir=out.parent) as work:
            prepared = Path(work) / "float.tflite"
            changes = prepare_float_model(artifact.path, prepared)
            quantize_tflite(prepared, out, recipe(kind), calibration, self.name)
        meta: dict[str, Any] = {"quantization": f"ai_edge_quantizer {kind}", "prepared": changes}
        if calibration is not None:
            meta["calibration_samples"] = len(calibration)
        return meta

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        from edgeport.passes._tflite import check_runs

        check_runs(produced, self.name)
        return []


@PASSES.register
class TfliteQuantize(_AEQPass):
    name = "tflite-quantize"
    Options = TfliteQuantizeOptions
    needs_data = True
    precision = "int8"
    sweeps = (sweep("int8"), sweep("int16x8", activations="int16", default=False))
    description = "ai_edge_quantizer static int8 (or int16x8) of a float .tflite, calibrated; float I/O kept"

    def precision_of(self, options: PassOptions) -> str:
        assert isinstance(options, TfliteQuantizeOptions)
        return "int16x8" if options.activations == "int16" else "int8"

    def _recipe(self, options: Any) -> str:
        assert isinstance(options, TfliteQuantizeOptions)
        if options.activations not in _STATIC:
            raise ConfigError(f"activations {options.activations!r} is not supported",
                              fix=f"use one of: {', '.join(_STATIC)}")
        return _STATIC[options.activations]

    def pre_check(self, artifact: Artifact, options: Any, data: Dataset | None) -> list[str]:
        warnings = super().pre_check(artifact, options, data)
        assert data is not None
        cal = data.split("calibration")
        if cal.count < options.min_calibration_samples:
            warnings.append(f"calibration set has {cal.count} samples, fewer than {options.min_calibration_samples}: "
                            "activation ranges may be unrepresentative")
        return warnings

    def _calibration(self, artifact: Artifact, options: Any, data: Dataset | None) -> list[Any] | None:
        from edgeport.passes._tflite import calibration_samples

        assert data is not None
        return calibration_samples(artifact, data.split("calibration"), options.max_calibration_samples)


@PASSES.register
class TfliteWeights(_AEQPass):
    name = "tflite-weights"
    Options = TfliteWeightsOptions
    precision = "int8-dynamic"
    sweeps = (sweep("int8-dynamic"), sweep("fp16", weights="fp16"))
    description = "ai_edge_quantizer weights-only: int8 dynamic-range or fp16 weights of a float .tflite (no data)"

    def precision_of(self, options: PassOptions) -> str:
        assert isinstance(options, TfliteWeightsOptions)
        return "fp16" if options.weights == "fp16" else "int8-dynamic"

    def _recipe(self, options: Any) -> str:
        assert isinstance(options, TfliteWeightsOptions)
        if options.weights not in _WEIGHTS:
            raise ConfigError(f"weights {options.weights!r} is not supported", fix=f"use one of: {', '.join(_WEIGHTS)}")
        return _WEIGHTS[options.weights]
