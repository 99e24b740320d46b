"""Make a build's artifact: convert the source (planner-chosen path), then apply the build's pass."""

from __future__ import annotations

from pathlib import Path

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.study.variants import Build

__all__ = ["build_artifact"]


def build_artifact(build: Build, source: Artifact, data: Dataset, directory: Path,
                   cache: dict[str, Artifact | Exception] | None = None) -> Artifact:
    """The artifact for ``build`` under ``directory``; ``cache`` (build key → artifact or the
    exception that build raised) avoids building a pass's fp32 parent more than once."""
    cache = {} if cache is None else cache
    hit = cache.get(build.key)
    if isinstance(hit, Exception):
        raise hit
    if hit is not None:
        return hit
    try:
        cache[build.key] = _build(build, source, data, directory, cache)
    except Exception as exc:
        cache[build.key] = exc
        raise
    return cache[build.key]  # type: ignore[return-value]


def _build(build: Build, source: Artifact, data: Dataset, directory: Path,
           cache: dict[str, Artifact | Exception]) -> Artifact:
    from edgeport.convert.api import convert

    fmt = Format(build.format)
    if fmt is source.format and build.precision == "fp32" and not build.pass_name:
        return source
    base_name = f"{source.path.stem.split('-')[0]}-{build.key}"
    if build.pass_name:
        parent = build_artifact(Build(build.format, "fp32"), source, data, directory, cache)
        return _apply_pass(build, parent, data, directory / f"{base_name}{fmt.suffix}")
    out = directory / f"{base_name}{fmt.suffix}"
    options = {"precision": build.precision, **dict(build.converter_options)}
    result = convert(source, fmt, out=out, data=data if build.needs_data or data.source != "random" else None,
                     options=options, verify_result=False)
    return result.artifact


def _apply_pass(build: Build, parent: Artifact, data: Dataset, out: Path) -> Artifact:
    from edgeport.passes import PASSES

    cls = PASSES.get(build.pass_name or "")
    options = cls.Options(**dict(build.pass_options))
    return cls().apply(parent, out, options, data if build.needs_data else None, measure=False)
