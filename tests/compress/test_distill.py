"""Distillation on digits: a much smaller student learns from the built-in CNN."""

from __future__ import annotations

import json

import pytest

from edgeport.compress.distill import DistillOptions, digits_student, distill
from edgeport.errors import ConfigError
from edgeport.report.schema import to_json


def test_distilled_student_is_smaller_and_accurate(tmp_path, digits_data):
    from edgeport.data.examples import digits_model

    student, r = distill(digits_model(), digits_student(), digits_data, tmp_path / "student.onnx",
                         DistillOptions(epochs=15, temperature=4.0, alpha=0.7))
    assert r.student.params < 0.15 * r.teacher.params
    assert r.student.size_bytes < 0.15 * r.teacher.size_bytes
    assert r.teacher.accuracy > 0.97
    assert r.student.accuracy >= 0.95  # stated bound for a 15-epoch student at ~8% of the parameters
    assert r.accuracy_drop == pytest.approx(r.teacher.accuracy - r.student.accuracy)
    assert r.history[-1] < r.history[0]  # it learned
    art = r.artifact
    assert art.step.kind == "train" and art.step.name == "distill" and art.step.options["temperature"] == 4.0
    assert art.parent is not None and art.parent.path.name == "student.teacher.onnx"
    assert art.step.metrics["accuracy"] == pytest.approx(r.student.accuracy)
    assert json.loads(json.dumps(to_json(r)))["student"]["params"] == r.student.params


def test_bad_distill_options(tmp_path, digits_data):
    import torch.nn as nn

    with pytest.raises(ConfigError, match="alpha"):
        distill(nn.Identity(), digits_student(), digits_data, tmp_path / "s.onnx", DistillOptions(alpha=2.0))
