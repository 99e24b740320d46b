"""Fidelity matrix: one source model against many artifacts on the same real data.

Rows are artifacts; columns are max/mean absolute error, max relative error, cosine, SNR (dB),
top-1/top-5 agreement and the task metric (accuracy when labels exist) with its delta versus the
source. The source runs once; each artifact is aligned (layout, quantised I/O, output pairing)
and judged by the task-aware tolerance for its precision.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.precision import Precision
from edgeport.data.datasets import Dataset
from edgeport.errors import EdgeportError
from edgeport.verify import metrics
from edgeport.verify.compare import MIN_STABLE_SAMPLES, OutputComparison, judge, run_side, worst_output
from edgeport.verify.feeding import fixed_batch
from edgeport.verify.precision import infer_precision
from edgeport.verify.tolerance import Tolerance, ToleranceOverrides

__all__ = ["FidelityMatrix", "FidelityRow", "fidelity"]


@dataclass
class FidelityRow:
    artifact: str
    format: str
    runtime: str
    precision: str
    output: str  # the output the columns describe (the worst one when there are several)
    max_abs: float | None = None
    mean_abs: float | None = None
    max_rel: float | None = None
    cosine: float | None = None
    snr_db: float | None = None
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    task_metric: float | None = None
    task_metric_delta: float | None = None
    passed: bool = False
    failures: list[str] = field(default_factory=list)
    alignment: list[str] = field(default_factory=list)
    outputs: list[OutputComparison] = field(default_factory=list)
    error: str = ""  # the artifact could not be run/compared (one line)
    localization: Any = None  # verify.localize.Localization for a failing row when asked (localize=True)


@dataclass
class FidelityMatrix:
    source: str
    source_format: str
    source_runtime: str
    dataset: str
    split: str
    samples: int
    task_metric_name: str | None  # "accuracy" when labels exist
    source_metric: float | None
    rows: list[FidelityRow]
    passed: bool
    warnings: list[str] = field(default_factory=list)
    alignment: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kind: str = "fidelity"

    def failed_rows(self) -> list[FidelityRow]:
        return [r for r in self.rows if not r.passed]


def _as_artifact(a: Artifact | str) -> Artifact:
    return a if isinstance(a, Artifact) else load_artifact(a)


def fidelity(source: Artifact | str, artifacts: Sequence[Artifact | str], data: Dataset, *,
             split: str = "test", max_samples: int | None = None, tolerance: Tolerance | None = None,
             overrides: ToleranceOverrides | None = None, precision: str | None = None,
             localize: bool = False, device: str | None = None) -> FidelityMatrix:
    """Run ``data`` through ``source`` once and through every artifact; one row per artifact.

    ``device`` (``agent://HOST:PORT``): every artifact runs on that device (the source stays on this host).

    ``localize=True`` adds, to each row outside tolerance, the first divergent layer against the source.
    """
    start = time.perf_counter()
    src = _as_artifact(source)
    subset = data.split(split)
    if max_samples is not None:
        subset = subset.head(max_samples)
    ref = run_side(src, subset, "reference")
    labels = subset.labels
    first_ref = next(iter(ref.outputs.values()))
    src_metric = metrics.accuracy(first_ref, labels) if labels is not None else None
    matrix = FidelityMatrix(source=str(src.path), source_format=src.format.value, source_runtime=ref.runtime,
                            dataset=data.name, split=split, samples=subset.count,
                            task_metric_name="accuracy" if src_metric is not None else None,
                            source_metric=src_metric, rows=[], passed=True, alignment=list(ref.lines))
    if subset.count < MIN_STABLE_SAMPLES:
        matrix.warnings.append(f"only {subset.count} samples: metrics are not stable "
                               f"(use at least {MIN_STABLE_SAMPLES})")
    layout = ref.data_layout()
    runtime, options = _device_side(device)
    for item in artifacts:
        try:
            art = _as_artifact(item)
        except EdgeportError as exc:
            matrix.rows.append(FidelityRow(artifact=str(item), format="?", runtime="", precision="?", output="",
                                           failures=[str(exc)], error=str(exc)))
            continue
        prec = Precision.parse(precision) if precision else infer_precision(art)
        row = FidelityRow(artifact=str(art.path), format=art.format.value, runtime="", precision=prec, output="")
        try:
            test = run_side(art, subset, "test", runtime, options, data_layout=layout,
                            peer_batch=fixed_batch(ref.inputs))
            comps, lines, tol = judge(ref, test, subset, tolerance, prec, overrides)
        except EdgeportError as exc:
            row.error = str(exc)
            row.failures = [str(exc)]
            matrix.rows.append(row)
            continue
        row.runtime = test.runtime
        row.alignment = test.lines + lines
        row.outputs = comps
        worst = worst_output(comps)
        row.output = worst.name
        for name in ("max_abs", "mean_abs", "max_rel", "cosine", "snr_db", "top1_agreement", "top5_agreement"):
            setattr(row, name, getattr(worst, name))
        row.failures = [c.summary() for c in comps if not c.passed]
        if labels is not None:
            first = comps[0]
            value = test.outputs[first.name]
            pair_perm = _perm_for(first, ref.outputs, value)
            row.task_metric = metrics.accuracy(value.transpose(pair_perm) if pair_perm else value, labels)
            if row.task_metric is not None and src_metric is not None:
                row.task_metric_delta = row.task_metric - src_metric
                if tol.max_accuracy_drop is not None and -row.task_metric_delta > tol.max_accuracy_drop:
                    row.failures.append(f"accuracy drop {-row.task_metric_delta:.2%} > {tol.max_accuracy_drop:.2%}")
        row.passed = not row.failures
        if localize and not row.passed:
            from edgeport.verify.localize import localize as _localize

            row.localization = _localize(src, art, data, split=split, tolerance=tol, precision=prec)
        matrix.rows.append(row)
    matrix.passed = all(r.passed for r in matrix.rows)
    matrix.seconds = time.perf_counter() - start
    return matrix


def _perm_for(comp: OutputComparison, ref_outputs: dict, value: object) -> tuple[int, ...] | None:  # type: ignore[type-arg]
    import numpy as np

    from edgeport.verify.align import _out_perm

    ref_shape = tuple(np.shape(ref_outputs[comp.reference_name]))
    perm, _ = _out_perm(ref_shape, tuple(np.shape(value)), None, None)
    return perm or None


def _device_side(device: str | None) -> tuple[str | None, Any]:
    """(runtime name, options) that run an artifact on ``device``; (None, None): this host's default."""
    if not device:
        return None, None
    from edgeport.runtimes.base import device_runtime

    cls, options = device_runtime(device)
    return cls.name, options
