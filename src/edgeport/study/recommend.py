"""Recommend one variant per target under the constraints, and say why every other one lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgeport.study.candidate import Candidate
from edgeport.study.options import Constraints

if TYPE_CHECKING:
    from edgeport.predict.estimate import Estimate

__all__ = ["Recommendation", "Rejection", "measured_latency", "recommend", "rejection_reason"]


@dataclass
class Rejection:
    key: str
    reason: str


@dataclass
class Recommendation:
    target: str
    key: str | None  # None: no variant meets the constraints on this target
    measured: bool  # True: latency measured (on this host, or on the target's own device); False: estimated
    reason: str
    latency_ms: float | None = None
    estimated_latency_ms: float | None = None
    estimate: Estimate | None = None  # not measured here: the target estimate with its interval and label
    energy_mj: float | None = None  # per inference: measured on the host (RAPL) or the estimate's
    energy_label: str = ""
    accuracy: float | None = None
    size_bytes: int | None = None
    rejected: list[Rejection] = field(default_factory=list)
    closest: list[str] = field(default_factory=list)  # when nothing qualifies: the nearest misses


def _budget_failures(c: Candidate, cons: Constraints, source_accuracy: float | None,
                     latency_ms: float | None, *, host: bool, target: str = "") -> list[str]:
    reasons = []
    if cons.max_accuracy_drop is not None:
        if c.accuracy is not None and source_accuracy is not None:
            drop = source_accuracy - c.accuracy
            if drop > cons.max_accuracy_drop + 1e-12:
                reasons.append(f"accuracy drop {drop:.2%} > budget {cons.max_accuracy_drop:.2%}")
        elif c.agreement is not None and 1.0 - c.agreement > cons.max_accuracy_drop + 1e-12:
            reasons.append(f"disagrees with the source on {1 - c.agreement:.2%} > budget {cons.max_accuracy_drop:.2%}")
    if cons.max_size_mb is not None and c.size_bytes is not None and c.size_bytes > cons.max_size_mb * 1e6:
        reasons.append(f"size {c.size_bytes / 1e6:.3f} MB > {cons.max_size_mb} MB")
    if cons.max_latency_ms is not None and latency_ms is not None and latency_ms > cons.max_latency_ms:
        reasons.append(f"latency {latency_ms:.3f} ms > {cons.max_latency_ms} ms")
    if cons.max_energy_mj is not None:
        mj, how = _energy(c, target, host)
        if mj is not None and mj > cons.max_energy_mj:
            reasons.append(f"energy {mj:.3g} mJ/inference ({how}) > {cons.max_energy_mj} mJ")
    return reasons


def _energy(c: Candidate, target: str, host: bool) -> tuple[float | None, str]:
    """Energy per inference on ``target``: measured on the host (RAPL), else the target estimate's."""
    if host:
        return c.energy_mj, "measured"
    fit = c.targets.get(target)
    est = fit.estimate if fit is not None else None
    return (est.energy_mj, "estimated") if est is not None else (None, "")


def measured_latency(c: Candidate, target: str, *, host: bool) -> float | None:
    """``c``'s measured median on ``target``: the host's here, its device's on a target measured there."""
    if host:
        return c.median_ms
    fit = c.targets.get(target)
    return None if fit is None else fit.measured_ms


def rejection_reason(c: Candidate, target: str, cons: Constraints, source_accuracy: float | None,
                     *, host: bool, on_device: bool = False) -> str | None:
    """Why ``c`` cannot be chosen for ``target`` (None when it qualifies); ``on_device``: the target is measured
    on its own device, so only candidates measured there qualify and the latency budget is that latency."""
    if c.status == "failed":
        what = {"build": "failed conversion", "verify": "failed to run", "bench": "failed to benchmark"}
        return f"{what.get(c.stage or '', 'failed')}: {c.error}"
    if c.status == "diverged":
        return "diverged from the source: " + "; ".join(c.verification_failures[:2])
    fit = c.targets.get(target)
    if fit is not None and not fit.ok:
        return f"not deployable on {target}: {fit.verdict}"
    measured = measured_latency(c, target, host=host)
    if on_device and measured is None:
        return f"not measured on {target}"
    over = _budget_failures(c, cons, source_accuracy, measured if host or on_device else None, host=host,
                            target=target)
    if over:
        return "over budget: " + "; ".join(over)
    return None


def recommend(candidates: Sequence[Candidate], targets: Sequence[Any], cons: Constraints,
              source_accuracy: float | None) -> list[Recommendation]:
    """One recommendation per target; ``source_accuracy`` is the source model's on the test split."""
    recs = []
    for target in targets:
        host = bool(getattr(target, "measured_here", False))
        device = "" if host else str(getattr(target, "measured_by", "") or "")
        measured = host or bool(device)
        qualified: list[Candidate] = []
        rejected: list[Rejection] = []
        for c in candidates:
            why = rejection_reason(c, target.id, cons, source_accuracy, host=host, on_device=bool(device))
            if why is None:
                qualified.append(c)
            else:
                rejected.append(Rejection(c.key, why))

        def latency(c: Candidate) -> float:
            value = measured_latency(c, target.id, host=host)
            return float("inf") if value is None else value

        if measured:
            qualified.sort(key=lambda c: (latency(c), -(c.quality() or 0), c.size_bytes or 0))
        else:
            # not measured here: prefer the estimate when the profile gives one, then quality, then size
            qualified.sort(key=lambda c: (_estimate(c, target.id), -(c.quality() or 0), c.size_bytes or 0,
                                          c.median_ms or float("inf")))
        if not qualified:
            near = sorted((c for c in candidates if c.status == "ok"),
                          key=lambda c: (-(c.quality() or 0), c.median_ms or float("inf")))[:3]
            recs.append(Recommendation(target=target.id, key=None, measured=measured,
                                       reason="no variant meets the constraints on this target",
                                       rejected=rejected, closest=[c.key for c in near]))
            continue
        pick = qualified[0]
        for c in qualified[1:]:
            if measured:
                why = f"slower: {latency(c):.4f} ms vs {latency(pick):.4f} ms"
            elif c.build == pick.build:
                why = "same artifact as the pick (host runtime/threads do not apply to this target)"
            else:
                why = "ranked lower (estimated latency, then quality, then size)"
            rejected.append(Rejection(c.key, why))
        fit = pick.targets.get(target.id)
        where = f" on {device}" if device else ""
        reason = (f"fastest variant measured{where} within the constraints ({latency(pick):.4f} ms median)"
                  if measured else f"best deployable variant: {fit.verdict if fit else 'no target check available'}")
        recs.append(Recommendation(
            target=target.id, key=pick.key, measured=measured, reason=reason,
            latency_ms=latency(pick) if measured else None,
            estimated_latency_ms=None if measured or fit is None else fit.estimated_latency_ms,
            estimate=None if measured or fit is None else fit.estimate,
            energy_mj=_energy(pick, target.id, host)[0],
            energy_label=pick.energy_label if host else (fit.estimate.energy_label if fit and fit.estimate else ""),
            accuracy=pick.quality(), size_bytes=pick.size_bytes, rejected=rejected))
    return recs


def _estimate(c: Candidate, target: str) -> float:
    fit = c.targets.get(target)
    return fit.estimated_latency_ms if fit is not None and fit.estimated_latency_ms is not None else float("inf")
