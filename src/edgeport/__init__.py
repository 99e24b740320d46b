"""edgeport: take a trained neural network to edge devices and prove it still works there.

The public API is exactly ``__all__``; importing this package imports no ML framework.
"""

from __future__ import annotations

from edgeport.analysis.profile import ProfileResult, profile
from edgeport.bench.harness import BenchmarkConfig, BenchmarkResult, benchmark
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format, detect_format
from edgeport.core.tensors import QuantParams, TensorSpec
from edgeport.data.datasets import Dataset, load_dataset
from edgeport.errors import (
    CheckFailed,
    ConversionError,
    EdgeportError,
    MissingDependencyError,
)
from edgeport.verify.tolerance import Tolerance

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "BenchmarkConfig",
    "BenchmarkResult",
    "CheckFailed",
    "ConversionError",
    "Dataset",
    "EdgeportError",
    "Format",
    "MissingDependencyError",
    "ProfileResult",
    "QuantParams",
    "Step",
    "TensorSpec",
    "Tolerance",
    "__version__",
    "benchmark",
    "detect_format",
    "load_artifact",
    "load_dataset",
    "profile",
]
