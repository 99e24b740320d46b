"""The study's builds and quantize's stack table come from what converters, passes and runtimes
declare: checked with fake registries (no ML stack; nothing is converted or run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeport.compress.stacks import default_stack, pass_point, stacks
from edgeport.convert.base import Converter
from edgeport.core.formats import Format
from edgeport.errors import ConfigError
from edgeport.passes.base import Pass, PassOptions, sweep
from edgeport.runtimes.base import Runtime
from edgeport.study.variants import enumerate_builds, enumerate_variants


class FakeRegistry:
    """What the study and quantize use of a registry: iteration by name, get, names, select."""

    def __init__(self, *classes: type) -> None:
        self._entries = {cls.name: cls for cls in classes}  # type: ignore[attr-defined]

    def register(self, cls: type) -> type:
        self._entries[cls.name] = cls  # type: ignore[attr-defined]
        return cls

    def __iter__(self) -> Any:
        return iter([self._entries[n] for n in sorted(self._entries)])

    def get(self, name: str) -> type:
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def select(self, predicate: Any) -> list[type]:
        return [cls for cls in self if predicate(cls)]


# ---- fake components: the real base classes, declarations only ---------------------------------


class _FakeConverter(Converter):
    def _convert(self, artifact: Any, out: Path, options: Any, calibration: Any) -> Any:
        raise AssertionError("enumeration must not convert")


class TorchToOnnx(_FakeConverter):
    name = "fake-torch-to-onnx"
    source, target = Format.TORCH_EXPORT, Format.ONNX


class OnnxToTflite(_FakeConverter):
    name = "fake-onnx-to-tflite"
    source, target = Format.ONNX, Format.TFLITE
    precisions = ("fp32", "int8")
    needs_data = ("int8",)


class OnnxToOpenvino(_FakeConverter):
    name = "fake-onnx-to-openvino"
    source, target = Format.ONNX, Format.OPENVINO
    precisions = ("fp32", "int8")
    needs_data = ("int8",)


class OnnxToTvm(_FakeConverter):
    name = "fake-onnx-to-tvm"
    source, target = Format.ONNX, Format.TVM


@pytest.fixture
def options_class() -> type[PassOptions]:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Options(PassOptions):
        level: int = 0

    return Options


def _pass(name: str, formats: set[Format], sweeps: tuple[Any, ...], *, needs_data: bool = False,
          requires: tuple[str, ...] = ()) -> type[Pass]:
    def _apply(self: Pass, artifact: Any, out: Path, options: Any, data: Any) -> dict[str, Any]:
        raise AssertionError("enumeration must not apply a pass")

    return type(name.title().replace("-", ""), (Pass,), {
        "name": name, "formats": frozenset(formats), "sweeps": sweeps, "needs_data": needs_data,
        "requires": requires, "_apply": _apply})


def _runtime(name: str, formats: set[Format], *, runnable_here: bool = True,
             requires: tuple[str, ...] = ()) -> type[Runtime]:
    def _never(self: Runtime, *args: Any) -> Any:
        raise AssertionError("enumeration must not run anything")

    return type(name.title().replace("-", ""), (Runtime,), {
        "name": name, "formats": frozenset(formats), "runnable_here": runnable_here, "requires": requires,
        "_load": _never, "_read_specs": _never, "_run": _never})


STATIC = _pass("fake-static", {Format.ONNX}, (sweep("int8", level=2), sweep("int16x8", level=3, default=False)),
               needs_data=True)
HALF = _pass("fake-half", {Format.ONNX}, (sweep("fp16"),))
SIMPLIFY = _pass("fake-simplify", {Format.ONNX}, ())  # declares no sweep: never a build
NNCF = _pass("fake-nncf", {Format.OPENVINO}, (sweep("int8"),), needs_data=True)

def _use_runtimes(monkeypatch: pytest.MonkeyPatch, registry: object) -> None:
    """The registry lives in runtimes.base (re-exported by the package): swap both names."""
    import edgeport.runtimes.base

    monkeypatch.setattr(edgeport.runtimes, "RUNTIMES", registry)
    monkeypatch.setattr(edgeport.runtimes.base, "RUNTIMES", registry)


RUNTIMES = (_runtime("fake-torch", {Format.TORCH_EXPORT}), _runtime("fake-ort", {Format.ONNX}),
            _runtime("fake-litert", {Format.TFLITE}), _runtime("fake-ov", {Format.OPENVINO, Format.ONNX}),
            _runtime("fake-tvm", {Format.TVM}, runnable_here=False))


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch):
    """Replace the three registries; returns the fake pass registry so a test can add a pass."""
    import importlib

    import edgeport.passes
    import edgeport.runtimes

    passes = FakeRegistry(STATIC, HALF, SIMPLIFY, NNCF)
    monkeypatch.setattr(importlib.import_module("edgeport.convert"), "CONVERTERS",
                        FakeRegistry(TorchToOnnx, OnnxToTflite, OnnxToOpenvino, OnnxToTvm))
    monkeypatch.setattr(edgeport.passes, "PASSES", passes)
    _use_runtimes(monkeypatch, FakeRegistry(*RUNTIMES))
    return passes


def _shape(builds: list[Any]) -> set[tuple[str, str, str | None, tuple[tuple[str, Any], ...]]]:
    return {(b.format, b.precision, b.pass_name, b.pass_options) for b in builds}


def test_builds_come_from_declared_precisions_and_sweep_points(installed: FakeRegistry) -> None:
    builds = enumerate_builds(Format.TORCH_EXPORT, have_data=True)
    assert _shape(builds) == {
        ("torch-export", "fp32", None, ()),
        ("onnx", "fp32", None, ()),
        ("tflite", "fp32", None, ()), ("tflite", "int8", None, ()),
        ("openvino", "fp32", None, ()),
        ("openvino", "int8", "fake-nncf", ()),  # the pass point, not the converter's own int8
        ("onnx", "int8", "fake-static", (("level", 2),)),
        ("onnx", "fp16", "fake-half", ()),
    }  # no tvm: its only runtime cannot run here; no int16x8: not a default point
    assert len({b.key for b in builds}) == len(builds)
    assert all(b.needs_data == (b.precision == "int8") for b in builds)


def test_variants_pair_each_build_with_every_runtime_for_its_format(installed: FakeRegistry) -> None:
    builds = [b for b in enumerate_builds(Format.TORCH_EXPORT, have_data=True) if b.format in ("onnx", "tflite")]
    keys = {v.key for v in enumerate_variants(builds, [1, 2])}
    onnx = {b.key for b in builds if b.format == "onnx"}
    assert keys == ({f"{k}@{rt}-t{t}" for k in onnx for rt in ("fake-ort", "fake-ov") for t in (1, 2)}
                    | {f"tflite-{p}@fake-litert-t{t}" for p in ("fp32", "int8") for t in (1, 2)})
    only_ort = enumerate_variants(builds, [1], runtimes=["fake-ort"])
    assert {v.runtime for v in only_ort} == {"fake-ort"} and len(only_ort) == len(onnx)


def test_a_new_pass_with_a_sweep_joins_the_study_without_an_edit(installed: FakeRegistry) -> None:
    before = _shape(enumerate_builds(Format.TORCH_EXPORT, have_data=True))
    installed.register(_pass("fake-prune", {Format.ONNX, Format.TFLITE}, (sweep("fp32", sparsity=0.5),)))
    added = _shape(enumerate_builds(Format.TORCH_EXPORT, have_data=True)) - before
    assert added == {("onnx", "fp32", "fake-prune", (("sparsity", 0.5),)),
                     ("tflite", "fp32", "fake-prune", (("sparsity", 0.5),))}


def test_points_that_need_data_are_left_out_without_data(installed: FakeRegistry) -> None:
    builds = enumerate_builds(Format.TORCH_EXPORT, have_data=False)
    assert not any(b.needs_data for b in builds)
    assert {b.pass_name for b in builds} == {None, "fake-half"}
    assert ("openvino", "int8") not in {(b.format, b.precision) for b in builds}  # neither pass nor converter


def test_points_off_by_default_are_built_when_their_precision_is_asked_for(installed: FakeRegistry) -> None:
    builds = enumerate_builds(Format.TORCH_EXPORT, have_data=True, precisions=["int16x8"])
    assert _shape(builds) == {("onnx", "int16x8", "fake-static", (("level", 3),))}
    assert _shape(enumerate_builds(Format.TORCH_EXPORT, have_data=True, formats=["onnx"], precisions=["int8"])) \
        == {("onnx", "int8", "fake-static", (("level", 2),))}


def test_unavailable_passes_and_runtimes_make_no_builds(installed: FakeRegistry, monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    import edgeport.runtimes

    installed.register(_pass("fake-missing", {Format.ONNX}, (sweep("bf16"),), requires=("no_such_module_xyz",)))
    _use_runtimes(monkeypatch, FakeRegistry(
        *[r for r in RUNTIMES if r.name != "fake-ov"],
        _runtime("fake-ov", {Format.OPENVINO, Format.ONNX}, requires=("no_such_module_xyz",))))
    builds = enumerate_builds(Format.TORCH_EXPORT, have_data=True)
    assert "bf16" not in {b.precision for b in builds}
    assert "openvino" not in {b.format for b in builds}  # no runtime runs it here, so no pass on it either


def test_stacks_and_the_precision_table_derive_from_the_declarations(installed: FakeRegistry) -> None:
    table = stacks()
    # ort: a pass sweeps a quantize precision on ONNX; tflite/openvino: converters offer int8; tvm: fp32 only
    assert table == {"ort": Format.ONNX, "openvino": Format.OPENVINO, "tflite": Format.TFLITE}
    assert list(table)[0] == "ort"
    found = pass_point(Format.ONNX, "int16x8")
    assert found is not None and found.pass_cls is STATIC and dict(found.point.options) == {"level": 3}
    assert pass_point(Format.TFLITE, "int8") is None  # the converter quantises while converting
    assert default_stack(Format.TFLITE) == "tflite" and default_stack(Format.TORCH_EXPORT) == "ort"
    installed.register(_pass("fake-tvm-quant", {Format.TVM}, (sweep("int8"),)))
    assert stacks()["tvm"] is Format.TVM  # a new pass point makes a new stack


def test_pass_point_prefers_an_available_pass(installed: FakeRegistry) -> None:
    installed.register(_pass("a-missing-half", {Format.ONNX}, (sweep("fp16"),), requires=("no_such_module_xyz",)))
    found = pass_point(Format.ONNX, "fp16")
    assert found is not None and found.pass_cls is HALF


def test_a_sweep_naming_an_unknown_option_is_a_config_error(options_class: type[PassOptions]) -> None:
    bad = _pass("fake-typo", {Format.ONNX}, (sweep("int8", levle=1),))
    bad.Options = options_class
    with pytest.raises(ConfigError, match="levle"):
        bad.sweep_options(bad.sweeps[0])
    good = _pass("fake-ok", {Format.ONNX}, (sweep("int8", level=1),))
    good.Options = options_class
    assert good.sweep_options(good.sweeps[0]) == options_class(level=1)


def test_builtin_sweep_points_fit_their_passes() -> None:
    """Every shipped point names real options, and says the precision the pass says it makes."""
    from edgeport.passes import PASSES

    swept = {cls.name: cls for cls in PASSES if cls.sweeps}
    assert {"onnx-quantize-static", "onnx-quantize-dynamic", "onnx-fp16", "openvino-quantize"} <= set(swept)
    for cls in swept.values():
        for point in cls.sweeps:
            options = cls.sweep_options(point)
            if point.precision != "int8-dynamic":  # dynamic int8 verifies with the int8 tolerance
                assert cls().precision_of(options) == point.precision, (cls.name, point)
    defaults = {(name, p.precision) for name, cls in swept.items() for p in cls.sweeps if p.default}
    assert ("openvino-quantize", "int8") in defaults and ("onnx-quantize-static", "int16x8") not in defaults
