"""Conversion planning over fake converter edges: shortest path first, priorities, no cycles, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeport.convert.base import Converter, ConvertOptions
from edgeport.convert.planner import plan_paths
from edgeport.core.formats import Format
from edgeport.errors import UnsupportedConversionError


def _edge(name: str, source: Format, target: Format, priority: int = 100,
          requires: tuple[str, ...] = ()) -> type[Converter]:
    def _convert(self, artifact, out: Path, options: ConvertOptions, calibration):  # noqa: ANN001, ANN202
        raise AssertionError("a planning test never converts")

    return type(name, (Converter,), {"name": name, "source": source, "target": target, "priority": priority,
                                     "requires": requires, "_convert": _convert})


@pytest.fixture()
def edges(monkeypatch: pytest.MonkeyPatch) -> list[type[Converter]]:
    fakes = [
        _edge("torch-onnx", Format.TORCH_EXPORT, Format.ONNX, priority=10),
        _edge("onnx-openvino", Format.ONNX, Format.OPENVINO),
        _edge("torch-openvino", Format.TORCH_EXPORT, Format.OPENVINO, priority=50),
        _edge("onnx-tflite", Format.ONNX, Format.TFLITE, priority=20),
        _edge("torch-tflite", Format.TORCH_EXPORT, Format.TFLITE, priority=10),
        _edge("tflite-onnx", Format.TFLITE, Format.ONNX),  # a back edge: plans must not loop through it
        _edge("onnx-tvm", Format.ONNX, Format.TVM, requires=("edgeport_no_such_module",)),
    ]
    import importlib

    # the subpackage, not the public edgeport.convert() function of the same name
    monkeypatch.setattr(importlib.import_module("edgeport.convert"), "CONVERTERS", fakes)
    return fakes


def _names(plans) -> list[list[str]]:  # noqa: ANN001
    return [[s.name for s in p.steps] for p in plans]


def test_direct_edge_first_then_chains(edges):
    plans = plan_paths(Format.TORCH_EXPORT, Format.OPENVINO)
    assert _names(plans)[0] == ["torch-openvino"]
    assert ["torch-onnx", "onnx-openvino"] in _names(plans)
    assert ["torch-tflite", "tflite-onnx", "onnx-openvino"] in _names(plans)  # three steps, still simple
    assert [len(p.steps) for p in plans] == sorted(len(p.steps) for p in plans)


def test_priority_breaks_ties_between_equal_lengths(edges):
    plans = plan_paths(Format.TORCH_EXPORT, Format.ONNX)
    assert _names(plans)[0] == ["torch-onnx"]
    two_step = [n for n in _names(plans) if len(n) == 2]
    assert two_step == [["torch-tflite", "tflite-onnx"]]


def test_no_plan_revisits_a_format(edges):
    for plan in plan_paths(Format.TORCH_EXPORT, Format.TVM, max_steps=4):
        formats = plan.formats
        assert len(formats) == len(set(formats)), formats


def test_max_steps_bounds_the_search(edges):
    assert all(len(p.steps) <= 1 for p in plan_paths(Format.TORCH_EXPORT, Format.OPENVINO, max_steps=1))


def test_same_format_is_the_empty_plan(edges):
    (plan,) = plan_paths(Format.ONNX, Format.ONNX)
    assert plan.steps == ()


def test_missing_backend_is_named_with_its_extra(edges):
    (plan, *_) = plan_paths(Format.ONNX, Format.TVM)
    assert plan.missing() and "edgeport_no_such_module" in plan.missing()[0]


def test_unreachable_target_lists_what_is_reachable(edges):
    with pytest.raises(UnsupportedConversionError) as info:
        plan_paths(Format.OPENVINO, Format.ONNX)
    assert "no converter path from openvino to onnx" in str(info.value)
    assert "nothing" in info.value.fix
    with pytest.raises(UnsupportedConversionError) as info:
        plan_paths(Format.TFLITE, Format.COREML)
    assert "onnx" in info.value.fix
