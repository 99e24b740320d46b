"""OpenVINO in depth: f32 vs bf16 precision hint vs NNCF int8, with the precision that actually ran.

Per model: the IR converted by edgeport (fp32 weights), run with the f32 hint (edgeport's default)
and the bf16 hint (the plugin's default on AVX-512 BF16 CPUs), NNCF int8 PTQ, and on digits the
accuracy-controlled int8 (max top-1 drop 0.5 points on the test split). A second table records,
for every row, the inference precision read back from the compiled model and the runtime
precision of its compute kernels, so a "bf16" or "int8" row is shown to be what it says.
Measured earlier (1 thread): ResNet-18 f32 ≈ 31 ms, bf16 ≈ 16 ms, int8 ≈ 8.7 ms; MobileNetV2 int8 ≈ 2.75 ms.
"""

from __future__ import annotations

from typing import Any

from benchmarks.lib import Context, SuiteResult, Table
from benchmarks.stacks import DEPTH_MODELS, Candidate, ModelUnderTest, run_per_model

NAME = "openvino"
TITLE = "OpenVINO: f32 vs bf16 hint vs NNCF int8 (PTQ, accuracy control), actual precisions recorded"
ORDER = 40

MODELS = DEPTH_MODELS
ACCURACY_CONTROL_DROP = 0.005


def _candidates(ctx: Context, model: ModelUnderTest) -> list[Candidate]:
    from edgeport.convert.api import convert
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import synthetic_feeds
    from edgeport.passes import apply_pass

    work = ctx.work_dir / model.name / "openvino"
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    data = model.data or synthetic_feeds(source.inputs, count=64, seed=0)
    fp32 = convert(source, "openvino", out=work / f"{model.name}.xml", data=model.data, verify_result=False).artifact
    int8 = apply_pass("openvino-quantize", fp32, work / f"{model.name}-int8.xml", None, data, measure=False)
    calibrated = "real data" if model.data is not None else "synthetic inputs"
    cands = [Candidate("OpenVINO", "openvino", "f32", fp32, {"inference_precision": "f32"}, how="torch-to-openvino"),
             Candidate("OpenVINO", "openvino", "bf16", fp32, {"inference_precision": "bf16"},
                       how="torch-to-openvino, bf16 hint"),
             Candidate("OpenVINO", "openvino", "int8", int8, how=f"NNCF PTQ (calibrated on {calibrated})")]
    if model.data is not None and model.data.labels is not None:
        ac = apply_pass("openvino-quantize", fp32, work / f"{model.name}-int8-ac.xml",
                        {"max_accuracy_drop": ACCURACY_CONTROL_DROP}, model.data, measure=False)
        cands.append(Candidate("OpenVINO", "openvino", "int8-ac", ac,
                               how=f"NNCF accuracy control (max drop {ACCURACY_CONTROL_DROP:.1%} on test split)"))
    return cands


def _what_ran(cands: list[Candidate], model: ModelUnderTest) -> Table:
    from edgeport.runtimes.base import open_runtime
    from edgeport.runtimes.openvino import OpenVINOOptions

    table = Table(f"{model.name}: what actually ran (read back from the compiled model)",
                  ["variant", ("requested", "requested hint"), ("ran", "inference precision"),
                   ("kernels", "kernel precisions"), ("size_kb", "IR size KiB")])
    for cand in cands:
        opts: dict[str, Any] = {"threads": 1, **cand.options}
        with open_runtime(cand.artifact, "openvino", OpenVINOOptions(**opts)) as rt:
            info = rt.describe()
        table.add(variant=cand.precision, requested=info["requested_precision"], ran=info["inference_precision"],
                  kernels=", ".join(f"{k}×{v}" for k, v in info["kernel_precisions"].items()),
                  size_kb=cand.artifact.size_bytes() / 1024)
    return table


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    from edgeport.runtimes.openvino import OpenVINORuntime

    if not OpenVINORuntime.available():
        suite.skip("OpenVINO", 'not installed (pip install "edgeport[openvino]")')
        return suite
    if ctx.smoke:
        suite.skip("OpenVINO", "smoke mode measures PyTorch eager and ONNX Runtime only")
        return suite
    run_per_model(ctx, suite, MODELS, _candidates, _what_ran)
    suite.notes.append("f32 is edgeport's default hint (verification fidelity); bf16 is the plugin's default on "
                       "this CPU class and changes numerics (digits: max |Δ| ≈ 0.05, top-1 unchanged)")
    return suite
