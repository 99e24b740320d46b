"""Candidate variants: how to build an artifact (format × precision) and how to run it (runtime × threads).

Builds come from what is installed: every format the planner reaches from the source that some
runtime here can run, at every precision its last converter offers, plus every in-format pass
(quantisation, fp16, …) registered for those formats. New converters, passes and runtimes join
the study without an edit here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from edgeport.core.formats import Format

__all__ = ["Build", "Variant", "enumerate_builds", "enumerate_variants"]


@dataclass(frozen=True)
class Build:
    """How to make one artifact from the source model."""

    format: str  # Format value
    precision: str  # fp32 | fp16 | int8 | int8-dynamic | int16x8 | bf16 ...
    converter_options: tuple[tuple[str, Any], ...] = ()
    pass_name: str | None = None  # in-format pass applied after conversion
    pass_options: tuple[tuple[str, Any], ...] = ()
    needs_data: bool = False

    @property
    def key(self) -> str:
        parts = [self.format, self.precision]
        extra = dict(self.converter_options) | dict(self.pass_options)
        if extra:
            parts.append(hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode()).hexdigest()[:6])
        return "-".join(parts)


@dataclass(frozen=True)
class Variant:
    build: Build
    runtime: str
    threads: int
    runtime_options: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def key(self) -> str:
        opts = "".join(f"-{k}={v}" for k, v in self.runtime_options)
        return f"{self.build.key}@{self.runtime}{opts}-t{self.threads}"


def _reachable_formats(source: Format) -> dict[Format, list[Any]]:
    """Format -> the converter plans that reach it (available ones only)."""
    from edgeport.convert.planner import plan_paths
    from edgeport.errors import UnsupportedConversionError

    result: dict[Format, list[Any]] = {}
    for fmt in Format:
        if fmt is source:
            continue
        try:
            plans = [p for p in plan_paths(source, fmt) if not p.missing()]
        except UnsupportedConversionError:  # no path to this format
            continue
        if plans:
            result[fmt] = plans
    return result


def enumerate_builds(source: Format, *, have_data: bool, formats: list[str] | None = None,
                     precisions: list[str] | None = None) -> list[Build]:
    """Every build the installed converters and passes can make from ``source``."""
    from edgeport.runtimes.base import runtimes_for

    def runnable(fmt: Format) -> bool:
        return any(c.runnable_here and c.available() for c in runtimes_for(fmt))

    builds: list[Build] = []
    if runnable(source):
        builds.append(Build(source.value, "fp32"))
    for fmt, plans in _reachable_formats(source).items():
        last = plans[0].steps[-1]
        if not runnable(fmt):
            continue
        for precision in last.precisions:
            needs = precision in last.needs_data
            if needs and not have_data:
                continue
            builds.append(Build(fmt.value, precision, needs_data=needs))
    builds.extend(_pass_builds({Format(b.format) for b in builds}, have_data))
    if formats:
        builds = [b for b in builds if b.format in formats]
    if precisions:
        builds = [b for b in builds if b.precision in precisions]
    unique: dict[str, Build] = {}
    for b in builds:
        unique.setdefault(b.key, b)
    return list(unique.values())


# In-format passes the study sweeps by default: (pass name, precision label, options).
# ORT's dynamic int8 is kept on purpose: the study measures it and shows when it is slower than fp32.
STUDY_PASSES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("onnx-quantize-static", "int8", {"quant_format": "qdq", "per_channel": True}),
    ("onnx-quantize-dynamic", "int8-dynamic", {}),
    ("onnx-fp16", "fp16", {}),
)


def _pass_builds(formats: set[Format], have_data: bool) -> list[Build]:
    from edgeport.passes import PASSES

    known = set(PASSES.names())
    builds = []
    for name, precision, options in STUDY_PASSES:
        if name not in known:
            continue
        cls = PASSES.get(name)
        if not cls.available() or (cls.needs_data and not have_data):
            continue
        for fmt in sorted(cls.formats, key=lambda f: f.value):
            if fmt in formats:
                builds.append(Build(fmt.value, precision, pass_name=name,
                                    pass_options=tuple(sorted(options.items())), needs_data=cls.needs_data))
    return builds


def enumerate_variants(builds: list[Build], threads: list[int], runtimes: list[str] | None = None) -> list[Variant]:
    from edgeport.runtimes.base import runtimes_for

    variants = []
    for build in builds:
        for cls in runtimes_for(Format(build.format)):
            if not (cls.runnable_here and cls.available()):
                continue
            if runtimes and cls.name not in runtimes:
                continue
            for t in threads:
                variants.append(Variant(build, cls.name, t))
    return variants
