"""What identifies a study's candidates, so a resumed study re-uses exactly the results still valid.

The id hashes the source model's bytes, the data's *content* (every input array, the labels and the
splits — not the file's path), the options that change a candidate, edgeport's version and the
version of every backend the study's variants use (their runtimes, and the converters and passes
that build them). Edit ``data.npz`` or upgrade ONNX Runtime and the study measures again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import UnsupportedConversionError
from edgeport.study.options import StudyOptions
from edgeport.study.variants import Variant

__all__ = ["backend_versions", "dataset_digest", "study_fingerprint"]


def _update_array(h: Any, name: str, arr: np.ndarray) -> None:
    a = np.ascontiguousarray(arr)
    h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
    if a.dtype.hasobject:  # not a plain buffer (never from .npz, which refuses pickles)
        h.update(repr(a.tolist()).encode())
    else:
        h.update(memoryview(a).cast("B"))


def dataset_digest(data: Dataset) -> str:
    """SHA-256 of the dataset's content: inputs by name, labels, splits and the declared preprocessing."""
    h = hashlib.sha256()
    for name in sorted(data.inputs):
        _update_array(h, f"input:{name}", data.inputs[name])
    if data.labels is not None:
        _update_array(h, "labels", data.labels)
    for name in sorted(data.splits):
        _update_array(h, f"split:{name}", np.asarray(data.splits[name]))
    h.update(f"preprocessing:{data.preprocessing}|task:{data.task}".encode())
    return h.hexdigest()


def backend_versions(source: Format, variants: Sequence[Variant]) -> dict[str, str | None]:
    """``runtime:<name>`` → its version for every runtime the variants run on, and every package the
    converters and passes that build them need → its installed version."""
    from edgeport._optional import version_of
    from edgeport.convert.planner import plan_paths
    from edgeport.passes import PASSES
    from edgeport.runtimes import RUNTIMES

    versions: dict[str, str | None] = {f"runtime:{name}": RUNTIMES.get(name).version()
                                       for name in sorted({v.runtime for v in variants})}
    modules: set[str] = set()
    for build in {v.build for v in variants}:
        if build.pass_name:
            modules.update(PASSES.get(build.pass_name).requires)
        fmt = Format(build.format)
        if fmt is source:
            continue
        try:
            plans = [p for p in plan_paths(source, fmt) if not p.missing()]
        except UnsupportedConversionError:
            continue
        if plans:  # the path the study's conversion takes first
            modules.update(m for step in plans[0].steps for m in step.requires)
    versions.update({m: version_of(m) for m in sorted(modules)})
    return versions


def study_fingerprint(model: Artifact, data: Dataset, options: StudyOptions, variants: Sequence[Variant]) -> str:
    from edgeport._version import __version__

    doc = {"model": model.sha256(), "data": dataset_digest(data), "options": options.fingerprint_fields(),
           "edgeport": __version__, "backends": backend_versions(model.format, variants)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]
