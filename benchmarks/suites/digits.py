"""The trained digits CNN on every installed stack, with test-split accuracy per variant."""

from __future__ import annotations

from benchmarks.lib import Context, SuiteResult
from benchmarks.stacks import ModelUnderTest, build_candidates, measure_model, profile_macs
from benchmarks.suites.reference_models import recommended_candidates

NAME = "digits"
TITLE = "Digits CNN (trained, real test data): every installed stack, accuracy included"
ORDER = 20


def run(ctx: Context) -> SuiteResult:
    from edgeport.data.examples import digits, digits_model_path

    suite = SuiteResult(NAME, TITLE)
    pt2 = digits_model_path(ctx.work_dir / "digits")
    model = ModelUnderTest(name="digits", pt2=pt2, data=digits(), accuracy=True)
    ctx.shared["digits_model"] = model
    cands = build_candidates(ctx, model, suite, recommended_candidates)
    onnx = next((c.artifact.path for c in cands if c.runtime == "onnxruntime" and c.precision == "fp32"), None)
    if onnx is not None:
        ctx.shared["digits_onnx"] = onnx
        model.macs = profile_macs(onnx)
    measure_model(ctx, model, cands, suite)
    return suite
