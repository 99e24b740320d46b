"""Make a build's artifact: convert the source (planner-chosen path), then apply the build's pass."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import EdgeportError
from edgeport.study.variants import Build

__all__ = ["build_artifact", "is_source", "parent_build", "prebuild"]


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


def is_source(build: Build, source: Artifact) -> bool:
    """``build`` is the source model itself (its own format at fp32, no pass): nothing to build."""
    return Format(build.format) is source.format and build.precision == "fp32" and not build.pass_name


def parent_build(build: Build) -> Build | None:
    """The fp32 build a pass is applied to (None for a plain conversion)."""
    return Build(build.format, "fp32") if build.pass_name else None


def _build(build: Build, source: Artifact, data: Dataset, directory: Path,
           cache: dict[str, Artifact | Exception]) -> Artifact:
    from edgeport.convert.api import convert

    fmt = Format(build.format)
    if is_source(build, source):
        return source
    base_name = f"{source.path.stem.split('-')[0]}-{build.key}"
    parent_of = parent_build(build)
    if parent_of is not None:
        parent = build_artifact(parent_of, source, data, directory, cache)
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


def prebuild(builds: Sequence[Build], source: Artifact, data: Dataset, directory: Path,
             cache: dict[str, Artifact | Exception], workers: int) -> None:
    """Convert ``builds`` into ``cache`` ahead of the measurements, ``workers`` at a time.

    Each conversion runs in its own child process (mostly spent importing its backend), so on a
    multi-core machine they overlap well. Only conversions run here: passes run in this process,
    and nothing is timed until every build has finished, so no benchmark shares the CPU with one.
    A build that fails with a user error is cached as that error and reported by its candidates.
    """
    todo = [b for b in dict.fromkeys(builds) if not b.pass_name and b.key not in cache and not is_source(b, source)]
    if len(todo) < 2 or workers < 2:
        return

    def one(build: Build) -> None:
        try:
            build_artifact(build, source, data, directory, cache)
        except EdgeportError:
            pass  # cached: the candidates of this build are recorded as failed with its reason

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edgeport-build") as pool:
        for future in [pool.submit(one, b) for b in todo]:
            future.result()  # an internal bug surfaces here with its traceback
