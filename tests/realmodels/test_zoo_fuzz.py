"""A smaller mutation set on a real published TFLite model (MediaPipe's short-range face detector).

A real model has hundreds of tables, quantisation records and options the tiny fuzz model
(``tests/fuzz``) lacks; the same mutations and the same pass rule apply.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.mutations import cli_problem, huge_dim_tflite, mutants
from zoo import zoo_model

pytest.importorskip("ai_edge_litert")

COMMANDS = {"profile": [], "check": [], "fit": [], "bench": ["--runs", "2", "--warmup", "1"],
            "verify": ["--max-samples", "2"]}


def test_mutated_zoo_tflite_ends_in_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    zoo_tflite, _ = zoo_model("face-detection-short")
    monkeypatch.setenv("EDGEPORT_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("EDGEPORT_CACHE", str(tmp_path / "cache"))
    found = list(mutants(zoo_tflite.read_bytes(), 21, truncations=4, flips=6, randoms=1, magic=(4, b"TFL2")))
    found += huge_dim_tflite(zoo_tflite)[:1]  # the input: its 2^31-1 dim must be refused before anything allocates
    bad, refused = [], 0
    for i, m in enumerate(found):
        path = tmp_path / f"m{i:02d}.tflite"
        path.write_bytes(m.data)
        for command, extra in COMMANDS.items():
            args = [command, str(zoo_tflite), str(path)] if command == "verify" else [command, str(path)]
            result = CliRunner().invoke(app, args + extra)
            refused += result.exit_code == 2
            why = cli_problem(command, result.exit_code, result.output)
            if why is not None:
                bad.append(f"{m.name} {command}: {why}: {result.output.strip()[-400:]}")
    assert not bad, "\n".join(bad)
    assert refused >= len(found) * len(COMMANDS) // 2
