"""A stored calibration: the fitted terms of one (device, runtime, precision) and how well they predict.

Calibrations are kept in the result store as runs of kind ``calibration`` whose subject is
``device/runtime/precision``; the newest one for a key is the one estimates use. Each records the
version of the cost model it fitted (``costmodel.COST_MODEL``): terms fitted to another version's
equations mean something else, so ``load_calibrations`` passes over them and the estimate is labelled
uncalibrated until ``edgeport calibrate`` is run again.

Each also keeps the samples it was fitted to (every model's cost-model rows and measured latency), so
that models measured later elsewhere — a study's candidates (``predict.calibrate.add_measurements``) —
can be added to the set and the terms fitted again without measuring the set again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeport.predict.costmodel import COST_MODEL, CostParams, ModelFeatures, NodeFeatures
from edgeport.predict.fit import Sample

__all__ = ["Calibration", "find_calibration", "load_calibrations", "save_calibration"]

KIND = "calibration"


@dataclass
class Calibration:
    device: str  # "host", later "agent://HOST:PORT" or "browser"
    runtime: str
    precision: str  # fp32 | fp16 | int8
    params: CostParams
    models: list[str]  # the models the fit used
    failed: list[str]  # "name: why" for each calibration model that could not be measured
    loo_rel_errors: list[float]  # predicted / measured − 1, each model predicted by a fit without it
    interval: float  # |relative error| that 90 % of the leave-one-out predictions are within
    seen_classes: list[str]  # op classes the calibration models contain
    measured_ms: dict[str, float] = field(default_factory=dict)  # model -> median latency
    conditions: dict[str, Any] = field(default_factory=dict)  # where it was measured
    cost_model: int = COST_MODEL  # the version of the cost model the terms were fitted to
    samples: list[Sample] = field(default_factory=list)  # what the fit used (empty in fits stored before they were kept)
    kind: str = KIND

    @property
    def key(self) -> str:
        return f"{self.device}/{self.runtime}/{self.precision}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        p = data["params"]
        return cls(device=data["device"], runtime=data["runtime"], precision=data["precision"],
                   params=CostParams.from_json(p),
                   models=list(data["models"]), failed=list(data.get("failed", [])),
                   loo_rel_errors=[float(x) for x in data["loo_rel_errors"]], interval=float(data["interval"]),
                   seen_classes=list(data["seen_classes"]), measured_ms=dict(data.get("measured_ms", {})),
                   conditions=dict(data.get("conditions", {})),
                   cost_model=int(data.get("cost_model", 1)),
                   samples=[_sample(d) for d in data.get("samples", [])])


def _sample(data: dict[str, Any]) -> Sample:
    f = data["features"]
    nodes = [NodeFeatures(n["op_class"], float(n["compute_s"]), float(n["memory_s"]), float(n.get("lost_s", 0.0)),
                          bool(n.get("overlap", False))) for n in f["nodes"]]
    feats = ModelFeatures(nodes, boundary_s=float(f.get("boundary_s", 0.0)), precision=f.get("precision", "fp32"),
                          io_s=float(f.get("io_s", 0.0)))
    kernels = data.get("kernels")  # JSON keys are strings: the node positions
    return Sample(data["name"], feats, float(data["measured_s"]),
                  kernels={int(k): float(t) for k, t in kernels.items()} if kernels else None)


def save_calibration(cal: Calibration, store: Any = None) -> int:
    from edgeport.store import Store

    return (store or Store()).save(KIND, cal.key, cal, passed=True)


def load_calibrations(store: Any = None) -> list[Calibration]:
    """The newest calibration per key that fitted this version of the cost model, from ``store`` (default: the
    default store, only if it exists)."""
    from edgeport.store import Store, default_store_path

    if store is None:
        if not default_store_path().exists():
            return []
        store = Store()
    newest: dict[str, Calibration] = {}
    for rec in store.runs(KIND, limit=500):  # newest first
        if rec.subject not in newest and rec.document["data"].get("cost_model", 1) == COST_MODEL:
            newest[rec.subject] = Calibration.from_json(rec.document["data"])
    return list(newest.values())


def find_calibration(calibrations: list[Calibration], device: str, runtimes: tuple[str, ...] | list[str],
                     precision: str) -> Calibration | None:
    """The calibration of ``device`` for the first of ``runtimes`` that has one at ``precision``."""
    for rt in runtimes:
        for cal in calibrations:
            if cal.device == device and cal.runtime == rt and cal.precision == precision:
                return cal
    return None
