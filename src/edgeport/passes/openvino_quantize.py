"""NNCF int8 post-training quantisation of an OpenVINO IR, optionally accuracy-controlled.

Calibrates on the dataset's ``calibration`` split (``nncf.quantize``). With
``max_accuracy_drop`` set, ``nncf.quantize_with_accuracy_control`` measures top-1 accuracy on
the labelled ``test`` split and reverts the most damaging layers to float until the drop is
within budget; the result records how many weight layers stayed float.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeport.convert._openvino import NNCFSettings, quantize_int8, save_ir
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.passes import PASSES
from edgeport.passes.base import Pass, PassOptions, sweep
from edgeport.verify.tolerance import Tolerance

__all__ = ["OpenVINOQuantize", "OpenVINOQuantizeOptions"]


@dataclass(frozen=True)
class OpenVINOQuantizeOptions(PassOptions):
    subset_size: int = 300  # calibration samples
    preset: str = "performance"  # performance (symmetric) | mixed (asymmetric activations)
    fast_bias_correction: bool = True
    model_type: str | None = None  # None | transformer
    max_accuracy_drop: float | None = None  # absolute top-1 drop on the test split (accuracy control)
    validation_split: str = "test"  # the labelled split accuracy control measures


@PASSES.register
class OpenVINOQuantize(Pass):
    name = "openvino-quantize"
    formats = frozenset({Format.OPENVINO})
    requires = ("openvino", "nncf")
    extra = "openvino"
    Options = OpenVINOQuantizeOptions
    needs_data = True
    precision = "int8"
    sweeps = (sweep("int8"),)  # NNCF defaults; accuracy control is quantize's budget, not a sweep point
    description = "NNCF int8 PTQ of an OpenVINO IR (calibrated); optional accuracy control with a max top-1 drop"

    def tolerance(self, options: PassOptions) -> Tolerance:
        assert isinstance(options, OpenVINOQuantizeOptions)
        base = Tolerance.for_precision("int8")
        if options.max_accuracy_drop is None:
            return base
        return Tolerance(atol=None, rtol=None, min_cosine=base.min_cosine, min_top1_agreement=base.min_top1_agreement,
                         max_accuracy_drop=options.max_accuracy_drop)

    def pre_check(self, artifact: Artifact, options: PassOptions, data: Dataset | None) -> list[str]:
        assert isinstance(options, OpenVINOQuantizeOptions) and data is not None
        warnings = []
        cal = data.split("calibration")
        if cal.count < min(options.subset_size, 100):
            warnings.append(f"calibration split has {cal.count} samples: activation ranges may be unrepresentative")
        if artifact.metadata.get("fake_quantize_ops"):
            warnings.append("the model is already quantised (FakeQuantize ops present)")
        return warnings

    def _apply(self, artifact: Artifact, out: Path, options: Any, data: Dataset | None) -> dict[str, Any]:
        import openvino as ov

        assert isinstance(options, OpenVINOQuantizeOptions) and data is not None
        model = ov.Core().read_model(str(artifact.path))
        settings = NNCFSettings(subset_size=options.subset_size, preset=options.preset,
                                fast_bias_correction=options.fast_bias_correction, model_type=options.model_type,
                                max_accuracy_drop=options.max_accuracy_drop)
        validation = data.split(options.validation_split) if options.max_accuracy_drop is not None else None
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF draws rich progress bars on stdout
            quantized, meta = quantize_int8(model, artifact.inputs, data.split("calibration"), settings, validation)
        save_ir(ov, quantized, out, compress_to_fp16=False)
        return meta
