"""The main job: variants × targets → verified, measured candidates → Pareto frontier → recommendation.

``run_study(StudyOptions(...))`` is what ``edgeport optimize`` calls (``run_sweep``: many models, for
``edgeport sweep``); a recipe file parses into the same ``StudyOptions`` (``load_recipe``). The names load lazily (PEP 562): the CLI reads the options'
defaults for its ``--help`` without importing the study machinery (and numpy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeport.study.options import BenchSettings, Constraints, StudyOptions, load_recipe
    from edgeport.study.result import StudyResult
    from edgeport.study.study import run_study
    from edgeport.study.sweep import run_sweep

__all__ = ["BenchSettings", "Constraints", "StudyOptions", "StudyResult", "load_recipe", "run_study", "run_sweep"]

_LAZY = {
    "BenchSettings": "edgeport.study.options",
    "Constraints": "edgeport.study.options",
    "StudyOptions": "edgeport.study.options",
    "StudyResult": "edgeport.study.result",
    "load_recipe": "edgeport.study.options",
    "run_study": "edgeport.study.study",
    "run_sweep": "edgeport.study.sweep",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edgeport.study' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
