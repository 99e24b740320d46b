"""A dataset without labels: the study judges quality by agreement with the source, and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_study_without_labels_uses_agreement(tmp_path: Path, digits_data, digits_pt2) -> None:
    from edgeport.store import Store
    from edgeport.study import StudyOptions, run_study
    from edgeport.study.options import QUICK_BENCH

    x = digits_data.inputs["x"][:200]
    np.savez(tmp_path / "unlabelled.npz", x=x)
    result = run_study(StudyOptions(model=str(digits_pt2.path), data=str(tmp_path / "unlabelled.npz"),
                                    targets=("host",), threads=(1,), formats=("onnx",), precisions=("fp32", "int8"),
                                    runtimes=("onnxruntime",), bench=QUICK_BENCH, out_dir=str(tmp_path / "out")),
                       store=Store(tmp_path / "s.db"))
    assert "no labels" in result.data_note and "agreement" in result.data_note
    assert result.source.accuracy is None
    ok = [c for c in result.candidates if c.status == "ok"]
    assert ok and all(c.accuracy is None and c.agreement is not None for c in ok)
    host = result.recommendations[0]
    assert host.key is not None and host.accuracy == result.candidate(host.key).agreement


def test_study_without_data_verifies_on_few_random_inputs_and_caps_timing(tmp_path: Path, digits_pt2) -> None:
    """No --data: 16 random inputs, said in the note; ``max_seconds`` ends timing a candidate that would
    otherwise run for ten minutes (min_seconds=600)."""
    from edgeport.store import Store
    from edgeport.study import StudyOptions, run_study
    from edgeport.study.options import BenchSettings
    from edgeport.study.study import SYNTHETIC_SAMPLES

    endless = BenchSettings(warmup_runs=1, min_runs=10**6, min_seconds=600.0, max_runs=10**6, max_seconds=0.5)
    result = run_study(StudyOptions(model=str(digits_pt2.path), targets=("host",), threads=(1,), formats=("onnx",),
                                    precisions=("fp32",), runtimes=("onnxruntime",), bench=endless,
                                    out_dir=str(tmp_path / "out")),
                       store=Store(tmp_path / "s.db"))
    assert f"{SYNTHETIC_SAMPLES} random inputs" in result.data_note and result.source.samples == SYNTHETIC_SAMPLES
    (cand,) = result.candidates
    assert cand.status == "ok" and cand.median_ms is not None
    assert cand.seconds < 60.0, f"timing was not capped by max_seconds: {cand.seconds:.0f} s"
