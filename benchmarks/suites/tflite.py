"""LiteRT (TFLite) in depth: fp32 with XNNPACK on and off, and static int8, on the reference models.

Per model: the ``.tflite`` made by edgeport's litert-torch edge (fp32, batch 1), run with the
XNNPACK delegate (LiteRT's default) and with builtin kernels only (``xnnpack=False``), and the
static PT2E int8 model (int8 I/O, calibrated on the digits calibration split, synthetic inputs
for the 224×224 models). A second table records what each file is: size, I/O dtype, operator
counts and the op resolver that ran. Measured earlier (1 thread): MobileNetV2 fp32 ≈ 6.5 ms,
int8 ≈ 3.2 ms with XNNPACK; builtin kernels about 3× slower.
"""

from __future__ import annotations

from benchmarks.lib import Context, SuiteResult, Table
from benchmarks.stacks import DEPTH_MODELS, Candidate, ModelUnderTest, run_per_model

NAME = "tflite"
TITLE = "LiteRT: fp32 with XNNPACK on/off and static int8 (litert-torch), file contents recorded"
ORDER = 45

MODELS = DEPTH_MODELS


def _candidates(ctx: Context, model: ModelUnderTest) -> list[Candidate]:
    from edgeport.convert.api import convert
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import synthetic_feeds

    work = ctx.work_dir / model.name / "tflite"
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    data = model.data or synthetic_feeds(source.inputs, count=64, seed=0)
    fp32 = convert(source, "tflite", out=work / f"{model.name}.tflite", data=model.data, verify_result=False,
                   via=["torch-to-tflite"]).artifact
    int8 = convert(source, "tflite", out=work / f"{model.name}-int8.tflite", data=data, verify_result=False,
                   via=["torch-to-tflite"], options={"precision": "int8", "calibration_samples": 64}).artifact
    calibrated = "real data" if model.data is not None else "synthetic inputs"
    return [Candidate("LiteRT", "litert", "fp32", fp32, {"xnnpack": True}, how="litert-torch, XNNPACK"),
            Candidate("LiteRT", "litert", "fp32-builtin", fp32, {"xnnpack": False},
                      how="litert-torch, builtin kernels (no XNNPACK)"),
            Candidate("LiteRT", "litert", "int8", int8, {"xnnpack": True},
                      how=f"litert-torch PT2E static int8 (calibrated on {calibrated}), XNNPACK")]


def _contents(cands: list[Candidate], model: ModelUnderTest) -> Table:
    from edgeport.graph.tflite_reader import op_inventory, read_graph
    from edgeport.runtimes.base import open_runtime
    from edgeport.runtimes.litert import LiteRTOptions

    table = Table(f"{model.name}: what each .tflite is and what ran",
                  ["variant", ("size_kb", "size KiB"), ("io", "input dtype"), ("ops", "operators"),
                   ("resolver", "op resolver"), ("flex", "Flex ops")])
    for cand in cands:
        inv = op_inventory(read_graph(cand.artifact.path))
        with open_runtime(cand.artifact, "litert", LiteRTOptions(threads=1, **cand.options)) as rt:
            info = rt.describe()
            dtype = rt.input_specs()[0].dtype
        top = sorted(inv.builtin.items(), key=lambda kv: -kv[1])[:4]
        table.add(variant=cand.precision, size_kb=cand.artifact.size_bytes() / 1024, io=dtype,
                  ops=", ".join(f"{k}×{v}" for k, v in top), resolver=info["op_resolver"],
                  flex=", ".join(sorted(inv.flex)) or "none")
    return table


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    from edgeport.convert.torch_to_tflite import TorchToTflite
    from edgeport.runtimes.litert import LiteRTRuntime

    if not (LiteRTRuntime.available() and TorchToTflite.available()):
        suite.skip("LiteRT", 'not installed (pip install "edgeport[tflite]")')
        return suite
    if ctx.smoke:
        suite.skip("LiteRT", "smoke mode measures PyTorch eager and ONNX Runtime only")
        return suite
    run_per_model(ctx, suite, MODELS, _candidates, _contents)
    suite.notes.append("fp32-builtin runs the same file as fp32 with LiteRT's builtin kernels "
                       "(BUILTIN_WITHOUT_DEFAULT_DELEGATES): the XNNPACK speed-up is the ratio of the two rows")
    return suite
