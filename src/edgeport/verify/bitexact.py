"""Bit-exact verification: integer outputs compared element for element, no tolerance.

Used where two implementations claim the same integer arithmetic — generated MCU C against
TFLite's reference kernels (``BUILTIN_REF``), a QEMU Cortex-M build against the host build. Both
sides are fed the same quantised samples; outputs are compared as the integers each produced.
The answer is ``bit-exact on N samples``, or the first differing output, sample and element with
both values and how many elements differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import FeedError
from edgeport.runtimes.base import RuntimeOptions, open_runtime, run_dataset

__all__ = ["BitExactResult", "Mismatch", "bit_exact"]


@dataclass
class Mismatch:
    output: str
    sample: int
    element: int  # flat index within the sample
    reference: int | float  # float where the model's output is float (DEQUANTIZE at the end)
    test: int | float
    differing_elements: int
    total_elements: int


@dataclass
class BitExactResult:
    reference: str
    test: str
    reference_runtime: dict[str, Any]
    test_runtime: dict[str, Any]
    samples: int
    split: str
    exact: bool
    mismatch: Mismatch | None = None
    stats: dict[str, Any] = field(default_factory=dict)  # e.g. QEMU instruction counts

    @property
    def passed(self) -> bool:
        return self.exact

    def summary(self) -> str:
        if self.exact:
            return f"bit-exact on {self.samples} samples"
        m = self.mismatch
        assert m is not None
        return (f"output {m.output!r} differs first at sample {m.sample}, element {m.element}: reference {m.reference}, "
                f"test {m.test} ({m.differing_elements} of {m.total_elements} elements differ)")


def _options_for(artifact: Artifact, target: str) -> RuntimeOptions | None:
    if artifact.format is Format.TFLITE:
        from edgeport.runtimes.litert import LiteRTOptions

        return LiteRTOptions(reference_kernels=True)
    if artifact.format is Format.MCU_C:
        from edgeport.runtimes.mcu import McuOptions

        return McuOptions(target=target)
    return None


def _integers(values: np.ndarray, spec: Any) -> np.ndarray:
    """The integers a runtime produced, from its dequantised outputs (dequantisation is one-to-one)."""
    if spec is None or spec.quant is None:
        return np.asarray(values)
    scale, zp = spec.quant.scale[0], spec.quant.zero_point[0]
    return (np.rint(np.asarray(values, dtype=np.float64) / scale) + zp).astype(np.int64)


def bit_exact(reference: Artifact, test: Artifact, data: Dataset, *, split: str = "test",
              max_samples: int | None = None, target: str = "host", reference_target: str = "host") -> BitExactResult:
    """Run ``data``'s ``split`` through both artifacts and compare their integer outputs exactly.

    A ``.tflite`` runs on TFLite's reference kernels; an MCU C project on ``target`` (``host`` or ``qemu``;
    ``reference_target`` when the reference is one too)."""
    subset = data.split(split) if split != "all" else data
    if max_samples is not None and subset.count > max_samples:
        subset = subset.head(max_samples)
    results = []
    for artifact, where in ((reference, reference_target), (test, target)):
        with open_runtime(artifact, None, _options_for(artifact, where)) as rt:
            outs = run_dataset(rt, subset)
            specs = {s.name: s for s in rt.output_specs()}
            results.append(({k: _integers(v, specs.get(k)) for k, v in outs.items()}, rt.describe(),
                             dict(getattr(rt, "last_stats", {}) or {})))
    (ref_out, ref_rt, _), (test_out, test_rt, stats) = results
    result = BitExactResult(str(reference.path), str(test.path), ref_rt, test_rt, subset.count, split, True,
                            stats=stats)
    # the same names on both sides, or (a converted model may rename them) the outputs in order
    pairs = [(k, ref_out[k], test_out[k]) for k in ref_out] if set(ref_out) == set(test_out) else \
        [(k, a, b) for (k, a), b in zip(ref_out.items(), test_out.values())]
    for name, a, b in pairs:
        a2, b2 = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
        if a2.shape != b2.shape:
            raise FeedError(f"output {name!r} has shape {a.shape} in the reference but {b.shape} in the test",
                            fix="compare models with the same outputs")
        diff = np.argwhere(a2 != b2)
        if diff.size:
            s, e = (int(v) for v in diff[0])
            result.exact = False
            result.mismatch = Mismatch(name, s, e, a2[s, e].item(), b2[s, e].item(), int(len(diff)), int(a2.size))
            break
    return result
