"""The versioned JSON schema every result serialises to.

Results are dataclasses; ``to_json`` turns any of them (nested dataclasses, enums, paths,
numpy scalars/arrays, tuples) into plain JSON. A stored document is an envelope:
``{"schema": "edgeport/<kind>", "schema_version": N, "edgeport_version": ..., "data": {...}}``.

A latency that was not measured is never a bare number: wherever one appears (``check``'s
``compat.estimate``, ``fit``'s ``latency``, a study target's ``estimate``, a recommendation's
``estimate``) it is an ``edgeport.predict.Estimate`` object — ``latency_ms``, ``low_ms``/``high_ms``,
``label`` ("calibrated on N models (±x %)" / "uncalibrated estimate (within ~k×)"), ``unseen_classes``
and ``energy_mj`` with its ``energy_label`` (an estimate, measured, or "unavailable: why"). The
``estimated_latency_ms`` / ``est_latency_ms`` numbers beside them are kept for older readers.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SCHEMA_VERSION", "envelope", "to_json"]

SCHEMA_VERSION = 1


def to_json(obj: Any) -> Any:
    """Convert a result object to JSON-compatible data (non-finite floats become strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, np.generic):
        return to_json(obj.item())
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "inf" if obj > 0 else ("-inf" if obj < 0 else "nan")
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "summary") and callable(obj.summary):  # Artifact
        return to_json(obj.summary())
    return str(obj)


def envelope(kind: str, result: Any) -> dict[str, Any]:
    from edgeport._version import __version__

    return {"schema": f"edgeport/{kind}", "schema_version": SCHEMA_VERSION, "edgeport_version": __version__,
            "data": to_json(result)}
