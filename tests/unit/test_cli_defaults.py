"""The CLI takes its defaults from the API, and flags given beside ``--recipe`` override the recipe."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edgeport.errors import ConfigError
from edgeport.study.options import BenchSettings, Constraints, StudyOptions


def _params(command: str) -> dict[str, object]:
    from edgeport.cli.main import app

    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name: p for p in cmd.params}


def test_optimize_without_flags_is_the_api_default() -> None:
    from edgeport.cli.optimize import study_options

    assert study_options(None) == StudyOptions()


def test_optimize_help_shows_the_api_defaults() -> None:
    from edgeport.cli.main import app

    output = CliRunner().invoke(app, ["optimize", "--help"], env={"COLUMNS": "200"}).output
    text = " ".join(output.replace("│", " ").split())
    defaults = StudyOptions()
    assert f"(default: {','.join(defaults.targets)})" in text
    assert f"(default: {','.join(map(str, defaults.threads))})" in text


def test_check_default_targets_are_the_apis() -> None:
    from edgeport.analysis.check import DEFAULT_TARGETS

    assert _params("check")["target"].default == ",".join(DEFAULT_TARGETS)  # type: ignore[attr-defined]


def test_flags_beside_a_recipe_override_only_their_fields(tmp_path: Path) -> None:
    from edgeport.cli.optimize import study_options

    recipe = tmp_path / "edgeport.toml"
    recipe.write_text('[study]\nmodel = "m.onnx"\ntargets = ["host"]\nthreads = [1]\nformats = ["onnx"]\n'
                      '[study.constraints]\nmax_latency_ms = 5.0\nmax_size_mb = 2.0\n[study.bench]\nmin_runs = 7\n')
    base = study_options(str(recipe))
    assert base.targets == ("host",) and base.threads == (1,) and base.bench == BenchSettings(min_runs=7)

    opts = study_options(str(recipe), target="pixel-8,cortex-m7", max_size_mb=3.0, max_accuracy_drop="0.5%",
                         out=str(tmp_path / "out"))
    assert opts == dataclasses.replace(
        base, targets=("pixel-8", "cortex-m7"), out_dir=str(tmp_path / "out"),
        constraints=Constraints(max_latency_ms=5.0, max_size_mb=3.0, max_accuracy_drop=0.005))
    assert opts.model == str(tmp_path / "m.onnx") and opts.formats == ("onnx",)  # the recipe's, untouched
    assert study_options(str(recipe), model="other.pt2", formats="").model == "other.pt2"
    assert study_options(str(recipe), formats="").formats == ()  # an explicit empty list: every format


def test_bad_flag_values_are_user_errors(tmp_path: Path) -> None:
    from edgeport.cli.optimize import study_options

    with pytest.raises(ConfigError, match="--threads"):
        study_options(None, threads="one")
    with pytest.raises(ConfigError, match="percentage"):
        study_options(None, max_accuracy_drop="half")
