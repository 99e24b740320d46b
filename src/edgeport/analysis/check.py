"""``check``: will a model run on each target? Operator coverage, partitions, CPU fallbacks and memory fit.

The static checks ``edgeport check`` prints: one ``CompatReport`` and one ``FitResult`` per target,
with an *estimated* latency from the device profile (never a measurement).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeport.analysis.compat import CompatReport
    from edgeport.analysis.memory import FitResult
    from edgeport.core.target import Target

__all__ = ["DEFAULT_TARGETS", "CheckResult", "TargetCheck", "check"]

DEFAULT_TARGETS = ("pixel-8", "iphone-15-pro", "cortex-m7")  # a phone of each kind and a microcontroller


@dataclass
class TargetCheck:
    target: str
    compat: CompatReport
    fit: FitResult


@dataclass
class CheckResult:
    model: str
    targets: list[TargetCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. the unknown-input-dims note naming --shape


def check(model: Any, targets: Sequence[str | Target] = DEFAULT_TARGETS, *,
          target_dirs: Sequence[str | Path] | None = None, shapes: Any = None, inputs: Any = None,
          calibrations: Sequence[Any] | None = None) -> CheckResult:
    """Check ``model`` (an ONNX/TFLite path, ``Artifact`` or ``Graph``) against each target (ids or
    ``Target``s; ``target_dirs`` adds device profiles from those directories), at the input shapes
    ``shapes`` gives (see ``profile``). Latency estimates use ``calibrations`` (``edgeport.predict``;
    default: those in the result store)."""
    from edgeport.analysis.compat import analyze
    from edgeport.analysis.shaped import input_note, plan_from, shaped_graph
    from edgeport.analysis.memory import fit
    from edgeport.core.target import get_target

    extra = [Path(d) for d in target_dirs] if target_dirs else None
    profiles = [get_target(t, extra) for t in targets]
    graph = shaped_graph(model, plan_from(model, shapes, inputs))
    name = Path(model).name if isinstance(model, (str, Path)) else getattr(model, "name", str(model))
    note = input_note(graph)
    from edgeport.predict.calibration import load_calibrations

    cals = load_calibrations() if calibrations is None else list(calibrations)
    return CheckResult(name, [TargetCheck(t.id, analyze(graph, t, calibrations=cals), fit(graph, t))
                              for t in profiles],
                       [note] if note else [])
