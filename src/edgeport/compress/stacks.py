"""Which stack quantises to which precision, read from what the passes and converters declare.

A stack is a format with a quantiser for one of ``PRECISIONS``: a pass whose ``sweeps`` declare
that precision for the format (applied to the float model in that format), or a converter into
the format that offers it (``Converter.precisions``; it quantises while converting). A stack is
named after its format, except ONNX, whose quantisers are ONNX Runtime's: ``ort``.

Nothing here lists pass or converter names: a new pass module with a sweep point, or a new
converter with a precision, makes its stack and precision available to ``quantize``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeport.core.formats import Format

if TYPE_CHECKING:
    from edgeport.passes.base import Pass, Sweep

__all__ = ["PRECISIONS", "STACKS", "PassPoint", "converters_for", "default_stack", "pass_point", "stack_name",
           "stacks"]

PRECISIONS = ("int8", "fp16", "int16x8")  # the quantize vocabulary
_NAMES = {Format.ONNX: "ort"}


def stack_name(fmt: Format) -> str:
    return _NAMES.get(fmt, fmt.value)


def stacks() -> dict[str, Format]:
    """Stack name -> format, for every format some registered pass or converter quantises into (ort first)."""
    from edgeport.convert import CONVERTERS
    from edgeport.passes import PASSES

    formats = {fmt for cls in PASSES for point in cls.sweeps if point.precision in PRECISIONS for fmt in cls.formats}
    formats |= {conv.target for conv in CONVERTERS if set(conv.precisions) & set(PRECISIONS)}
    ordered = sorted(formats, key=lambda f: (f not in _NAMES, stack_name(f)))
    return {stack_name(f): f for f in ordered}


class _Stacks(Mapping[str, Format]):
    """``stacks()`` as a read-only mapping, read from the registries when used (not at import)."""

    def __getitem__(self, name: str) -> Format:
        return stacks()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(stacks())

    def __len__(self) -> int:
        return len(stacks())

    def __repr__(self) -> str:
        return repr(stacks())


STACKS: Mapping[str, Format] = _Stacks()


def default_stack(fmt: Format) -> str:
    """The model's own stack; ``ort`` for formats without one (PyTorch and others go through ONNX)."""
    name = stack_name(fmt)
    return name if name in STACKS else stack_name(Format.ONNX)


@dataclass(frozen=True)
class PassPoint:
    """The pass that makes a precision within a format, and the point it declares for it."""

    pass_cls: type[Pass]
    point: Sweep


def pass_point(fmt: Format, precision: str) -> PassPoint | None:
    """The pass whose sweeps make ``precision`` within ``fmt`` (an available one first, then by name)."""
    from edgeport.passes import PASSES

    found = [PassPoint(cls, point) for cls in PASSES if fmt in cls.formats
             for point in cls.sweeps if point.precision == precision]
    found.sort(key=lambda p: not p.pass_cls.available())  # stable: by name within each group
    return found[0] if found else None


def converters_for(stack: str, precision: str, source: Format | None = None) -> list[Any]:
    """Registered converters into ``stack``'s format that produce ``precision`` (reachable from ``source``)."""
    from edgeport.convert import CONVERTERS
    from edgeport.convert.planner import plan_paths

    target = STACKS[stack]
    if source is not None:
        return list({p.steps[-1] for p in plan_paths(source, target) if precision in p.steps[-1].precisions
                     and not p.missing()})
    return [c for c in CONVERTERS if c.target is target and precision in c.precisions]
