"""Reference models (ResNet-18, MobileNetV2 at 224, seeded weights, batch 1) on every installed stack.

The recommended-variant row comes from ``recommended_candidates`` (the hook below): once
``edgeport optimize`` can hand back its pick for a model, return it from there as a
``Candidate(..., pick=True)`` and every table gains the row and a "ratio to the pick".
"""

from __future__ import annotations

from benchmarks.lib import Context, SuiteResult, one_line
from benchmarks.stacks import Candidate, ModelUnderTest, build_candidates, measure_model, profile_macs

NAME = "reference_models"
TITLE = "Reference models: every installed stack, fp32 and int8, at 1 and 2 threads"
ORDER = 30

MODELS = ("resnet18", "mobilenet_v2")


def recommended_candidates(ctx: Context, model: ModelUnderTest) -> list[Candidate]:
    """Hook for edgeport's pick: return the artifact ``edgeport optimize`` recommends for ``model``.

    ``ctx.shared["recommended"]`` may map a model name to a ready ``Candidate`` (e.g. set by a
    suite that ran the study); until the study exposes its pick, no row is added.
    """
    pick = ctx.shared.get("recommended", {}).get(model.name)
    if pick is None:
        return []
    pick.pick = True
    return [pick]


def _export(ctx: Context, name: str) -> ModelUnderTest:
    from edgeport.data import zoo

    build = getattr(zoo, name)
    path = ctx.work_dir / name / f"{name}.pt2"
    zoo.export_pt2(build(calibrate_bn=True), (1, 3, 224, 224), path, dynamic_batch=False)
    return ModelUnderTest(name=name, pt2=path, data=None, accuracy=False)


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("ResNet-18, MobileNetV2", "smoke mode runs one model (digits)")
        return suite
    for name in MODELS:
        try:
            model = _export(ctx, name)
        except Exception as exc:
            suite.skip(name, f"export failed: {one_line(exc)}")
            continue
        cands = build_candidates(ctx, model, suite, recommended_candidates)
        onnx = next((c.artifact.path for c in cands if c.runtime == "onnxruntime" and c.precision == "fp32"), None)
        model.macs = profile_macs(onnx) if onnx is not None else None
        measure_model(ctx, model, cands, suite)
    suite.notes.append("weights are seeded (no pretrained download): latency is representative, accuracy is not "
                       "measured; int8 paths are calibrated on synthetic inputs")
    return suite
