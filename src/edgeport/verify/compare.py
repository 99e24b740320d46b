"""Compare a reference artifact and a test artifact on the same real inputs.

Each side gets the dataset in its own layout (``align``) and in the batches its model accepts
(``feeding``), outputs are paired by name, then by a unique shape, then by order, and each output is
judged (``judgement``) by the task-aware tolerance for its kind (logits, embedding, dense) at the test
artifact's precision unless an explicit tolerance is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.precision import Precision, PrecisionFamily
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.runtimes.base import RuntimeOptions, open_runtime
from edgeport.verify import metrics
from edgeport.verify.align import align_inputs, match_outputs, quant_lines
from edgeport.verify.feeding import fixed_batch, run_in_batches
from edgeport.verify.judgement import OutputComparison, compare_outputs, worst_output
from edgeport.verify.precision import infer_precision
from edgeport.verify.tolerance import Tolerance, ToleranceOverrides, infer_output_kind

# OutputComparison, compare_outputs, worst_output: re-exported from verify.judgement; infer_precision from
# verify.precision
__all__ = ["MIN_STABLE_SAMPLES", "OutputComparison", "SideRun", "VerificationResult", "compare_outputs",
           "infer_precision", "run_side", "verify", "worst_output"]

MIN_STABLE_SAMPLES = 30


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
    precision: str = "fp32"
    localization: Any = None  # a verify.localize.Localization when asked for
    kind: str = "verification"

    def failures(self) -> list[str]:
        """One line per output outside tolerance (its failed checks with the values that would pass, then the
        checks it met), then the accuracy drop."""
        found = [o.summary() for o in self.outputs if not o.passed]
        if self.tolerance.max_accuracy_drop is not None and self.accuracy_delta is not None \
                and -self.accuracy_delta > self.tolerance.max_accuracy_drop:
            found.append(f"accuracy drop {-self.accuracy_delta:.2%} > {self.tolerance.max_accuracy_drop:.2%}")
        return found


@dataclass
class SideRun:
    """One artifact run on the (aligned) dataset."""

    outputs: dict[str, np.ndarray]
    runtime: str
    inputs: tuple[TensorSpec, ...]
    output_specs: tuple[TensorSpec, ...]
    lines: list[str]
    transposed: bool = False  # the dataset had to be transposed for this side
    reduced_precision: tuple[str, str] | None = None  # (precision, fix) when a float model ran reduced (bf16)

    def data_layout(self) -> str | None:
        """The dataset's own layout as seen from this side (None when unknown)."""
        layout = _data_layout(self.inputs)
        if layout is None or not self.transposed:
            return layout
        return {"NHWC": "NCHW", "NCHW": "NHWC", "NWC": "NCW", "NCW": "NWC"}.get(layout)


def _data_layout(specs: tuple[TensorSpec, ...] | list[TensorSpec]) -> str | None:
    return next((s.layout for s in specs if s.layout), None)


def run_side(artifact: Artifact, subset: Dataset, side: str, runtime: str | None = None,
             options: RuntimeOptions | None = None, data_layout: str | None = None,
             peer_batch: int | None = None) -> SideRun:
    """Open ``artifact``'s runtime, feed it ``subset`` in its own layout and batches, return every output.

    ``peer_batch`` is the other model's fixed batch: this side is fed it when its own batch is free.
    """
    with open_runtime(artifact, runtime, options) as rt:
        in_specs = _merge_layout(rt.input_specs(), artifact.inputs)
        aligned = align_inputs(subset, in_specs, side, data_layout)
        fed = run_in_batches(rt, aligned.dataset, side, peer_batch)
        lines = aligned.lines + fed.lines + quant_lines(side, rt.input_specs(), rt.output_specs())
        return SideRun(fed.outputs, rt.name, tuple(in_specs), _merge_layout(rt.output_specs(), artifact.outputs),
                       lines, transposed=bool(aligned.perms), reduced_precision=rt.reduced_precision())


def _merge_layout(specs: tuple[TensorSpec, ...], declared: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
    """Runtime specs, with the layout the artifact declares where the runtime does not know it."""
    by_name = {s.name: s for s in declared}
    merged = []
    for i, s in enumerate(specs):
        d = by_name.get(s.name) or (declared[i] if i < len(declared) and len(declared) == len(specs) else None)
        if d is not None and d.layout and d.layout != s.layout:
            s = TensorSpec(s.name, s.dtype, s.shape, d.layout, s.quant or d.quant)
        merged.append(s)
    return tuple(merged)


def judge(ref: SideRun, test: SideRun, subset: Dataset, tolerance: Tolerance | None, precision: str,
          overrides: ToleranceOverrides | None) -> tuple[list[OutputComparison], list[str], Tolerance]:
    """Pair outputs and compare each with its tolerance; returns (comparisons, alignment lines, main tolerance)."""
    pairs, lines = match_outputs(ref.outputs, test.outputs, ref.output_specs, test.output_specs)
    comps = []
    for pair in pairs:
        r = np.asarray(ref.outputs[pair.reference])
        t = np.asarray(test.outputs[pair.test])
        if pair.perm:
            t = t.transpose(pair.perm)
        kind = infer_output_kind(r.shape, subset.task, str(r.dtype))
        tol = tolerance if tolerance is not None else Tolerance.for_output_kind(kind, precision)
        if overrides is not None:
            tol = overrides.apply(tol)
        comps.append(compare_outputs(pair.test, pair.reference, r, t, tol, kind, pair.how))
    main = comps[0].tolerance if comps and comps[0].tolerance is not None else (tolerance or Tolerance())
    return comps, lines, main


def verify(reference: Artifact, test: Artifact, data: Dataset, *, tolerance: Tolerance | None = None,
           split: str = "test", max_samples: int | None = None, reference_runtime: str | None = None,
           test_runtime: str | None = None, reference_options: RuntimeOptions | None = None,
           test_options: RuntimeOptions | None = None, precision: str | None = None,
           overrides: ToleranceOverrides | None = None, localize: bool = False,
           localize_samples: int = 16) -> VerificationResult:
    """Run the same real samples through both artifacts and compare every output.

    ``tolerance`` fixes the criteria for every output; without it each output gets the default
    for its kind (``infer_output_kind``) at ``precision`` (inferred from the test artifact when
    ``None``), then ``overrides``. ``localize=True`` adds the first divergent layer (traced on
    ``localize_samples`` samples: every intermediate tensor of each is held in memory).
    """
    start = time.perf_counter()
    prec = Precision.parse(precision) if precision else _judged_at(reference, test)
    subset = data.split(split)
    if max_samples is not None:
        subset = subset.head(max_samples)
    ref = run_side(reference, subset, "reference", reference_runtime, reference_options,
                   peer_batch=fixed_batch(test.inputs))
    test_run = run_side(test, subset, "test", test_runtime, test_options, ref.data_layout(),
                        peer_batch=fixed_batch(ref.inputs))
    comps, out_lines, main_tol = judge(ref, test_run, subset, tolerance, prec, overrides)
    result = VerificationResult(reference=str(reference.path), test=str(test.path), reference_runtime=ref.runtime,
                                test_runtime=test_run.runtime, samples=subset.count, split=split, outputs=comps,
                                tolerance=main_tol, passed=True, precision=prec,
                                alignment=ref.lines + test_run.lines + out_lines)
    if subset.count < MIN_STABLE_SAMPLES:
        result.warnings.append(f"only {subset.count} samples: metrics are not stable "
                               f"(use at least {MIN_STABLE_SAMPLES})")
    if subset.labels is not None and comps:
        result.reference_accuracy = metrics.accuracy(ref.outputs[comps[0].reference_name], subset.labels)
        result.test_accuracy = metrics.accuracy(_aligned(test_run, comps[0], ref), subset.labels)
        if result.reference_accuracy is not None and result.test_accuracy is not None:
            result.accuracy_delta = result.test_accuracy - result.reference_accuracy
    result.passed = not result.failures()
    if not result.passed and test_run.reduced_precision is not None:
        reduced, fix = test_run.reduced_precision
        result.warnings.append(f"{reduced} inference exceeds tolerance ({'; '.join(result.failures()[:3])}); {fix}")
    if localize:
        from edgeport.verify.localize import localize as _localize

        tol = overrides.apply(main_tol) if overrides is not None else main_tol
        result.localization = _localize(reference, test, data, split=split, tolerance=tol, precision=prec,
                                        max_samples=min(max_samples or localize_samples, localize_samples))
    result.seconds = time.perf_counter() - start
    return result


_COARSENESS = {PrecisionFamily.FLOAT32: 0, PrecisionFamily.REDUCED_FLOAT: 1, PrecisionFamily.INTEGER: 2}


def _judged_at(reference: Artifact, test: Artifact) -> Precision:
    """The precision whose tolerance judges the pair: the test's, or the reference's when that is coarser
    (a shipped dynamic-int8 model run by another runtime differs by that runtime's own int8 rounding)."""
    prec, ref = infer_precision(test), infer_precision(reference)
    return ref if _COARSENESS[ref.family] > _COARSENESS[prec.family] else prec


def _aligned(test: SideRun, comp: OutputComparison, ref: SideRun) -> np.ndarray:
    value = np.asarray(test.outputs[comp.name])
    ref_shape = np.shape(ref.outputs[comp.reference_name])
    if value.shape != ref_shape:
        pairs, _ = match_outputs(ref.outputs, test.outputs, ref.output_specs, test.output_specs)
        perm = next(p.perm for p in pairs if p.test == comp.name)
        if perm:
            value = value.transpose(perm)
    return value


def summary_row(result: VerificationResult) -> dict[str, Any]:
    worst = worst_output(result.outputs) if result.outputs else None
    return {"test": result.test, "passed": result.passed, "max_abs": worst.max_abs if worst else None,
            "cosine": worst.cosine if worst else None, "top1": worst.top1_agreement if worst else None,
            "accuracy_delta": result.accuracy_delta}
