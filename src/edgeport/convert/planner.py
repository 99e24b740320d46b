"""Plan conversion chains over the registered converter edges (e.g. PyTorch → ONNX → OpenVINO)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edgeport.convert.base import Converter
from edgeport.core.formats import Format
from edgeport.errors import UnsupportedConversionError

__all__ = ["Plan", "plan_paths"]


@dataclass(frozen=True)
class Plan:
    steps: tuple[type[Converter], ...]

    @property
    def formats(self) -> list[str]:
        return [self.steps[0].source.value, *(s.target.value for s in self.steps)]

    def describe(self) -> str:
        return " → ".join(self.formats) + "  (" + ", ".join(s.name for s in self.steps) + ")"

    def missing(self) -> list[str]:
        return [f"{s.name} needs {', '.join(s.missing())} (pip install \"edgeport[{s.extra}]\")"
                for s in self.steps if not s.available()]


def plan_paths(source: Format, target: Format, *, max_steps: int = 3) -> list[Plan]:
    """Every simple path from ``source`` to ``target``, shortest first, then by converter priority."""
    from edgeport.convert import CONVERTERS

    if source is target:
        return [Plan(())]
    edges: dict[Format, list[type[Converter]]] = {}
    for conv in CONVERTERS:
        edges.setdefault(conv.source, []).append(conv)
    plans: list[Plan] = []
    queue: deque[tuple[Format, tuple[type[Converter], ...]]] = deque([(source, ())])
    while queue:
        fmt, path = queue.popleft()
        if len(path) >= max_steps:
            continue
        for conv in sorted(edges.get(fmt, []), key=lambda c: (c.priority, c.name)):
            if any(step.source is conv.target for step in path) or conv.target is source:
                continue
            new = (*path, conv)
            if conv.target is target:
                plans.append(Plan(new))
            else:
                queue.append((conv.target, new))
    if not plans:
        reachable = sorted({c.target.value for c in CONVERTERS if c.source is source})
        raise UnsupportedConversionError(
            f"no converter path from {source.value} to {target.value}",
            fix=f"from {source.value} edgeport converts to: {', '.join(reachable) or 'nothing'}")
    plans.sort(key=lambda p: (len(p.steps), sum(s.priority for s in p.steps)))
    return plans
