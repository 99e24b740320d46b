"""A conversion step's child process: a user error comes back as that error, a bug as an
``InternalError`` carrying the child's traceback; options are refused before any child starts;
an unmatched ``via`` is refused. A real child process runs a plugin converter (no ML stack)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.errors import ConfigError, ConversionError, EdgeportError, InternalError

PLUGIN = '''
from __future__ import annotations

import sys
from dataclasses import dataclass

from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.formats import Format
from edgeport.errors import ConfigError


@dataclass(frozen=True)
class BrokenOptions(ConvertOptions):
    mode: str = "bug"  # bug | user | exit
    level: int = 1


def helper_with_a_bug() -> None:
    return {}["missing"]


class BrokenConverter(Converter):
    name = "test-broken"
    source = Format.TORCHSCRIPT
    target = Format.TENSORRT
    Options = BrokenOptions

    def _convert(self, artifact, out, options, calibration):
        if options.mode == "user":
            raise ConfigError("the model says no", fix="ask nicely")
        if options.mode == "exit":
            sys.exit(3)
        return helper_with_a_bug()
'''


@pytest.fixture()
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The plugin converter, installed for child processes through an entry point (the plugin path)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "edgeport_test_broken.py").write_text(PLUGIN)
    dist = site / "edgeport_test_broken-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: edgeport-test-broken\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[edgeport.converters]\ntest-broken = edgeport_test_broken:BrokenConverter\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    spec = importlib.util.spec_from_file_location("edgeport_test_broken", site / "edgeport_test_broken.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["edgeport_test_broken"] = module  # dataclasses resolve the module by name
    try:
        spec.loader.exec_module(module)
        source = tmp_path / "model.ts"
        source.write_bytes(b"not read by the plugin")
        yield module, Artifact(path=source, format=Format.TORCHSCRIPT, inputs=(), outputs=())
    finally:
        sys.modules.pop("edgeport_test_broken", None)


def test_a_bug_in_the_child_is_an_internal_error_with_the_childs_traceback(broken, tmp_path: Path) -> None:
    from edgeport.convert.api import run_step

    module, source = broken
    with pytest.raises(InternalError) as err:
        run_step(module.BrokenConverter, source, tmp_path / "out.engine", module.BrokenOptions(mode="bug"))
    assert not isinstance(err.value, EdgeportError)  # a study does not record it as a failed candidate
    assert "test-broken" in str(err.value) and "KeyError" in str(err.value)
    assert "helper_with_a_bug" in err.value.traceback and "edgeport_test_broken.py" in err.value.traceback


def test_a_user_error_in_the_child_comes_back_as_the_same_error(broken, tmp_path: Path) -> None:
    from edgeport.convert.api import run_step

    module, source = broken
    with pytest.raises(ConfigError) as err:
        run_step(module.BrokenConverter, source, tmp_path / "out.engine", module.BrokenOptions(mode="user"))
    assert str(err.value) == "the model says no — ask nicely" and err.value.exit_code == 2


def test_a_backend_calling_sys_exit_is_a_conversion_error(broken, tmp_path: Path) -> None:
    from edgeport.convert.api import run_step

    module, source = broken
    with pytest.raises(ConversionError, match=r"test-broken \(convert\): interrupted \(SystemExit: 3\)"):
        run_step(module.BrokenConverter, source, tmp_path / "out.engine", module.BrokenOptions(mode="exit"))


@pytest.mark.parametrize(("options", "needle"), [
    ({"mode": "bug", "levle": 2}, "has no option(s) ['levle']"),
    ({"level": "2"}, "option 'level' must be int, got '2'"),
    ({"level": True}, "option 'level' must be int, got True"),
    ({"mode": None}, "option 'mode' must be str, got None"),
    ({"precision": "int8"}, "does not produce int8"),
])
def test_options_are_refused_before_any_child_starts(broken, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     options: dict, needle: str) -> None:
    from edgeport.convert import api
    from edgeport.convert.api import run_step

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child process was started")

    monkeypatch.setattr(api.subprocess, "run", no_child)
    module, source = broken
    with pytest.raises(EdgeportError) as err:
        run_step(module.BrokenConverter, source, tmp_path / "out.engine", options)  # type: ignore[arg-type]
    assert needle in str(err.value)


def test_an_unmatched_via_is_refused_and_names_the_paths(tmp_path: Path) -> None:
    from edgeport.convert.api import convert
    from edgeport.convert.planner import plan_paths

    source = Artifact(path=tmp_path / "m.pt2", format=Format.TORCH_EXPORT, inputs=(), outputs=())
    with pytest.raises(ConfigError) as err:
        convert(source, "onnx", via=["no-such-converter"])
    text = str(err.value)
    assert "via no-such-converter is not a converter path from torch-export to onnx" in text
    for plan in plan_paths(Format.TORCH_EXPORT, Format.ONNX):
        assert ",".join(s.name for s in plan.steps) in text
