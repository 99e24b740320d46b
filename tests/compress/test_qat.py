"""Quantisation-aware training (PT2E, XNNPACK quantizer) of the digits CNN to a deployable int8 ONNX."""

from __future__ import annotations

import pytest

from edgeport.compress.qat import QATOptions, qat
from edgeport.core.formats import Format
from edgeport.errors import ConfigError


@pytest.mark.slow  # convert_pt2e's pattern rewrites take ~1 min even for this tiny network
def test_qat_yields_int8_onnx_within_accuracy(tmp_path, digits_data):
    import onnx

    from edgeport.data.examples import digits_model

    calls = []

    def loop(prepared, data, options):  # the user training-loop hook
        from edgeport.data.examples import train_classifier

        calls.append(options.epochs)
        train_classifier(prepared, data, epochs=options.epochs, batch=options.batch, lr=options.lr)

    _, r = qat(digits_model(), digits_data, tmp_path / "qat.onnx", QATOptions(epochs=2), train_fn=loop)
    assert calls == [2]
    assert r.artifact.format is Format.ONNX and r.artifact.path.exists()
    ops = {n.op_type for n in onnx.load(str(r.artifact.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert r.float_accuracy > 0.97
    assert r.deployed_accuracy is not None and r.accuracy_drop <= 0.015  # stated bound: 1.5 points
    assert abs(r.deployed_accuracy - r.qat_accuracy) <= 0.01  # ONNX Runtime agrees with PyTorch int8
    assert r.size_bytes < 0.6 * r.float_size_bytes
    step = r.artifact.step
    assert step.name == "qat-pt2e" and step.metrics["accuracy_drop"] == pytest.approx(r.accuracy_drop)
    assert r.artifact.parent is not None and r.artifact.parent.format is Format.ONNX


def test_qat_rejects_unknown_target(tmp_path, digits_data):
    import torch.nn as nn

    with pytest.raises(ConfigError, match="export target"):
        qat(nn.Identity(), digits_data, tmp_path / "x", QATOptions(to="coreml"))
