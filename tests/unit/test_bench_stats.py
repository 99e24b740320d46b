"""Latency statistics on arrays with known answers (no optional dependencies)."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.bench.stats import (
    bootstrap_median_ci,
    bootstrap_median_ci_resampled,
    coefficient_of_variation,
    percentile,
    summarize,
)


def test_percentiles_of_1_to_101_are_the_values_themselves():
    x = np.arange(1, 102, dtype=float)  # 101 values: the q-th percentile is exactly 1 + q
    s = summarize(x)
    assert s.count == 101
    assert s.median == s.p50 == 51.0
    assert s.p90 == 91.0
    assert s.p99 == 100.0
    assert s.min == 1.0 and s.max == 101.0
    assert s.mean == pytest.approx(51.0)
    assert percentile(x, 25) == 26.0


def test_percentile_interpolates_between_order_statistics():
    assert percentile([0.0, 10.0], 50) == 5.0
    assert percentile([0.0, 10.0], 90) == pytest.approx(9.0)


def test_std_and_cv_use_the_sample_standard_deviation():
    x = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])  # mean 5, sample std sqrt(32/7)
    s = summarize(x)
    assert s.std == pytest.approx(np.sqrt(32 / 7))
    assert s.cv == pytest.approx(np.sqrt(32 / 7) / 5)
    assert coefficient_of_variation(x) == pytest.approx(s.cv)
    assert coefficient_of_variation([3.0, 3.0, 3.0]) == 0.0
    assert coefficient_of_variation([7.0]) == 0.0


@pytest.mark.parametrize("n", [2, 9, 50, 301, 2000])
def test_bootstrap_ci_contains_the_median_and_is_deterministic(n):
    x = np.random.default_rng(n).lognormal(0.0, 0.5, size=n)
    low, high = bootstrap_median_ci(x)
    assert low <= float(np.median(x)) <= high
    assert low < high
    assert (low, high) == bootstrap_median_ci(x)  # fixed seed


@pytest.mark.parametrize("n", [8, 51, 400])
def test_fast_bootstrap_matches_the_textbook_resampling_bootstrap(n):
    """The order-statistic shortcut simulates the same distribution as materialised resamples."""
    x = np.random.default_rng(100 + n).gamma(4.0, 1.0, size=n)
    fast = bootstrap_median_ci(x, resamples=4000)
    slow = bootstrap_median_ci_resampled(x, resamples=4000)
    spread = np.percentile(x, 75) - np.percentile(x, 25)
    assert fast[0] == pytest.approx(slow[0], abs=0.1 * spread)
    assert fast[1] == pytest.approx(slow[1], abs=0.1 * spread)


def test_ci_narrows_with_more_samples():
    rng = np.random.default_rng(0)
    few = summarize(rng.normal(10, 1, size=30))
    many = summarize(rng.normal(10, 1, size=30_000))
    assert many.ci95_high - many.ci95_low < (few.ci95_high - few.ci95_low) / 10
    assert many.ci_halfwidth_fraction < 0.01


def test_single_sample_and_empty_input():
    s = summarize([4.2])
    assert s.median == s.p99 == s.ci95_low == s.ci95_high == 4.2
    assert s.std == 0.0
    with pytest.raises(ValueError):
        summarize([])


# ---- conditions ---------------------------------------------------------------------------------
def test_conditions_record_the_machine_and_the_load():
    from edgeport.bench import conditions

    before = conditions.capture(2, {"onnxruntime": "1.0"}, sample_s=0.05)
    assert before.threads == 2 and before.cores >= before.usable_cores >= 1
    assert set(before.isa_flags) <= set(conditions.ISA_FLAGS_OF_INTEREST)
    assert before.cpu_model and before.python and before.edgeport
    assert before.versions == {"onnxruntime": "1.0"}
    assert before.load_after is None
    after = conditions.finish(before, {"numpy": "2"}, sample_s=0.05)
    assert after.versions == {"onnxruntime": "1.0", "numpy": "2"}
    if before.load_before is not None:
        assert after.load_after is not None
    if before.foreign_cpu_before is not None:
        assert 0.0 <= before.foreign_cpu_before <= before.cores + 1e-6


def test_loaded_flag_follows_the_thresholds():
    from edgeport.bench import conditions

    if conditions.foreign_cpu(0.05) is None:
        pytest.skip("/proc/stat not readable here")
    always = conditions.capture(1, foreign_threshold=-1.0, sample_s=0.05)
    assert always.loaded and "other processes" in always.loaded_reason
    assert "LOADED" in always.summary_line()
    never = conditions.capture(1, foreign_threshold=1e9, sample_s=0.05)
    assert not never.loaded and never.loaded_reason == ""


def test_own_work_does_not_count_as_foreign_load():
    """Busy work in this process during the sample is subtracted (only other processes count)."""
    import threading
    import time

    from edgeport.bench import conditions

    if conditions.foreign_cpu(0.05) is None:
        pytest.skip("/proc/stat not readable here")
    quiet = conditions.foreign_cpu(0.3)
    stop = time.perf_counter() + 0.5
    worker = threading.Thread(target=lambda: [None for _ in iter(lambda: time.perf_counter() > stop, True)])
    worker.start()
    busy = conditions.foreign_cpu(0.3)
    worker.join()
    # our own spinning thread (~1 core) must not show up as another process's load
    assert busy <= quiet + 0.6
