"""The hardware limit: fp32, bf16 and int8 GEMM peak on this host at each thread count.

fp32: large ``torch.matmul``, ONNX Runtime ``MatMul`` and OpenVINO ``MatMul`` (f32 hint) up to
n = 4096, with the ISA's FMA ceiling printed beside them (so the fp32 peak is an upper bound a well-tuned
runtime cannot beat, not whichever library was slowest at one size); bf16: the same on bfloat16 tensors (AVX-512 BF16 where the CPU has
it). int8: ``torch._int_mm`` (int8 × int8 → int32) and ONNX Runtime's ``MatMulInteger``
(uint8 × int8 → int32). Each rate is best-of-N (the fastest repetition: a
peak is an upper bound, and interference only ever slows a run down); the best rate over
methods and sizes is the peak. One multiply-add counts as 2 operations, so the model suites'
GOP/s (2 × MACs / latency) compare directly.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

NAME = "hardware_limit"
TITLE = "Hardware limit: GEMM peak (fp32, bf16, int8)"
ORDER = 10


def _rate(fn: Any, ops: float, reps: int, min_s: float) -> float:
    fn()  # warm (packs weights, spins up threads)
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return ops / min(times) / 1e9


def _torch_fp32(n: int, threads: int, reps: int, min_s: float) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    with torch.no_grad():
        return _rate(lambda: torch.matmul(a, b), 2.0 * n ** 3, reps, min_s)


def _torch_bf16(n: int, threads: int, reps: int, min_s: float) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
    with torch.no_grad():
        return _rate(lambda: torch.matmul(a, b), 2.0 * n ** 3, reps, min_s)


def _torch_int8(n: int, threads: int, reps: int, min_s: float) -> float:
    import torch

    torch.set_num_threads(threads)
    a = torch.randint(-128, 127, (n, n), dtype=torch.int8)
    b = torch.randint(-128, 127, (n, n), dtype=torch.int8)
    return _rate(lambda: torch._int_mm(a, b), 2.0 * n ** 3, reps, min_s)


def _ort_int8(n: int, threads: int, reps: int, min_s: float) -> float:
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.integers(-128, 127, (n, n), dtype=np.int8), "w")
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "w"], ["y"])], "mmi",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feed = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8)}
    return _rate(lambda: sess.run(None, feed), 2.0 * n ** 3, reps, min_s)


def _onnx_matmul(n: int, dtype: Any) -> Any:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "w"], ["y"])], "mm",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def _ort_fp32(n: int, threads: int, reps: int, min_s: float) -> float:
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(_onnx_matmul(n, np.float32).SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    feed = {"a": np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)}
    return _rate(lambda: sess.run(None, feed), 2.0 * n ** 3, reps, min_s)


def _openvino_fp32(n: int, threads: int, reps: int, min_s: float) -> float:
    import numpy as np
    import openvino as ov

    core = ov.Core()
    model = core.read_model(_onnx_matmul(n, np.float32).SerializeToString(), b"")
    compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    feed = {0: np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)}
    return _rate(lambda: request.infer(feed), 2.0 * n ** 3, reps, min_s)


def theoretical_fp32_gflops(threads: int) -> tuple[float | None, str]:
    """The ISA's fp32 FMA ceiling at ``threads`` cores, and how it was derived (an upper bound, never measured).

    2 FMA pipes per core (every x86 core since Haswell/Zen 2; AVX-512 counted at 512 bits only on Intel, where a
    core may have two 512-bit FMA units, since AMD Zen 4 runs it as two 256-bit halves) × vector lanes × 2 ops ×
    the highest clock the kernel reports.
    """
    from pathlib import Path

    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, "no /proc/cpuinfo"
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    vendor = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("vendor_id")), "")
    mhz = [float(ln.split(":", 1)[1]) for ln in info.splitlines() if ln.startswith("cpu MHz")]
    max_khz = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        ghz, clock = int(max_khz.read_text()) / 1e6, "cpuinfo_max_freq"
    except (OSError, ValueError):
        if not mhz:
            return None, "no clock frequency reported"
        ghz, clock = max(mhz) / 1e3, "cpu MHz in /proc/cpuinfo (no cpufreq: the current clock, boost unknown)"
    if "fma" not in flags:
        return None, "no FMA"
    lanes = 16 if "avx512f" in flags and vendor == "GenuineIntel" else 8
    rate = 2 * lanes * 2 * ghz * threads
    width = "512-bit" if lanes == 16 else "256-bit"
    return rate, f"2 FMA pipes × {lanes} fp32 lanes ({width}) × 2 ops × {ghz:.2f} GHz ({clock}) × {threads} core(s)"


def _native_bf16() -> bool:
    from pathlib import Path

    try:
        flags = next((ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def run(ctx: Context) -> SuiteResult:
    import torch

    suite = SuiteResult(NAME, TITLE)
    sizes = [512] if ctx.smoke else [1024, 2048]
    # fp32 also at 4096, where the best-blocked libraries reach their peak; not bf16/int8, which can be emulated
    # (bf16 without AVX-512 BF16 runs at a few GOP/s: a 4096 product would take minutes)
    big = {"fp32": [] if ctx.smoke else [4096]}
    reps, min_s = (3, 0.05) if ctx.smoke else (5, 1.0)
    methods = {"fp32": [("torch.matmul", _torch_fp32), ("ORT MatMul", _ort_fp32), ("OpenVINO MatMul f32", _openvino_fp32)],
               "bf16": [("torch.matmul bf16", _torch_bf16)],  # the peak OpenVINO's bf16 hint rows are held to
               "int8": [("torch._int_mm", _torch_int8), ("ORT MatMulInteger", _ort_int8)]}
    if not _native_bf16():  # emulated bf16 runs at a few GOP/s: minutes per product, and no row is held to it
        del methods["bf16"]
        suite.skip("bf16 GEMM", "this CPU has no native bf16 (avx512_bf16 / amx_bf16): bf16 is emulated")
    peaks: dict[str, float] = {}
    previous = torch.get_num_threads()
    try:
        for threads in ctx.threads:
            table = Table(f"GEMM rate at {threads} thread{'s' if threads > 1 else ''} (square n×n, GOP/s, "
                          "1 MAC = 2 ops)", ["precision", "method", "n", ("gops", "GOP/s"), "peak"])
            with measured(table, threads):
                for precision, impls in methods.items():
                    best = 0.0
                    rows = []
                    for label, fn in impls:
                        for n in sizes + big.get(precision, []):
                            try:
                                rate = fn(n, threads, reps, min_s)
                            except Exception as exc:
                                suite.skip(f"{precision} {label} n={n} @{threads}t", one_line(exc))
                                continue
                            rows.append(table.add(precision=precision, method=label, n=n, gops=rate, peak=False))
                            best = max(best, rate)
                    for row in rows:
                        row["peak"] = row["gops"] == best
                    if best:
                        peaks[f"{precision}@{threads}"] = best
                ceiling, how = theoretical_fp32_gflops(threads)
                if ceiling is not None:
                    table.add(precision="fp32", method="ISA ceiling (not measured)", n=None, gops=ceiling, peak=False)
                    table.notes.append(f"ISA ceiling: {how}; a measured peak above it would mean the clock is higher "
                                       "than reported")
            table.notes.append("each rate is best-of-N; peak = best rate over methods and sizes (the model suites "
                               "divide by it)")
            suite.tables.append(table)
    finally:
        torch.set_num_threads(previous)
    # more threads cannot lower the hardware limit: a lower rate at more threads is interference
    for precision in methods:
        best = 0.0
        for threads in sorted(ctx.threads):
            key = f"{precision}@{threads}"
            if key in peaks:
                if peaks[key] < best:
                    suite.notes.append(f"{key}: measured {peaks[key]:.1f} GOP/s < {best:.1f} at fewer threads "
                                       "(interference); the fewer-thread peak is used")
                best = max(best, peaks[key])
                peaks[key] = best
    ctx.shared["peak_gops"] = peaks
    summary = Table("Peaks (GOP/s) used by the model suites", [("key", "precision@threads"), ("gops", "GOP/s")],
                    [{"key": k, "gops": v} for k, v in sorted(peaks.items())],
                    conditions=suite.tables[-1].conditions if suite.tables else None)
    suite.tables.append(summary)
    return suite
