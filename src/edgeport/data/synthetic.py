"""Synthetic feeds for an artifact: its recorded input plan, plus the values its graph implies.

``core.inputs.synthetic_feeds`` works from specs alone; an artifact also knows its file, so the
values its graph implies for scalar control inputs (``graph.input_hints``: silero's ``sr`` →
16000) fill what the user's plan leaves open. Every call site that makes data for a model given
without any (verify, convert, bench, the study) goes through ``feed_plan`` / ``synthetic_data``.
"""

from __future__ import annotations

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.inputs import InputPlan, synthetic_feeds
from edgeport.data.datasets import Dataset
from edgeport.errors import EdgeportError

__all__ = ["feed_plan", "synthetic_data"]


def feed_plan(artifact: Artifact, plan: InputPlan | None = None) -> InputPlan:
    """``plan`` (default: the artifact's recorded one) with graph-implied values for inputs it leaves open."""
    plan = plan if plan is not None else artifact.input_plan
    open_ints = [s for s in artifact.inputs if s.name not in plan.values and len(s.shape) <= 1
                 and np.dtype(s.dtype).kind in "iu"]
    if not open_ints:
        return plan
    from edgeport.graph.input_hints import input_hints
    from edgeport.graph.load import GRAPH_FORMATS, load_graph

    if artifact.format not in GRAPH_FORMATS:
        return plan
    try:
        hints = input_hints(load_graph(artifact))
    except EdgeportError:  # an unreadable graph implies nothing; the runtime will say what is wrong
        return plan
    return plan.with_defaults(hints)


def synthetic_data(artifact: Artifact, count: int = 16, seed: int = 0, plan: InputPlan | None = None) -> Dataset:
    """``count`` synthetic samples ``artifact`` accepts (see ``core.inputs`` for the rules)."""
    return synthetic_feeds(artifact.inputs, count, seed, feed_plan(artifact, plan))  # type: ignore[no-any-return]
