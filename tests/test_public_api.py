"""``edgeport.__all__`` is exact: the curated public API, nothing missing, nothing stale.

Adding a public name means adding it here too — on purpose: the public API is a promise.
"""

from __future__ import annotations

import edgeport

PUBLIC_API = {
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
}

# the functions the CLI commands call, by the name the CLI command has
COMMAND_FUNCTIONS = {"bench", "calibrate", "check", "convert", "fit", "package", "quantize", "verify"}


def test_all_is_exactly_the_public_api():
    assert set(edgeport.__all__) == PUBLIC_API
    assert len(edgeport.__all__) == len(set(edgeport.__all__)), "duplicates in __all__"


def test_all_is_sorted():
    assert list(edgeport.__all__) == sorted(edgeport.__all__)


def test_every_name_in_all_exists():
    missing = [name for name in edgeport.__all__ if not hasattr(edgeport, name)]
    assert missing == []


def test_no_public_name_is_left_out_of_all():
    """Every public attribute of the package is either in __all__ or a subpackage/module."""
    import types

    for name in edgeport.__all__:  # resolve the lazy names first
        getattr(edgeport, name)
    public = {n for n, v in vars(edgeport).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    public -= {"annotations", "TYPE_CHECKING", "Any"}  # from __future__ / typing, used by the lazy loader
    assert public - set(edgeport.__all__) == set()


def test_lazy_table_matches_all():
    """Public names load lazily (``edgeport --help`` stays fast): each has an entry in ``_LAZY``."""
    import importlib

    assert set(edgeport._LAZY) | {"__version__"} == set(edgeport.__all__)
    for name, where in edgeport._LAZY.items():
        module, _, attribute = where.partition(":")
        assert getattr(importlib.import_module(module), attribute or name) is getattr(edgeport, name)


def test_command_functions_are_functions_even_after_their_subpackages_load():
    """``edgeport.convert`` / ``verify`` / ``bench`` share names with subpackages: importing those
    subpackages (in either order) must not replace the public functions."""
    import importlib
    import inspect
    import subprocess
    import sys

    for name in COMMAND_FUNCTIONS:
        assert inspect.isfunction(getattr(edgeport, name)), name
    importlib.import_module("edgeport.convert.planner")
    importlib.import_module("edgeport.bench.stats")
    importlib.import_module("edgeport.verify.metrics")
    assert all(inspect.isfunction(getattr(edgeport, n)) for n in COMMAND_FUNCTIONS)
    # a fresh process where the subpackages load before the public names are first looked up
    code = ("import inspect, edgeport.convert.planner, edgeport.verify.tolerance, edgeport.bench.stats\n"
            "from edgeport import bench, convert, verify\n"
            "assert all(inspect.isfunction(f) for f in (bench, convert, verify)), (bench, convert, verify)\n"
            "assert convert.__module__ == 'edgeport.convert.api' and bench.__name__ == 'bench_matrix'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_unknown_attribute_is_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        edgeport.no_such_name  # noqa: B018


def test_star_import_gives_exactly_all():
    ns: dict[str, object] = {}
    exec("from edgeport import *", ns)
    assert {n for n in ns if n != "__builtins__"} == set(edgeport.__all__)
