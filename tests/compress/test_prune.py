"""Pruning the real digits CNN: structured pruning really shrinks it; unstructured sparsity does not."""

from __future__ import annotations

import json

import pytest

from edgeport.compress.prune import PruneOptions, prune, prune_structured
from edgeport.errors import ConfigError, UnsupportedError
from edgeport.report.schema import to_json


@pytest.fixture(scope="module")
def digits_module():
    from edgeport.data.examples import digits_model

    return digits_model()


def test_structured_pruning_halves_params_and_keeps_accuracy(tmp_path, digits_module, digits_data):
    pruned, r = prune(digits_module, digits_data, tmp_path / "s.onnx",
                      PruneOptions(method="structured", amount=0.5, finetune_epochs=8))
    assert r.after.params <= 0.5 * r.before.params  # really fewer parameters
    assert r.after.size_bytes <= 0.5 * r.before.size_bytes  # and a smaller file
    assert r.before.accuracy > 0.97
    assert r.accuracy_drop <= 0.02  # stated bound: within 2 points after 8 epochs of fine-tuning
    assert r.after.latency is not None and r.before.latency is not None and r.speedup is not None
    # the artifact is the pruned network, with lineage to the original and its numbers
    art = r.artifact
    assert art.path.exists() and art.parent is not None and art.parent.path.name == "s.original.onnx"
    assert art.step.name == "prune-structured" and art.step.metrics["params"] == r.after.params
    assert art.step.metrics["accuracy"] == pytest.approx(r.after.accuracy)
    convs = [m for m in pruned if type(m).__name__ == "Conv2d"]
    assert [c.out_channels for c in convs] == [8, 16, 16]
    assert len(r.layers) == 4
    assert json.loads(json.dumps(to_json(r)))["after"]["params"] == r.after.params  # a schema-serialisable result


def test_unstructured_sparsity_does_not_shrink_the_dense_file(tmp_path, digits_module, digits_data):
    _, r = prune(digits_module, digits_data, tmp_path / "u.onnx",
                 PruneOptions(method="unstructured", amount=0.8, finetune_epochs=4))
    assert r.after.sparsity == pytest.approx(0.8, abs=0.01)
    assert r.after.params == r.before.params  # same shape
    assert r.params_ratio < 0.25  # non-zero parameters
    assert r.after.size_bytes == pytest.approx(r.before.size_bytes, rel=0.01)  # dense storage
    assert r.after.gzip_bytes < 0.6 * r.before.gzip_bytes  # only compression sees the zeros
    assert r.accuracy_drop <= 0.02
    assert r.speedup is not None and any("do not skip zeros" in n for n in r.notes)


def test_structured_pruning_handles_linear_chains_and_rejects_others(digits_module):
    import torch
    import torch.nn as nn

    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    small, changes = prune_structured(net, 0.5)
    assert small[0].out_features == 8 and small[2].in_features == 8 and small[2].out_features == 4
    assert small(torch.zeros(3, 8)).shape == (3, 4)
    with pytest.raises(UnsupportedError, match="nn.Sequential"):
        prune_structured(nn.ModuleDict({"a": nn.Linear(2, 2)}), 0.5)


def test_bad_prune_options(tmp_path, digits_module, digits_data):
    with pytest.raises(ConfigError, match="amount"):
        prune(digits_module, digits_data, tmp_path / "x.onnx", PruneOptions(amount=1.5))
    with pytest.raises(ConfigError, match="method"):
        prune(digits_module, digits_data, tmp_path / "x.onnx", PruneOptions(method="random"))
