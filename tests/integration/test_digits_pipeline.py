"""The spine end to end on real data: train → export → convert → verify → benchmark through ORT."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeport import BenchmarkConfig, benchmark
from edgeport.bench.harness import PreparedBenchmark, interleaved
from edgeport.errors import DatasetError
from edgeport.report.schema import to_json
from edgeport.runtimes.base import open_runtime, run_dataset
from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

SMALL = BenchmarkConfig(warmup_runs=5, warmup_min_s=0.05, min_runs=200, min_duration_s=0.2)


def _accuracy(artifact, data) -> float:
    test = data.split("test")
    with open_runtime(artifact) as rt:
        (logits,) = run_dataset(rt, test).values()
    return float((np.asarray(logits).argmax(1) == test.labels).mean())


def test_trained_model_and_its_onnx_export_are_accurate(digits_pt2, digits_onnx, digits_data):
    assert digits_onnx.parent is not None and digits_onnx.step.name == "torch-to-onnx"
    acc_pt2 = _accuracy(digits_pt2, digits_data)
    acc_onnx = _accuracy(digits_onnx, digits_data)
    assert acc_pt2 >= 0.97
    assert acc_onnx >= 0.97
    assert abs(acc_pt2 - acc_onnx) <= 1 / 360  # at most one test sample differs


def test_verification_passes_on_the_test_split(digits_pt2, digits_onnx, digits_data):
    from edgeport.verify.compare import verify

    result = verify(digits_pt2, digits_onnx, digits_data)
    assert result.passed, result.failures()
    assert result.samples == 360
    (out,) = result.outputs
    assert out.top1_agreement == 1.0
    assert out.max_abs < 1e-3
    assert result.test_accuracy is not None and result.test_accuracy >= 0.97


def test_benchmark_through_ort_on_real_data(digits_onnx, digits_data):
    res = benchmark(digits_onnx, "onnxruntime", OnnxRuntimeOptions(threads=1), digits_data, SMALL)
    s = res.latency_ms
    assert res.runtime == "onnxruntime" and res.threads == 1 and res.batch == 1
    assert res.inputs == "dataset:digits"
    assert res.runs >= 200 and res.timed_s > 0
    assert res.warmup_runs >= 5 and res.warmup_s >= 0.05
    assert 0 < s.min <= s.median <= s.p90 <= s.p99 <= s.max
    assert s.ci95_low <= s.median <= s.ci95_high
    assert res.throughput == pytest.approx(res.runs * res.batch / res.timed_s)
    assert res.load_ms > 0 and res.first_run_ms > 0
    assert res.peak_rss_delta_mb is not None and res.peak_rss_delta_mb >= 0
    assert res.runtime_info["threads"] == 1 and res.runtime_info["providers"] == ["CPUExecutionProvider"]
    cond = res.conditions
    assert cond.threads == 1 and cond.cores >= 1 and cond.load_before is not None and cond.load_after is not None
    assert cond.versions["onnxruntime"]
    doc = json.loads(json.dumps(to_json(res)))
    assert doc["latency_ms"]["median"] == s.median
    assert "_samples_ms" not in doc and len(res.samples_ms) == res.runs


def test_benchmark_with_synthetic_inputs_and_a_batch(digits_onnx):
    res = benchmark(digits_onnx, config=BenchmarkConfig(warmup_runs=2, warmup_min_s=0, min_runs=20,
                                                        min_duration_s=0, max_runs=20, batch=8))
    assert res.runtime == "onnxruntime"  # picked for the format
    assert res.runs == 20 and res.batch == 8
    assert res.inputs.startswith("synthetic")
    assert res.throughput == pytest.approx(8 * 20 / res.timed_s)


def test_benchmark_rejects_a_dataset_that_does_not_fit(digits_onnx):
    from edgeport import Dataset

    wrong = Dataset(name="wrong", inputs={"x": np.zeros((4, 3, 8, 8), np.float32)})
    with pytest.raises(DatasetError):
        benchmark(digits_onnx, data=wrong, config=SMALL)


def test_interleaved_blocks_of_two_thread_counts(digits_onnx, digits_data):
    one = PreparedBenchmark(digits_onnx, "onnxruntime", OnnxRuntimeOptions(threads=1), digits_data, SMALL)
    two = PreparedBenchmark(digits_onnx, "onnxruntime", OnnxRuntimeOptions(threads=2), digits_data, SMALL)
    order: list[str] = []

    def block(bench: PreparedBenchmark, label: str):
        def run() -> list[float]:
            order.append(label)
            return bench.block(50, 0.02)
        return run

    with one, two:
        one.warmup(5, 0.02)
        two.warmup(5, 0.02)
        results = interleaved([block(one, "A"), block(two, "B")], blocks=3, names=["1 thread", "2 threads"])
    assert order == ["A", "B", "A", "B", "A", "B"]
    assert [r.name for r in results] == ["1 thread", "2 threads"]
    for r in results:
        assert r.blocks == 3 and len(r.block_medians_ms) == 3
        assert r.median_ms == pytest.approx(float(np.median(r.block_medians_ms)))
        assert r.stats.count >= 150 and r.p99_ms >= min(r.block_medians_ms)
