"""A healthy model run wholly in fp16 or bf16 passes its own precision's tolerance, and not fp32's.

The digits CNN in PyTorch, cast to the reduced float (weights, activations and input), against fp32:
bf16 is a reduced float, judged elementwise like fp16 with a bound sized to its shorter significand.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.verify.compare import compare_outputs
from edgeport.verify.tolerance import Tolerance

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def logits(digits_data):  # noqa: ANN001, ANN201
    from edgeport.data.examples import digits_model

    x = torch.from_numpy(next(iter(digits_data.split("test").inputs.values())))
    model = digits_model().eval()
    out = {}
    with torch.no_grad():
        out["fp32"] = model(x).numpy()
        for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            out[name] = model.to(dtype)(x.to(dtype)).float().numpy()
            model = model.float()
    return out


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_reduced_float_run_passes_its_own_tolerance_only(logits, precision: str) -> None:  # noqa: ANN001
    ref, test = logits["fp32"], logits[precision]
    own = compare_outputs("y", "y", ref, test, Tolerance.for_output_kind("logits", precision), "logits")
    assert own.passed, own.failures
    assert own.top1_agreement == 1.0 and own.cosine > 0.9999
    strict = compare_outputs("y", "y", ref, test, Tolerance.for_output_kind("logits", "fp32"), "logits")
    assert not strict.passed and strict.max_abs > 1e-2  # the reduced float really changed the numbers


def test_bf16_needs_its_wider_bound(logits) -> None:  # noqa: ANN001
    """bf16's error is larger than fp16's: the bound is sized to it, and a scale error still fails it."""
    ref = logits["fp32"].astype(np.float64)
    err = {p: np.abs(logits[p] - ref) for p in ("fp16", "bf16")}
    assert err["bf16"].max() > err["fp16"].max()
    tol = Tolerance.for_output_kind("logits", "bf16")
    scaled = compare_outputs("y", "y", logits["fp32"], logits["bf16"] * 1.2, tol, "logits")
    assert not scaled.passed and any("max abs error" in f for f in scaled.failures)
