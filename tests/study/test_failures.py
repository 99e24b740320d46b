"""A candidate that fails with a user-facing error is recorded with its reason and the study goes on;
an internal bug stops the study with its own traceback instead of becoming a "failed candidate"."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from edgeport.errors import ConversionError


def _options(model: Path, out: Path):
    from edgeport.study.options import QUICK_BENCH, StudyOptions

    return StudyOptions(model=str(model), data="digits", targets=("host",), threads=(1,),
                        formats=("torch-export", "onnx"), precisions=("fp32",), bench=QUICK_BENCH,
                        out_dir=str(out), resume=False)


def test_a_user_error_fails_the_candidate_and_the_study_goes_on(tmp_path: Path, digits_pt2,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeport.store import Store
    from edgeport.study import study
    from edgeport.study.builds import build_artifact

    def build(b, source, data, directory, cache=None):
        if b.format == "onnx":
            raise ConversionError("the exporter refused", converter="torch-to-onnx", stage="export")
        return build_artifact(b, source, data, directory, cache)

    monkeypatch.setattr(study, "build_artifact", build)
    result = study.run_study(_options(digits_pt2.path, tmp_path / "out"), store=Store(tmp_path / "s.db"))
    failed = [c for c in result.candidates if c.format == "onnx"]
    assert failed and all(c.status == "failed" and c.stage == "build" for c in failed)
    assert all("ConversionError: torch-to-onnx (export): the exporter refused" in (c.error or "") for c in failed)
    assert any(c.status == "ok" for c in result.candidates if c.format == "torch-export")


def test_an_internal_bug_stops_the_study_with_its_traceback(tmp_path: Path, digits_pt2,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeport.store import Store
    from edgeport.study import study

    def build_with_a_bug(*args, **kwargs):
        return {}["missing"]

    monkeypatch.setattr(study, "build_artifact", build_with_a_bug)
    with pytest.raises(KeyError) as err:
        study.run_study(_options(digits_pt2.path, tmp_path / "out"), store=Store(tmp_path / "s.db"))
    assert traceback.extract_tb(err.value.__traceback__)[-1].name == "build_with_a_bug"
