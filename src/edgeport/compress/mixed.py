"""Accuracy-budgeted mixed precision: keep the most sensitive layers in float until the measured
accuracy drop on the test split fits the budget.

The search is greedy by per-layer sensitivity: rank the quantisable layers (most sensitive
first), then quantise everything except the top-k layers for k = 0, 1, … and stop at the first
configuration whose measured drop fits. Sensitivity comes from a ``SensitivityFn``; the default
(``edgeport.compress.sensitivity.calibration_ranking``) quantises one layer at a time and measures
on the *calibration* split — the test split only judges the budget.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.compress.sensitivity import LayerSensitivity
from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset

__all__ = ["FloatLayer", "MixedPrecisionResult", "SearchStep", "SensitivityFn",
           "default_sensitivity", "parse_budget", "search_onnx"]

_EPS = 1e-9


@dataclass
class FloatLayer:
    node: str
    op_type: str
    sensitivity: float
    reason: str


@dataclass
class SearchStep:
    float_layers: list[str]
    accuracy: float | None
    accuracy_drop: float | None
    size_bytes: int
    meets_budget: bool


@dataclass
class MixedPrecisionResult:
    budget: float  # max accuracy drop allowed (absolute fraction: 0.005 = 0.5 points)
    met: bool
    float_layers: list[FloatLayer]
    best: SearchStep
    steps: list[SearchStep] = field(default_factory=list)
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    sensitivity_source: str = ""


SensitivityFn = Callable[[Artifact, Dataset, Any], list[LayerSensitivity]]


def parse_budget(text: str | float) -> float:
    """``"0.5%"`` → 0.005, ``"0.005"`` → 0.005 (accuracy points as a fraction)."""
    from edgeport.errors import ConfigError

    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = text.strip()
        try:
            value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ConfigError(f"accuracy budget {text!r} is not a number", fix="e.g. --max-accuracy-drop 0.5%") from None
    if not 0 <= value < 1:
        raise ConfigError(f"accuracy budget {text!r} is outside [0, 100%)", fix="e.g. --max-accuracy-drop 0.5%")
    return value


def default_sensitivity() -> tuple[SensitivityFn, str]:
    """One layer quantised at a time, measured on the calibration split (``compress.sensitivity``)."""
    from edgeport.compress.sensitivity import calibration_ranking

    return calibration_ranking, "edgeport.compress.sensitivity (one layer quantised at a time, calibration split)"


def _quantised_node_names(artifact: Artifact, opts: Any) -> set[str]:
    """Names of the nodes the static pass will see (after its pre-processing)."""
    from edgeport.passes._onnx import ensure_node_names, load_model
    from edgeport.passes.onnx_quantize_static import preprocess_model

    model = ensure_node_names(load_model(artifact.path))
    if getattr(opts, "preprocess", False):
        with tempfile.TemporaryDirectory(prefix="edgeport-names-") as tmp:
            model = preprocess_model(model, Path(tmp))[0]
    return {n.name for n in model.graph.node}


def search_onnx(artifact: Artifact, data: Dataset, budget: float, out: Path, options: Any = None, *,
                sensitivity: SensitivityFn | None = None, max_float_layers: int | None = None
                ) -> tuple[Artifact, MixedPrecisionResult]:
    """Greedy mixed-precision search with ORT static quantisation (``nodes_to_exclude``).

    Returns the artifact written to ``out`` (the first configuration within budget, else the one
    with the smallest drop) and the search record; the caller decides what an unmet budget means.
    """
    from edgeport.passes.onnx_quantize_static import OnnxQuantizeStatic, OnnxQuantizeStaticOptions

    opts = options or OnnxQuantizeStaticOptions()
    source_name = "custom"
    if sensitivity is None:
        sensitivity, source_name = default_sensitivity()
    ranked = sensitivity(artifact, data, opts)
    known = _quantised_node_names(artifact, opts)
    lost = [s.node for s in ranked if s.node not in known]
    if lost:  # pre-processing renamed or fused them: they cannot be excluded by name
        ranked = [s for s in ranked if s.node in known]
    limit = len(ranked) - 1 if max_float_layers is None else min(max_float_layers, len(ranked) - 1)
    steps: list[SearchStep] = []
    best_k = 0
    with tempfile.TemporaryDirectory(prefix="edgeport-mixed-", dir=Path(out).parent) as tmp:
        for k in range(0, max(limit, 0) + 1):
            excluded = [s.node for s in ranked[:k]]
            cfg = dataclasses.replace(opts, nodes_to_exclude=tuple(excluded))
            q = OnnxQuantizeStatic().apply(artifact, Path(tmp) / f"k{k}.onnx", cfg, data)
            drop = q.step.metrics.get("accuracy_drop") if q.step else None
            meets = drop is not None and drop <= budget + _EPS
            steps.append(SearchStep(excluded, q.step.metrics.get("accuracy") if q.step else None, drop,
                                    q.size_bytes(), meets))
            if meets:
                best_k = k
                break
            if drop is not None and (steps[best_k].accuracy_drop is None or drop < steps[best_k].accuracy_drop - _EPS):
                best_k = k
    best = steps[best_k]
    final_cfg = dataclasses.replace(opts, nodes_to_exclude=tuple(best.float_layers))
    result_artifact = OnnxQuantizeStatic().apply(artifact, out, final_cfg, data)
    by_node = {s.node: s for s in ranked}
    float_layers = [FloatLayer(n, by_node[n].op_type, by_node[n].score,
                               f"rank {i + 1} of {len(ranked)} by sensitivity ({by_node[n].metric}: "
                               f"{by_node[n].score:.4g}); quantising it too gave drop "
                               f"{_pct(steps[i].accuracy_drop)} > budget {_pct(budget)}")
                    for i, n in enumerate(best.float_layers)]
    return result_artifact, MixedPrecisionResult(budget=budget, met=best.meets_budget, float_layers=float_layers,
                                                 best=best, steps=steps, sensitivity=ranked,
                                                 sensitivity_source=source_name)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"
