"""The main job: variants × targets → verified, measured candidates → Pareto frontier → recommendation.

``run_study(StudyOptions(...))`` is what ``edgeport optimize`` calls; a recipe file parses into the
same ``StudyOptions`` (``load_recipe``).
"""

from __future__ import annotations

from edgeport.study.options import BenchSettings, Constraints, StudyOptions, load_recipe
from edgeport.study.study import StudyResult, run_study

__all__ = ["BenchSettings", "Constraints", "StudyOptions", "StudyResult", "load_recipe", "run_study"]
