"""An estimate that says how far to trust it: value, interval, label, energy.

With a calibration for the (device, runtime, precision), the interval is the calibration's
leave-one-out spread (``±x %``, the |error| 90 % of held-out models were within) and the label says
``calibrated on N models (±x %)``. Without one, the profile's prior terms give the value and
``within_factor`` the spread: ``uncalibrated estimate (within ~k×)``. Op classes the calibration set
never contained widen the interval by the prior's spread on the time they account for, and the label
names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edgeport.core.target import Target
from edgeport.predict.calibration import Calibration, find_calibration
from edgeport.predict.costmodel import CostParams, ModelFeatures, per_class_seconds, predict_seconds

__all__ = ["Estimate", "calibration_for", "estimate_features"]


@dataclass
class Estimate:
    latency_ms: float
    low_ms: float
    high_ms: float
    label: str  # "calibrated on 28 models (±7 %)" | "uncalibrated estimate (within ~3×)"
    calibrated: bool
    calibration_models: int  # 0 when uncalibrated
    runtime: str | None  # the runtime the calibration is of (None: the profile's prior)
    precision: str
    unseen_classes: list[str] = field(default_factory=list)
    energy_mj: float | None = None
    energy_low_mj: float | None = None
    energy_high_mj: float | None = None
    energy_label: str = ""
    per_class_ms: dict[str, float] = field(default_factory=dict)


def calibration_for(target: Target, runtimes: Sequence[str], precision: str,
                    calibrations: Sequence[Calibration]) -> Calibration | None:
    """The calibration an estimate of ``target`` uses: the first of ``runtimes`` (default: the profile's) with one
    at ``precision``."""
    return find_calibration(list(calibrations), target.id, tuple(runtimes) or target.runtimes, precision)


def estimate_features(feat: ModelFeatures, target: Target, *, path: str = "cpu",
                      runtimes: Sequence[str] = (), calibrations: Sequence[Calibration] = ()) -> Estimate:
    """Estimate one inference of the model ``feat`` describes on ``target`` (``path``: its main path)."""
    prior = target.predictor.for_path(path)
    cal = calibration_for(target, runtimes, feat.precision, calibrations)
    params = cal.params if cal is not None else CostParams.from_prior(prior, feat.precision)
    seconds = predict_seconds(feat, params)
    parts = per_class_seconds(feat, params)
    k = prior.within_factor
    floor = params.invoke_s
    if cal is None:
        low, high = max(seconds / k, floor), seconds * k
        label = f"uncalibrated estimate (within ~{k:g}×)"
        unseen: list[str] = []
    else:
        unseen = sorted(feat.classes() - set(cal.seen_classes))
        unseen_s = sum(parts.get(c, 0.0) for c in unseen)
        seen_s = seconds - unseen_s
        x = cal.interval
        low = max(seen_s * (1 - x) + unseen_s / k, floor)
        high = seen_s * (1 + x) + unseen_s * k
        label = f"calibrated on {len(cal.models)} models (±{x * 100:.0f} %)"
        if unseen:
            label += f"; unseen op classes {', '.join(unseen)}: interval widened"
    est = Estimate(latency_ms=seconds * 1e3, low_ms=low * 1e3, high_ms=high * 1e3, label=label,
                   calibrated=cal is not None, calibration_models=len(cal.models) if cal else 0,
                   runtime=cal.runtime if cal else None, precision=feat.precision, unseen_classes=unseen,
                   per_class_ms={c: v * 1e3 for c, v in sorted(parts.items(), key=lambda kv: -kv[1])})
    watts = target.power.active_w
    if watts:
        est.energy_mj, est.energy_low_mj, est.energy_high_mj = (est.latency_ms * watts, est.low_ms * watts,
                                                                 est.high_ms * watts)
        est.energy_label = f"estimate: latency × {watts:g} W profile active power ({target.source_of('power.active_w')})"
    else:
        est.energy_label = f"unavailable: the {target.id} profile gives no active power"
    return est
