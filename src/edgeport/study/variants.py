"""Candidate variants: how to build an artifact (format × precision) and how to run it (runtime × threads).

Builds come from what is installed: every format the planner reaches from the source that some
runtime here can run, at every precision its last converter offers, plus every point an installed
pass declares in ``Pass.sweeps`` for those formats (applied to that format's fp32 build). New
converters, passes and runtimes join the study without an edit here.

When a pass point and a converter make the same build (same format, precision and options), the
pass makes it: it starts from the fp32 build the study makes anyway, so it costs one conversion
less. Points that need calibration data are left out without data; points a pass marks
``default=False`` are built only when ``precisions`` names them.
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
    fallback: bool = False  # a pass point used only when no converter makes the same build

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
    float_formats = {Format(b.format) for b in builds if b.precision == "fp32" and not b.pass_name}
    builds.extend(_pass_builds(float_formats, have_data, set(precisions or ())))
    if formats:
        builds = [b for b in builds if b.format in formats]
    if precisions:
        builds = [b for b in builds if b.precision in precisions]
    converted = {(b.format, b.precision) for b in builds if not b.pass_name}
    builds = [b for b in builds if not (b.fallback and (b.format, b.precision) in converted)]
    unique: dict[str, Build] = {}
    for b in builds:
        if b.key not in unique or (b.pass_name and not b.fallback):  # a pass point replaces the converter's
            unique[b.key] = b                                          # same build, unless it yields to it
    return list(unique.values())


def _pass_builds(formats: set[Format], have_data: bool, asked: set[str]) -> list[Build]:
    """Every point the installed passes declare for ``formats`` (which have an fp32 build)."""
    from edgeport.passes import PASSES

    builds = []
    for cls in PASSES:
        if not cls.available() or (cls.needs_data and not have_data):
            continue
        for point in cls.sweeps:
            if not point.default and point.precision not in asked:
                continue
            for fmt in sorted(cls.formats & formats, key=lambda f: f.value):
                builds.append(Build(fmt.value, point.precision, pass_name=cls.name, pass_options=point.options,
                                    needs_data=cls.needs_data, fallback=cls.yields_to_converter))
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
