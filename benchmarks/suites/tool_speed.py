"""Tool speed: ``edgeport --help``, ``import edgeport``, profiling a ~100 MB ONNX model, the demo study.

Targets: ``--help`` < 0.3 s and ``profile`` of the ~100 MB model < 2 s. The big model is an
MLP of 2048×2048 ``Gemm`` layers made by code (no download). Wall times are medians of
fresh processes; the bare interpreter start-up is listed for reference.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line, timed_subprocess

NAME = "tool_speed"
TITLE = "Tool speed: CLI start-up, import, profile of a ~100 MB model, demo study"
ORDER = 60


def make_big_mlp(path: Path, layers: int, width: int) -> Path:
    """An fp32 MLP of ``layers`` Gemm(width×width)+Relu, written atomically (≈ layers × width² × 4 bytes)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save_model

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    prev = "x"
    for i in range(layers):
        w = numpy_helper.from_array(rng.standard_normal((width, width), dtype=np.float32) * 0.02, f"w{i}")
        b = numpy_helper.from_array(np.zeros(width, np.float32), f"b{i}")
        inits += [w, b]
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [f"g{i}"]))
        nodes.append(helper.make_node("Relu", [f"g{i}"], [f"h{i}"]))
        prev = f"h{i}"
    graph = helper.make_graph(nodes, "big_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    tmp = path.with_suffix(".tmp")
    save_model(model, str(tmp))
    os.replace(tmp, path)
    return path


def _edgeport_cmd() -> list[str]:
    script = Path(sys.executable).parent / "edgeport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "edgeport.cli.main"]


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    repeats = 3 if ctx.smoke else 7
    env = dict(os.environ, EDGEPORT_STORE=str(ctx.work_dir / "tool-speed.db"))
    table = Table("Wall time of fresh processes (median)", ["what", "seconds", "runs", "note"])
    with measured(table):
        baseline, _ = timed_subprocess([sys.executable, "-c", "pass"], repeats, env=env)
        table.add(what="python -c pass (interpreter start-up)", seconds=baseline, runs=repeats, note="reference")
        try:
            wall, _ = timed_subprocess([sys.executable, "-c", "import edgeport"], repeats, env=env)
            table.add(what="import edgeport", seconds=wall, runs=repeats, note=f"{wall - baseline:.3f} s over start-up")
        except Exception as exc:
            suite.skip("import edgeport", one_line(exc))
        try:
            wall, _ = timed_subprocess([*_edgeport_cmd(), "--help"], repeats, env=env)
            table.add(what="edgeport --help", seconds=wall, runs=repeats, note="")
            suite.target("edgeport --help wall time", wall, 0.3, " s")
        except Exception as exc:
            suite.skip("edgeport --help", one_line(exc))
    suite.tables.append(table)

    layers, width = (3, 1024) if ctx.smoke else (6, 2048)
    big = make_big_mlp(ctx.work_dir / "big_mlp.onnx", layers, width)
    size_mb = big.stat().st_size / 1e6
    prof = Table(f"profile of a {size_mb:.0f} MB ONNX MLP ({layers} × Gemm {width}×{width})",
                 ["what", "seconds", "runs", "note"])
    with measured(prof):
        try:
            from edgeport.analysis.profile import profile

            times, macs = [], 0
            for _ in range(repeats):
                start = time.perf_counter()
                macs = profile(big).macs
                times.append(time.perf_counter() - start)
            first, warm = times[0], statistics.median(times[1:])
            prof.add(what="edgeport.analysis.profile.profile(), first call in the process", seconds=first, runs=1,
                     note=f"{macs / 1e6:.1f} M MACs (expected {layers * width * width / 1e6:.1f} M)")
            prof.add(what="edgeport.analysis.profile.profile(), later calls (median)", seconds=warm,
                     runs=repeats - 1, note="nothing is cached between calls: the file is read again each time")
            label = "profile of the ~100 MB model" if not ctx.smoke else f"profile of a {size_mb:.0f} MB model (smoke)"
            suite.target(label, first, 2.0, " s", note="first call in the process")
        except Exception as exc:
            suite.skip("profile()", one_line(exc))
        try:
            wall, _ = timed_subprocess([*_edgeport_cmd(), "profile", str(big), "--json"], 1 if ctx.smoke else 3,
                                       env=env)
            prof.add(what="edgeport profile MODEL --json (fresh process)", seconds=wall, runs=1 if ctx.smoke else 3,
                     note="includes start-up and imports")
        except Exception as exc:
            suite.skip("edgeport profile (CLI)", one_line(exc))
    suite.tables.append(prof)

    if ctx.smoke:
        suite.skip("demo study (edgeport optimize)", "smoke mode: the study takes minutes")
    else:
        demo = Table("Demo study wall time (edgeport optimize on the built-in example)", ["what", "seconds", "runs",
                                                                                          "note"])
        with measured(demo):
            try:
                out = ctx.work_dir / "demo-study"
                wall, _ = timed_subprocess([*_edgeport_cmd(), "optimize", "--out", str(out), "--fresh", "--json"], 1,
                                           timeout=3600, cwd=ctx.work_dir, env=env)
                demo.add(what="edgeport optimize", seconds=wall, runs=1, note="built-in digits example, defaults")
                suite.target("demo study wall time", wall, 180.0, " s")
            except Exception as exc:
                suite.skip("demo study (edgeport optimize)", one_line(exc))
        suite.tables.append(demo)
    return suite
