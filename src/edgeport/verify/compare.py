"""Compare a reference artifact and a test artifact on the same real inputs."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import InputError
from edgeport.runtimes.base import RuntimeOptions, open_runtime, run_dataset
from edgeport.verify import metrics
from edgeport.verify.tolerance import Tolerance

__all__ = ["OutputComparison", "VerificationResult", "compare_outputs", "verify"]


@dataclass
class OutputComparison:
    name: str  # test output name
    reference_name: str
    shape: list[int]
    max_abs: float
    mean_abs: float
    max_rel: float
    cosine: float
    snr_db: float
    top1_agreement: float | None
    top5_agreement: float | None
    allclose_fraction: float | None  # samples within atol + rtol*|ref|
    passed: bool
    failures: list[str] = field(default_factory=list)


@dataclass
class VerificationResult:
    reference: str
    test: str
    reference_runtime: str
    test_runtime: str
    samples: int
    split: str
    outputs: list[OutputComparison]
    tolerance: Tolerance
    passed: bool
    reference_accuracy: float | None = None
    test_accuracy: float | None = None
    accuracy_delta: float | None = None
    alignment: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kind: str = "verification"

    def failures(self) -> list[str]:
        found = [f"{o.name}: {f}" for o in self.outputs for f in o.failures]
        if self.tolerance.max_accuracy_drop is not None and self.accuracy_delta is not None \
                and -self.accuracy_delta > self.tolerance.max_accuracy_drop:
            found.append(f"accuracy drop {-self.accuracy_delta:.2%} > {self.tolerance.max_accuracy_drop:.2%}")
        return found


def _finite(x: float) -> float:
    return x if math.isfinite(x) else (1e9 if x > 0 else -1e9)


def compare_outputs(name: str, ref_name: str, ref: np.ndarray, test: np.ndarray,
                    tolerance: Tolerance) -> OutputComparison:
    ref = np.asarray(ref)
    test = np.asarray(test)
    if ref.shape != test.shape:
        raise InputError(f"output {ref_name!r} shape {ref.shape} vs {name!r} shape {test.shape} do not match",
                         fix="check both models compute the same outputs")
    comp = OutputComparison(
        name=name, reference_name=ref_name, shape=list(ref.shape),
        max_abs=metrics.max_abs(ref, test), mean_abs=metrics.mean_abs(ref, test),
        max_rel=metrics.max_rel(ref, test), cosine=metrics.cosine(ref, test), snr_db=metrics.snr_db(ref, test),
        top1_agreement=metrics.topk_agreement(ref, test, 1), top5_agreement=metrics.topk_agreement(ref, test, 5),
        allclose_fraction=None, passed=True)
    fails = comp.failures
    if tolerance.atol is not None:
        rtol = tolerance.rtol or 0.0
        r = ref.astype(np.float64).reshape(len(ref), -1) if ref.ndim else ref.astype(np.float64).reshape(1, -1)
        t = test.astype(np.float64).reshape(r.shape)
        ok = np.all(np.abs(r - t) <= tolerance.atol + rtol * np.abs(r), axis=1)
        comp.allclose_fraction = float(np.mean(ok))
        if not ok.all():
            fails.append(f"max abs error {comp.max_abs:.3g} exceeds atol {tolerance.atol:g} + rtol {rtol:g}·|ref| "
                         f"on {int((~ok).sum())} of {len(ok)} samples")
    if tolerance.min_cosine is not None and comp.cosine < tolerance.min_cosine:
        fails.append(f"cosine {comp.cosine:.6f} < {tolerance.min_cosine}")
    if tolerance.min_top1_agreement is not None and comp.top1_agreement is not None \
            and comp.top1_agreement < tolerance.min_top1_agreement:
        fails.append(f"top-1 agreement {comp.top1_agreement:.2%} < {tolerance.min_top1_agreement:.2%}")
    comp.passed = not fails
    comp.snr_db = _finite(comp.snr_db)
    return comp


def match_outputs(ref: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """Pair outputs by name, then by order and shape. Raises when counts differ."""
    if len(ref) != len(test):
        raise InputError(f"reference has {len(ref)} outputs {list(ref)}, test has {len(test)} {list(test)}",
                         fix="compare models with the same outputs")
    if set(ref) == set(test):
        return [(n, n) for n in ref]
    pairs = list(zip(ref, test))
    for r, t in pairs:
        if np.shape(ref[r]) != np.shape(test[t]):
            shapes_r = {k: np.shape(v) for k, v in ref.items()}
            shapes_t = {k: np.shape(v) for k, v in test.items()}
            raise InputError(f"outputs do not match by name or by order and shape: reference {shapes_r}, "
                             f"test {shapes_t}", fix="compare models with the same outputs")
    return pairs


def verify(reference: Artifact, test: Artifact, data: Dataset, *, tolerance: Tolerance | None = None,
           split: str = "test", max_samples: int | None = None, reference_runtime: str | None = None,
           test_runtime: str | None = None, reference_options: RuntimeOptions | None = None,
           test_options: RuntimeOptions | None = None) -> VerificationResult:
    """Run the same real samples through both artifacts and compare every output."""
    start = time.perf_counter()
    tol = tolerance or Tolerance()
    subset = data.split(split)
    if max_samples is not None:
        subset = subset.head(max_samples)
    outputs: list[dict[str, np.ndarray]] = []
    names: list[str] = []
    for art, rt_name, opts in ((reference, reference_runtime, reference_options),
                               (test, test_runtime, test_options)):
        with open_runtime(art, rt_name, opts) as rt:
            outputs.append(run_dataset(rt, subset))
            names.append(rt.name)
    ref_out, test_out = outputs
    comps = [compare_outputs(t, r, ref_out[r], test_out[t], tol) for r, t in match_outputs(ref_out, test_out)]
    result = VerificationResult(reference=str(reference.path), test=str(test.path), reference_runtime=names[0],
                                test_runtime=names[1], samples=subset.count, split=split, outputs=comps,
                                tolerance=tol, passed=True)
    if subset.count < 30:
        result.warnings.append(f"only {subset.count} samples: metrics are not stable")
    if subset.labels is not None:
        first_ref = next(iter(ref_out.values()))
        first_test = test_out[comps[0].name]
        result.reference_accuracy = metrics.accuracy(first_ref, subset.labels)
        result.test_accuracy = metrics.accuracy(first_test, subset.labels)
        if result.reference_accuracy is not None and result.test_accuracy is not None:
            result.accuracy_delta = result.test_accuracy - result.reference_accuracy
    result.passed = not result.failures()
    result.seconds = time.perf_counter() - start
    return result


def summary_row(result: VerificationResult) -> dict[str, Any]:
    worst = max(result.outputs, key=lambda o: o.max_abs) if result.outputs else None
    return {"test": result.test, "passed": result.passed, "max_abs": worst.max_abs if worst else None,
            "cosine": worst.cosine if worst else None, "top1": worst.top1_agreement if worst else None,
            "accuracy_delta": result.accuracy_delta}
