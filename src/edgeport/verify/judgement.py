"""The judgement of one output: is the test output the reference output, within its tolerance?

Three checks, each recorded with its value, its bound and whether it passed, so a failure says what
would have passed:

- **allclose** — every element within ``atol + rtol·|ref|`` (``numpy.allclose``). This is the rule
  for near-zero outputs: an element within ``atol`` of the reference is equal to it.
- **cosine** (and the SNR it is reported with) — only on samples whose reference *carries signal*:
  per-sample RMS above the signal floor ``max(atol, resolution of the output dtype)``. Under it the
  sample is, for allclose, indistinguishable from zero, and its direction is rounding noise: two
  correct runs of a sigmoid head that outputs ≈1e-8 everywhere have cosine ≈0 and max |err| ≈1e-8.
  Skipped samples, or a metric not applied at all, are recorded with the reason.
- **top-1 agreement** — only for classifier-like outputs (``kind == "logits"``); a flip between two
  classes whose reference scores are within the allclose bound of each other is a tie, not a
  disagreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgeport.errors import InputError
from edgeport.verify import metrics
from edgeport.verify.tolerance import Tolerance

__all__ = ["Check", "OutputComparison", "compare_outputs", "signal_floor", "worst_output"]


@dataclass
class Check:
    """One criterion applied to one output: the measured value against the bound it had to meet."""

    metric: str  # allclose | cosine | top1
    value: float
    bound: float
    passed: bool
    text: str  # the whole sentence: "max abs error 0.031 > 0.0105 allowed (...)", "cosine 0.9991 ≥ 0.999 ok"


@dataclass
class OutputComparison:
    name: str  # test output name
    reference_name: str
    shape: list[int]
    max_abs: float
    mean_abs: float
    max_rel: float
    cosine: float | None  # mean over the samples above the signal floor; None when none is
    snr_db: float | None  # over the same samples
    top1_agreement: float | None
    top5_agreement: float | None
    allclose_fraction: float | None  # samples within atol + rtol*|ref|
    passed: bool
    failures: list[str] = field(default_factory=list)
    kind: str = ""  # logits | embedding | dense (what the default tolerance was chosen for)
    tolerance: Tolerance | None = None  # the criteria this output was judged by
    paired_by: str = "name"  # how the test output was paired with the reference one: name | shape | order
    checks: list[Check] = field(default_factory=list)
    not_applied: dict[str, str] = field(default_factory=dict)  # metric -> why it was not applied
    signal_samples: int | None = None  # samples whose reference is above the signal floor
    samples: int = 0

    def summary(self) -> str:
        """One line: the output, its failed checks first (value and what would pass), then the others."""
        label = f"output {self.reference_name!r}" if self.name == self.reference_name else \
            f"output {self.reference_name!r} (test {self.name!r})"
        ordered = [c.text for c in self.checks if not c.passed] + [c.text for c in self.checks if c.passed]
        ordered += [f for f in self.failures if f not in ordered]
        return f"{label}: {'; '.join(ordered) or 'no criterion applied'}"


def worst_output(outputs: list[OutputComparison]) -> OutputComparison:
    """The output a one-line summary shows (of a non-empty list): a failing one first, then the lowest cosine,
    then the largest max |err|."""
    return min(outputs, key=lambda o: (o.passed, 2.0 if o.cosine is None else o.cosine, -o.max_abs))


def _resolution(dtype: np.dtype) -> float:
    """The smallest step of ``dtype`` at magnitude 1: float eps, or one integer step."""
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else 1.0


def signal_floor(tolerance: Tolerance, dtype: np.dtype | str) -> float:
    """Per-sample RMS at or under which a reference sample carries no signal (cosine/SNR not applied).

    The sample's norm is compared with ``floor · sqrt(elements per sample)``; the floor is the absolute
    tolerance (what allclose treats as zero), or the dtype's resolution where no absolute tolerance is set.
    """
    return max(tolerance.atol or 0.0, _resolution(np.dtype(dtype)))


def _per_sample(a: np.ndarray) -> np.ndarray:
    """(samples, elements) in float64: the first axis is the sample axis (a rank-1 output is one value each)."""
    return a.astype(np.float64).reshape(len(a), -1) if a.ndim else a.astype(np.float64).reshape(1, 1)


def _allclose_check(r: np.ndarray, t: np.ndarray, tol: Tolerance, max_abs: float,
                    sample_shape: tuple[int, ...]) -> tuple[Check, float]:
    atol, rtol = tol.atol or 0.0, tol.rtol or 0.0
    err = np.abs(r - t)
    allowed = atol + rtol * np.abs(r)
    ok = err <= allowed  # NaN anywhere is outside
    per_sample = ok.all(axis=1)
    fraction = float(per_sample.mean())
    bound_text = f"atol {atol:g} + rtol {rtol:g}·|ref|"
    if ok.all():
        return Check("allclose", max_abs, atol, True, f"max abs error {max_abs:.3g} within {bound_text} ok"), fraction
    excess = np.where(ok, -np.inf, np.nan_to_num(err - allowed, nan=np.inf))
    flat = int(np.argmax(excess))
    s, e = divmod(flat, r.shape[1])
    worst_err, worst_allowed, worst_ref = float(err[s, e]), float(allowed[s, e]), float(r[s, e])
    where = f"sample {s}, index {tuple(int(i) for i in np.unravel_index(e, sample_shape))}" if sample_shape \
        else f"sample {s}"
    text = (f"max abs error {max_abs:.3g}; worst element ({where}): |err| {worst_err:.3g} > "
            f"{worst_allowed:.3g} allowed ({bound_text} {abs(worst_ref):.3g}); "
            f"{int((~per_sample).sum())} of {len(per_sample)} samples outside")
    return Check("allclose", worst_err, worst_allowed, False, text), fraction


def _top1(r: np.ndarray, t: np.ndarray, tol: Tolerance) -> float:
    """Share of samples whose test top-1 class is the reference's, or tied with it within the allclose bound."""
    ref_top = r.max(axis=1)
    picked = r[np.arange(len(r)), np.argmax(t, axis=1)]
    tie = (tol.atol or 0.0) + (tol.rtol or 0.0) * np.abs(ref_top)
    return float(np.mean(picked >= ref_top - tie))


def compare_outputs(name: str, ref_name: str, ref: np.ndarray, test: np.ndarray,
                    tolerance: Tolerance, kind: str = "", paired_by: str = "name") -> OutputComparison:
    """Judge ``test`` against ``ref`` (same shape, sample axis first) by ``tolerance``; see the module doc."""
    ref = np.asarray(ref)
    test = np.asarray(test)
    if ref.shape != test.shape:
        raise InputError(f"output {ref_name!r} shape {ref.shape} vs {name!r} shape {test.shape} do not match",
                         fix="check both models compute the same outputs")
    r, t = _per_sample(ref), _per_sample(test)
    comp = OutputComparison(
        name=name, reference_name=ref_name, shape=list(ref.shape), max_abs=metrics.max_abs(ref, test),
        mean_abs=metrics.mean_abs(ref, test), max_rel=metrics.max_rel(ref, test), cosine=None, snr_db=None,
        top1_agreement=None, top5_agreement=None, allclose_fraction=None, passed=True, kind=kind,
        tolerance=tolerance, paired_by=paired_by, samples=len(r))
    if not r.size:
        comp.not_applied["all"] = "the output is empty"
        return comp
    bad = int((~np.isfinite(t)).sum() - (~np.isfinite(r)).sum())
    if bad > 0:
        comp.checks.append(Check("finite", float(bad), 0.0, False,
                                 f"{bad} NaN/inf values in the test output that the reference does not have"))

    if tolerance.atol is not None or tolerance.rtol is not None:
        check, comp.allclose_fraction = _allclose_check(r, t, tolerance, comp.max_abs, tuple(ref.shape[1:]))
        comp.checks.append(check)
    else:
        comp.not_applied["allclose"] = f"the tolerance for {kind or 'this output'} sets no atol/rtol"

    # one value per sample: a direction exists only across the samples, so they form one vector
    cr, ct = (r.T, t.T) if r.shape[1] == 1 else (r, t)
    floor = signal_floor(tolerance, ref.dtype)
    fallback = "judged on absolute error only" if "allclose" not in comp.not_applied else \
        "not judged: the tolerance sets no absolute bound"
    rms = np.sqrt(np.mean(cr * cr, axis=1))
    signal = rms > floor
    comp.signal_samples = int(signal.sum())
    if comp.signal_samples:
        rs, ts = cr[signal], ct[signal]
        comp.cosine = metrics.cosine(rs, ts)
        comp.snr_db = _finite(metrics.snr_db(rs, ts))
        over = "" if comp.signal_samples == len(cr) else \
            f" (over the {comp.signal_samples} of {len(cr)} samples above the signal floor RMS {floor:.3g})"
        if tolerance.min_cosine is not None:
            ok = comp.cosine >= tolerance.min_cosine
            text = f"cosine {comp.cosine:.6f} {'≥' if ok else '<'} {tolerance.min_cosine:g}{' ok' if ok else ''}{over}"
            comp.checks.append(Check("cosine", comp.cosine, tolerance.min_cosine, ok, text))
        if comp.signal_samples < len(cr):
            comp.not_applied["cosine/snr on some samples"] = (
                f"{len(cr) - comp.signal_samples} of {len(cr)} samples have reference RMS ≤ the signal floor "
                f"{floor:.3g}: {fallback}")
    else:
        comp.not_applied["cosine/snr"] = (f"reference RMS ≤ the signal floor {floor:.3g} on every sample "
                                          f"(largest {float(rms.max()):.3g}): {fallback}")

    if kind == "logits" and ref.ndim == 2 and ref.shape[1] >= 2:
        comp.top1_agreement = _top1(r, t, tolerance)
        comp.top5_agreement = metrics.topk_agreement(ref, test, 5)
        if tolerance.min_top1_agreement is not None:
            ok = comp.top1_agreement >= tolerance.min_top1_agreement
            text = (f"top-1 agreement {comp.top1_agreement:.2%} {'≥' if ok else '<'} "
                    f"{tolerance.min_top1_agreement:.2%}{' ok' if ok else ''}")
            comp.checks.append(Check("top1", comp.top1_agreement, tolerance.min_top1_agreement, ok, text))
    elif tolerance.min_top1_agreement is not None:
        comp.not_applied["top1"] = f"the output is {kind or 'not classifier logits'}, not a classifier's scores"

    comp.failures = [c.text for c in comp.checks if not c.passed]
    comp.passed = not comp.failures
    return comp


def _finite(x: float) -> float:
    return x if math.isfinite(x) else (1e9 if x > 0 else -1e9)
