"""edgeport: take a trained neural network to edge devices and prove it still works there.

The public API is exactly ``__all__``; importing this package imports no ML framework.

``convert``, ``verify`` and ``bench`` are functions, though subpackages of the same names exist:
the functions win (``edgeport.convert(model, "tflite")``), and the subpackages are reached by
importing from them (``from edgeport.convert.api import ConversionResult``, ``from edgeport.convert
import api``), not as attributes — so ``import edgeport.convert.api as api`` does not work.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from edgeport._version import __version__

if TYPE_CHECKING:  # the names below load lazily (PEP 562): ``edgeport --help`` must not pay for numpy
    from edgeport.analysis.check import check
    from edgeport.analysis.memory import fit
    from edgeport.analysis.profile import ProfileResult, profile
    from edgeport.bench.harness import BenchmarkConfig, BenchmarkResult, benchmark
    from edgeport.bench.matrix import bench_matrix as bench
    from edgeport.compress.quantize import quantize
    from edgeport.convert.api import convert
    from edgeport.core.artifact import Artifact, Step, load_artifact
    from edgeport.core.formats import Format, detect_format
    from edgeport.core.precision import Precision
    from edgeport.core.tensors import QuantParams, TensorSpec
    from edgeport.data.datasets import Dataset, load_dataset
    from edgeport.deploy.manifest import package
    from edgeport.errors import (
        CheckFailed,
        ConversionError,
        EdgeportError,
        MissingDependencyError,
    )
    from edgeport.pipeline import PipelineSpec, load_pipeline, run_pipeline
    from edgeport.study import Constraints, StudyOptions, StudyResult, load_recipe, run_study, run_sweep
    from edgeport.verify.compare import verify
    from edgeport.verify.tolerance import Tolerance

__all__ = [
    "Artifact",
    "BenchmarkConfig",
    "BenchmarkResult",
    "CheckFailed",
    "Constraints",
    "ConversionError",
    "Dataset",
    "EdgeportError",
    "Format",
    "InputPlan",
    "MissingDependencyError",
    "PipelineSpec",
    "Precision",
    "ProfileResult",
    "QuantParams",
    "Step",
    "StudyOptions",
    "StudyResult",
    "TensorSpec",
    "Tolerance",
    "__version__",
    "bench",
    "benchmark",
    "calibrate",
    "check",
    "convert",
    "detect_format",
    "fit",
    "load_artifact",
    "load_dataset",
    "load_pipeline",
    "load_recipe",
    "package",
    "profile",
    "quantize",
    "run_pipeline",
    "run_study",
    "run_sweep",
    "verify",
]

# public name -> "module" defining it under that name, or "module:attribute". Add new public names
# here (and to __all__), not as eager imports.
_LAZY = {
    "Artifact": "edgeport.core.artifact",
    "BenchmarkConfig": "edgeport.bench.harness",
    "BenchmarkResult": "edgeport.bench.harness",
    "CheckFailed": "edgeport.errors",
    "Constraints": "edgeport.study.options",
    "ConversionError": "edgeport.errors",
    "Dataset": "edgeport.data.datasets",
    "EdgeportError": "edgeport.errors",
    "Format": "edgeport.core.formats",
    "InputPlan": "edgeport.core.inputs",
    "Precision": "edgeport.core.precision",
    "MissingDependencyError": "edgeport.errors",
    "PipelineSpec": "edgeport.pipeline.spec",
    "ProfileResult": "edgeport.analysis.profile",
    "QuantParams": "edgeport.core.tensors",
    "Step": "edgeport.core.artifact",
    "StudyOptions": "edgeport.study.options",
    "StudyResult": "edgeport.study.result",
    "TensorSpec": "edgeport.core.tensors",
    "Tolerance": "edgeport.verify.tolerance",
    "bench": "edgeport.bench.matrix:bench_matrix",
    "benchmark": "edgeport.bench.harness",
    "calibrate": "edgeport.predict.calibrate",
    "check": "edgeport.analysis.check",
    "convert": "edgeport.convert.api",
    "detect_format": "edgeport.core.formats",
    "fit": "edgeport.analysis.memory",
    "load_artifact": "edgeport.core.artifact",
    "load_dataset": "edgeport.data.datasets",
    "load_pipeline": "edgeport.pipeline.spec",
    "load_recipe": "edgeport.study.options",
    "package": "edgeport.deploy.manifest",
    "profile": "edgeport.analysis.profile",
    "quantize": "edgeport.compress.quantize",
    "run_pipeline": "edgeport.pipeline.pipeline",
    "run_study": "edgeport.study.study",
    "run_sweep": "edgeport.study.sweep",
    "verify": "edgeport.verify.compare",
}


def _resolve(name: str) -> Any:
    import importlib

    module, _, attribute = _LAZY[name].partition(":")
    return getattr(importlib.import_module(module), attribute or name)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgeport' has no attribute {name!r}")
    value = _resolve(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``edgeport`` itself: importing a subpackage named like a public function (``edgeport.convert``)
    must not replace the function with the subpackage, which Python's import system would do."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
