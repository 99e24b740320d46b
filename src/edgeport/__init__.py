"""edgeport: take a trained neural network to edge devices and prove it still works there.

The public API is exactly ``__all__``; importing this package imports no ML framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeport._version import __version__

if TYPE_CHECKING:  # the names below load lazily (PEP 562): ``edgeport --help`` must not pay for numpy
    from edgeport.analysis.profile import ProfileResult, profile
    from edgeport.bench.harness import BenchmarkConfig, BenchmarkResult, benchmark
    from edgeport.core.artifact import Artifact, Step, load_artifact
    from edgeport.core.formats import Format, detect_format
    from edgeport.core.tensors import QuantParams, TensorSpec
    from edgeport.data.datasets import Dataset, load_dataset
    from edgeport.study import Constraints, StudyOptions, StudyResult, load_recipe, run_study
    from edgeport.errors import (
        CheckFailed,
        ConversionError,
        EdgeportError,
        MissingDependencyError,
    )
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
    "MissingDependencyError",
    "ProfileResult",
    "QuantParams",
    "Step",
    "StudyOptions",
    "StudyResult",
    "TensorSpec",
    "Tolerance",
    "__version__",
    "benchmark",
    "detect_format",
    "load_artifact",
    "load_dataset",
    "load_recipe",
    "profile",
    "run_study",
]

# public name -> module defining it. Add new public names here (and to __all__), not as eager imports.
_LAZY = {
    "Artifact": "edgeport.core.artifact",
    "BenchmarkConfig": "edgeport.bench.harness",
    "BenchmarkResult": "edgeport.bench.harness",
    "CheckFailed": "edgeport.errors",
    "Constraints": "edgeport.study",
    "ConversionError": "edgeport.errors",
    "Dataset": "edgeport.data.datasets",
    "EdgeportError": "edgeport.errors",
    "Format": "edgeport.core.formats",
    "MissingDependencyError": "edgeport.errors",
    "ProfileResult": "edgeport.analysis.profile",
    "QuantParams": "edgeport.core.tensors",
    "Step": "edgeport.core.artifact",
    "StudyOptions": "edgeport.study",
    "StudyResult": "edgeport.study",
    "TensorSpec": "edgeport.core.tensors",
    "Tolerance": "edgeport.verify.tolerance",
    "benchmark": "edgeport.bench.harness",
    "detect_format": "edgeport.core.formats",
    "load_artifact": "edgeport.core.artifact",
    "load_dataset": "edgeport.data.datasets",
    "load_recipe": "edgeport.study",
    "profile": "edgeport.analysis.profile",
    "run_study": "edgeport.study",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edgeport' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
