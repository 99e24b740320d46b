"""Mutated model files never end in a traceback: every command reading one exits cleanly or with one error line.

Seeded mutations (see ``mutations.py``) of a tiny ONNX and a tiny TFLite model — empty, truncated,
byte-flipped, random, wrong magic, huge declared dims — go through ``profile``, ``check``, ``fit``,
``bench``, ``verify`` and ``convert`` in process. A run passes when its exit code is 0, 1, 2 or 3,
no traceback is printed, and a failure prints exactly one ``error:`` line (``fit`` exits 1 with no
error line when the model does not fit). Mutants that get past the readers reach the real runtimes
and converters; a native crash there must come back as one line too (see also the crash test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mutations import Mutant, cli_problem, huge_dim_onnx, huge_dim_tflite, mutants, tiny_onnx, tiny_tflite

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")

COMMANDS = ("profile", "check", "fit", "bench", "verify", "convert")
RUNTIME = {"onnx": "onnxruntime", "tflite": "litert"}
CONVERT_TO = {"onnx": "openvino", "tflite": "onnx"}
SEED = {"onnx": 11, "tflite": 12}
MAGIC = {"onnx": (0, b"\xff\xff"), "tflite": (4, b"TFL2")}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private result store and load cache for the module (the valid model's first load is shared)."""
    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEPORT_STORE", str(root / "store.db"))
        mp.setenv("EDGEPORT_CACHE", str(root / "cache"))
        yield root


@pytest.fixture(scope="module")
def corpus(env: Path) -> dict[str, tuple[Path, list[tuple[str, Path]]]]:
    """Per format: the valid model and its mutants written to files."""
    out: dict[str, tuple[Path, list[tuple[str, Path]]]] = {}
    for fmt in ("onnx", "tflite"):
        d = env / fmt
        d.mkdir()
        valid = tiny_onnx(d / "valid.onnx") if fmt == "onnx" else tiny_tflite(d / "valid.tflite")
        found: list[Mutant] = list(mutants(valid.read_bytes(), SEED[fmt], truncations=6, flips=12, randoms=3,
                                           magic=MAGIC[fmt]))
        found += huge_dim_onnx(valid) if fmt == "onnx" else huge_dim_tflite(valid)
        files = []
        for i, m in enumerate(found):
            path = d / f"m{i:02d}.{fmt}"
            path.write_bytes(m.data)
            files.append((m.name, path))
        out[fmt] = (valid, files)
    return out


def _args(command: str, fmt: str, valid: Path, path: Path) -> list[str]:
    if command in ("profile", "check", "fit"):
        return [command, str(path)]
    if command == "bench":
        return ["bench", str(path), "--runtime", RUNTIME[fmt], "--runs", "2", "--warmup", "1"]
    if command == "verify":
        return ["verify", str(valid), str(path), "--max-samples", "4"]
    out = path.with_name(path.stem + "-out" + (".xml" if CONVERT_TO[fmt] == "openvino" else ".onnx"))
    return ["convert", str(path), "--to", CONVERT_TO[fmt], "-o", str(out), "--no-verify", "--timeout", "120"]


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("command", COMMANDS)
def test_mutated_models_end_in_one_error_line(corpus, fmt: str, command: str) -> None:
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    valid, files = corpus[fmt]
    bad, codes = [], []
    for name, path in files:
        result = CliRunner().invoke(app, _args(command, fmt, valid, path))
        codes.append(result.exit_code)
        why = cli_problem(command, result.exit_code, result.output)
        if why is not None:
            bad.append(f"{name}: {why}: {result.output.strip()[-400:]}")
    assert not bad, "\n".join(bad)
    assert codes.count(2) >= len(files) // 2  # most mutants are refused as bad input, not run


def test_the_valid_models_pass_every_command(corpus) -> None:
    """The baseline the mutants are measured against: the unmutated models run clean everywhere."""
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    for fmt, (valid, _) in corpus.items():
        for command in COMMANDS:
            if command == "convert" and fmt == "tflite":
                continue  # no TFLite → ONNX converter is installed here: a clean refusal, checked above
            result = CliRunner().invoke(app, _args(command, fmt, valid, valid))
            assert result.exit_code == 0, f"{fmt} {command}: {result.output[-600:]}"
