"""Recipe files parse into the same typed options the CLI builds; bad recipes are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeport.errors import ConfigError
from edgeport.study.options import BenchSettings, Constraints, StudyOptions, load_recipe, parse_percent


def test_recipe_parses_into_study_options(tmp_path: Path) -> None:
    (tmp_path / "data.npz").write_bytes(b"")
    recipe = tmp_path / "edgeport.toml"
    recipe.write_text('[study]\nmodel = "m.pt2"\ndata = "data.npz"\ntargets = ["host", "pixel-8"]\n'
                      'threads = [1]\n[study.constraints]\nmax_accuracy_drop = "0.5%"\nmax_latency_ms = 5.0\n'
                      '[study.bench]\nmin_runs = 7\n')
    opts = load_recipe(recipe)
    assert opts == StudyOptions(model=str(tmp_path / "m.pt2"), data=str(tmp_path / "data.npz"),
                                targets=("host", "pixel-8"), threads=(1,),
                                constraints=Constraints(max_latency_ms=5.0, max_accuracy_drop=0.005),
                                bench=BenchSettings(min_runs=7))


@pytest.mark.parametrize(("text", "needle"), [
    ("[study]\nthreds = [1]\n", "unknown field 'threds'"),
    ("[study.constraints]\nmax_latency = 3\n", "unknown field 'max_latency'"),
    ("[study]\nconstraints = 3\n", "must be a table"),
    ("[study\n", "invalid TOML"),
    ("[other]\n", "no [study] table"),
])
def test_bad_recipes_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_recipe(recipe)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_percentages() -> None:
    assert parse_percent("0.5%") == pytest.approx(0.005)
    assert parse_percent("0.01") == pytest.approx(0.01)
    with pytest.raises(ConfigError):
        parse_percent("half")


def test_constraints_do_not_change_the_candidate_fingerprint() -> None:
    a = StudyOptions(constraints=Constraints(max_latency_ms=1.0), targets=("host",))
    b = StudyOptions(constraints=Constraints(max_size_mb=2.0), targets=("host", "pixel-8"), out_dir="x")
    assert a.fingerprint_fields() == b.fingerprint_fields()
    assert a.fingerprint_fields() != StudyOptions(threads=(1,)).fingerprint_fields()
