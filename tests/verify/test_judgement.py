"""The judgement rule on constructed outputs: near-zero outputs pass on absolute error, real errors fail
with the value that would have passed, cosine is applied only where the reference carries signal."""

from __future__ import annotations

import re

import numpy as np

from edgeport.report.schema import to_json
from edgeport.verify.align import match_outputs
from edgeport.verify.judgement import compare_outputs, signal_floor, worst_output
from edgeport.verify.tolerance import Tolerance, infer_output_kind

FP32 = Tolerance.for_precision("fp32")  # what the study and conversions judge by: atol 1e-4, cosine 0.9999


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_near_zero_output_passes_on_absolute_error_where_cosine_said_zero():
    # a sigmoid head / a detector without detections: both runtimes give ~1e-8 noise, uncorrelated
    rng = _rng()
    ref = (rng.random((16, 3549, 6)) * 1e-8).astype(np.float32)
    test = (rng.random((16, 3549, 6)) * 1e-8).astype(np.float32)
    naive = float(np.mean([np.dot(a.ravel(), b.ravel()) / np.linalg.norm(a) / np.linalg.norm(b)
                           for a, b in zip(ref - ref.mean(), test - test.mean())]))
    assert abs(naive) < 0.05  # what a cosine over the noise says about two correct runs
    comp = compare_outputs("output", "output", ref, test, FP32, "dense")
    assert comp.passed, comp.summary()
    assert comp.cosine is None and comp.snr_db is None and comp.signal_samples == 0
    assert comp.max_abs < 1e-8 and comp.allclose_fraction == 1.0
    why = comp.not_applied["cosine/snr"]
    assert "signal floor 0.0001 on every sample" in why and "judged on absolute error" in why
    assert comp.not_applied["top1"].startswith("the output is dense")
    assert [c.metric for c in comp.checks] == ["allclose"]
    to_json(comp)  # the skipped metrics are data, not only text


def test_one_percent_error_fails_naming_value_and_allowed_bound():
    rng = _rng()
    ref = rng.standard_normal((8, 100)).astype(np.float32)
    test = ref * np.float32(1.01)
    tol = Tolerance(atol=1e-2, rtol=1e-3, min_cosine=0.999, min_top1_agreement=None)
    comp = compare_outputs("y", "y", ref, test, tol, "dense")
    assert not comp.passed
    err = np.abs(test.astype(np.float64) - ref)
    allowed = 1e-2 + 1e-3 * np.abs(ref.astype(np.float64))
    s, e = np.unravel_index(np.argmax(err - allowed), err.shape)
    line = comp.summary()
    assert line.startswith(f"output 'y': max abs error {err.max():.3g}; worst element (sample {s}, index ({e},)): "
                           f"|err| {err[s, e]:.3g} > {allowed[s, e]:.3g} allowed (atol 0.01 + rtol 0.001·|ref| "
                           f"{abs(ref[s, e]):.3g})"), line
    assert re.search(r"\d+ of 8 samples outside; cosine 1\.000000 ≥ 0\.999 ok$", line), line
    check = comp.checks[0]
    assert (check.metric, check.passed) == ("allclose", False) and check.value > check.bound
    assert check.bound == allowed[s, e]  # the number that would have passed


def test_cosine_applied_only_to_samples_with_signal():
    rng = _rng()
    ref = rng.standard_normal((10, 64)).astype(np.float32)
    ref[:4] *= 1e-9  # four samples carry no signal: under float32's resolution
    test = (ref + 1e-6 * rng.standard_normal(ref.shape)).astype(np.float32)
    comp = compare_outputs("e", "e", ref, test, Tolerance.for_output_kind("embedding", "fp32"), "embedding")
    assert comp.passed and comp.signal_samples == 6
    assert comp.cosine is not None and comp.cosine > 0.99999
    why = comp.not_applied["cosine/snr on some samples"]
    assert "4 of 10 samples have reference RMS" in why and "not judged: the tolerance sets no absolute" in why
    assert "(over the 6 of 10 samples above the signal floor" in comp.checks[-1].text

    # above the floor, a wrong direction fails on cosine (no elementwise bound for embeddings)
    turned = ref.copy()
    turned[4:] = np.roll(ref[4:], 1, axis=1)
    bad = compare_outputs("e", "e", ref, turned, Tolerance.for_output_kind("embedding", "fp32"), "embedding")
    assert not bad.passed and bad.failures[0].startswith(f"cosine {bad.cosine:.6f} < 0.9999 (over the 6 of 10")


def test_signal_floor_follows_atol_and_dtype():
    assert signal_floor(FP32, "float32") == 1e-4
    assert signal_floor(Tolerance(atol=None), "float32") == float(np.finfo(np.float32).eps)
    assert signal_floor(Tolerance(atol=None), "float16") == float(np.finfo(np.float16).eps)
    assert signal_floor(Tolerance(atol=None), "int64") == 1.0


def test_top1_only_for_classifier_outputs_and_ties_are_not_flips():
    rng = _rng()
    scores = rng.standard_normal((20, 10)).astype(np.float32)
    tied = scores.copy()
    tied[:, 3] = tied.max(axis=1) + 1e-7  # two classes within rounding of each other
    flipped = tied.copy()
    flipped[:, 3] -= 2e-7  # the runtime picks the other one
    comp = compare_outputs("p", "p", tied, flipped, FP32, "logits")
    assert comp.passed and comp.top1_agreement == 1.0
    dense = compare_outputs("p", "p", tied, flipped, FP32, "dense")
    assert dense.top1_agreement is None and "top1" in dense.not_applied
    wrong = scores.copy()
    wrong[:5] = -wrong[:5]
    bad = compare_outputs("p", "p", scores, wrong, Tolerance(atol=None, rtol=None, min_cosine=None), "logits")
    assert not bad.passed and bad.failures == [f"top-1 agreement {bad.top1_agreement:.2%} < 100.00%"]


def test_nan_in_the_test_output_fails():
    ref = np.ones((4, 5), np.float32)
    test = ref.copy()
    test[1, 2] = np.nan
    comp = compare_outputs("y", "y", ref, test, FP32, "dense")
    assert not comp.passed and "1 NaN/inf values in the test output" in comp.summary()


def test_integer_outputs_are_never_scores():
    assert infer_output_kind((1, 20), "unknown", "int64") == "dense"
    assert infer_output_kind((1, 20), "unknown", "float32") == "logits"


def test_worst_output_prefers_a_failure():
    rng = _rng()
    ref = rng.standard_normal((4, 8))
    good = compare_outputs("a", "a", ref, ref, FP32, "dense")
    bad = compare_outputs("b", "b", ref, ref + 1.0, FP32, "dense")
    quiet = compare_outputs("c", "c", ref * 1e-9, ref * 1e-9, FP32, "dense")
    assert worst_output([good, quiet, bad]) is bad
    assert worst_output([quiet, good]) is good  # a measured cosine before an unmeasured one


def test_renamed_and_reordered_outputs_pair_by_shape_then_order():
    ref = {"boxes": np.zeros((2, 10, 4)), "scores": np.zeros((2, 10)), "a": np.zeros((2, 3)), "b": np.zeros((2, 3))}
    test = {"Identity": np.zeros((2, 10)), "Identity_1": np.zeros((2, 3)), "Identity_2": np.zeros((2, 10, 4)),
            "Identity_3": np.zeros((2, 3))}
    pairs, lines = match_outputs(ref, test)
    assert [(p.reference, p.test, p.how) for p in pairs] == [
        ("boxes", "Identity_2", "shape"), ("scores", "Identity", "shape"),
        ("a", "Identity_1", "order"), ("b", "Identity_3", "order")]
    assert lines[0] == "ref 'boxes' ↔ test 'Identity_2': paired by shape, the only output of shape (2, 10, 4) on both sides"
    assert lines[2] == "ref 'a' ↔ test 'Identity_1': paired by order, position (names and shapes do not tell them apart)"


def test_one_value_per_sample_is_judged_per_sample_and_as_one_vector():
    ref = np.linspace(-3.0, 3.0, 16)
    test = ref.copy()
    test[5] += 0.5
    comp = compare_outputs("total", "total", ref, test, FP32, "dense")
    assert not comp.passed and comp.signal_samples == 1  # cosine over the 16 values, not 16 sign tests
    assert "worst element (sample 5): |err| 0.5 > " in comp.summary() and "1 of 16 samples outside" in comp.summary()
