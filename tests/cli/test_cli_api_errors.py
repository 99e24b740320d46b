"""CLI commands go through the public API, and its refusals reach the user as one-line errors."""

from __future__ import annotations

from typer.testing import CliRunner

from edgeport.cli.main import app


def test_convert_with_an_unknown_via_lists_the_paths(digits_onnx, tmp_path) -> None:
    from edgeport.convert.planner import plan_paths
    from edgeport.core.formats import Format

    result = CliRunner().invoke(app, ["convert", str(digits_onnx.path), "--to", "openvino", "-o",
                                      str(tmp_path / "x.xml"), "--via", "no-such-converter"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ConfigError: via no-such-converter is not")
    for plan in plan_paths(Format.ONNX, Format.OPENVINO):
        assert ",".join(s.name for s in plan.steps) in lines[0]
    assert not (tmp_path / "x.xml").exists()


def test_convert_with_a_mistyped_option_is_refused_before_converting(digits_onnx, tmp_path) -> None:
    result = CliRunner().invoke(app, ["convert", str(digits_onnx.path), "--to", "openvino", "-o",
                                      str(tmp_path / "x.xml"), "--option", "subset_size=many", "--no-verify"])
    assert result.exit_code == 2, result.output
    assert "option 'subset_size' must be int, got 'many'" in result.output and "Traceback" not in result.output
