"""ExecuTorch in depth: XNNPACK fp32 and PT2E int8, and what falling back to portable kernels costs.

Per model: ``.pte`` programs made by edgeport (XNNPACK fp32, XNNPACK int8 calibrated on real
data for digits, synthetic inputs otherwise), plus on digits a portable-only program (no
delegate) to measure the fallback penalty (≈ 90× slower per op measured earlier). A second table
records each program's delegated vs portable operator nodes and size.
Measured earlier (1 thread): MobileNetV2 XNNPACK fp32 ≈ 6.7 ms, int8 ≈ 3.3 ms.
"""

from __future__ import annotations

from typing import Any

from benchmarks.lib import Context, SuiteResult, Table
from benchmarks.stacks import DEPTH_MODELS, Candidate, ModelUnderTest, run_per_model

NAME = "executorch"
TITLE = "ExecuTorch: XNNPACK fp32 vs int8, delegated vs portable operators"
ORDER = 41

MODELS = DEPTH_MODELS
PORTABLE_MODELS = ("digits",)  # portable-only programs of the 224² models take seconds per run


def _candidates(ctx: Context, model: ModelUnderTest) -> list[Candidate]:
    from edgeport.convert.api import convert
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import synthetic_feeds

    work = ctx.work_dir / model.name / "executorch"
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    data = model.data or synthetic_feeds(source.inputs, count=64, seed=0)
    calibrated = "real data" if model.data is not None else "synthetic inputs"
    variants: list[tuple[str, dict[str, Any], str]] = [
        ("fp32", {"precision": "fp32"}, "XNNPACK"),
        ("int8", {"precision": "int8"}, f"XNNPACK, PT2E int8 (calibrated on {calibrated})")]
    if model.name in PORTABLE_MODELS:
        variants.append(("fp32-portable", {"precision": "fp32", "delegate": "none"}, "portable kernels only"))
    cands = []
    for label, options, how in variants:
        art = convert(source, "executorch", out=work / f"{model.name}-{label}.pte", data=data, options=options,
                      verify_result=False).artifact
        cands.append(Candidate("ExecuTorch", "executorch", label, art, how=how))
    return cands


def _delegation(cands: list[Candidate], model: ModelUnderTest) -> Table:
    table = Table(f"{model.name}: operator nodes delegated to XNNPACK vs left on portable kernels",
                  ["variant", ("delegated", "delegated nodes"), ("portable", "portable nodes"),
                   ("portable_ops", "portable ops"), ("size_kb", ".pte KiB")])
    for cand in cands:
        d = cand.artifact.metadata.get("delegation", {})
        table.add(variant=cand.precision, delegated=d.get("delegated_nodes"), portable=d.get("portable_nodes"),
                  portable_ops=", ".join(f"{k}×{v}" for k, v in d.get("portable_ops", {}).items()) or "—",
                  size_kb=cand.artifact.size_bytes() / 1024)
    return table


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    from edgeport.runtimes.executorch import ExecuTorchRuntime

    if not ExecuTorchRuntime.available():
        suite.skip("ExecuTorch", 'not installed (pip install "edgeport[executorch]")')
        return suite
    if ctx.smoke:
        suite.skip("ExecuTorch", "smoke mode measures PyTorch eager and ONNX Runtime only")
        return suite
    run_per_model(ctx, suite, MODELS, _candidates, _delegation)
    suite.notes.append("programs have a static batch of 1 (ExecuTorch plans memory for it); threads set the "
                       "process-wide ExecuTorch thread pool")
    return suite
