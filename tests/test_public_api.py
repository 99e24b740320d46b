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
}


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
    assert set(edgeport._LAZY) | {"__version__"} == set(edgeport.__all__)
    for name, module in edgeport._LAZY.items():
        assert getattr(__import__(module, fromlist=[name]), name) is getattr(edgeport, name)


def test_unknown_attribute_is_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        edgeport.no_such_name  # noqa: B018


def test_star_import_gives_exactly_all():
    ns: dict[str, object] = {}
    exec("from edgeport import *", ns)
    assert {n for n in ns if n != "__builtins__"} == set(edgeport.__all__)
