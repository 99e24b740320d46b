"""A native crash inside a backend is contained and reported in one line; TFLite custom ops are named.

The crashing model is real, not simulated: a structurally valid ``.tflite`` whose SPLIT operator has a
FULLY_CONNECTED's inputs makes LiteRT's XNNPACK delegate read past the node's inputs and segfault
while the interpreter is created. The commands run as subprocesses here: before containment, this
crash killed the whole process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mutations import tiny_tflite

pytest.importorskip("ai_edge_litert")


def _edgeport(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EDGEPORT_STORE": str(tmp_path / "store.db"), "EDGEPORT_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "edgeport.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def _crashes_in_litert(path: Path) -> bool:
    code = ("import sys; from ai_edge_litert import interpreter as t; "
            "i = t.Interpreter(model_path=sys.argv[1]); i.allocate_tensors()")
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=120).returncode < 0


def test_a_litert_crash_while_loading_is_one_line_for_bench_and_verify(tmp_path: Path) -> None:
    model = tiny_tflite(tmp_path / "split.tflite", op="SPLIT")
    assert _crashes_in_litert(model)  # the premise: loading it kills the process that does
    bench = _edgeport(["bench", str(model), "--runs", "2"], tmp_path)
    assert bench.returncode == 1
    line = _one_error_line(bench)
    assert line.startswith("error: BackendError: LiteRT crashed (signal 11, SIGSEGV) while loading split.tflite: "
                           "the file is malformed"), line
    # the outcome is remembered for this content: verify gets the same line without a second crash
    markers = list((tmp_path / "cache" / "loaded").rglob("*"))
    assert any(m.is_file() and m.read_text().startswith("crashed") for m in markers)
    verify = _edgeport(["verify", str(model), str(model), "--max-samples", "2"], tmp_path)
    assert verify.returncode == 1 and _one_error_line(verify) == line


def test_a_tflite_custom_op_is_named_by_profile_check_bench_and_verify(tmp_path: Path) -> None:
    model = tiny_tflite(tmp_path / "custom.tflite", custom_op="EdgeportTestOp")
    profile = _edgeport(["profile", str(model)], tmp_path)
    assert profile.returncode == 0, profile.stderr
    text = " ".join(profile.stdout.split())
    assert "TFLite custom op EdgeportTestOp: no MACs known" in text
    check = _edgeport(["check", str(model), "--target", "pixel-8,cortex-m7", "--json"], tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout.count("custom op kernel(s) the app must register: EdgeportTestOp") == 2
    assert '"reason": "custom-op"' in check.stdout
    for args in (["bench", str(model), "--runs", "2"], ["verify", str(model), str(model), "--max-samples", "2"]):
        proc = _edgeport(args, tmp_path)
        assert proc.returncode == 2, proc.stderr
        line = _one_error_line(proc)
        assert line.startswith("error: UnsupportedError: custom.tflite: EdgeportTestOp is a TFLite custom op with no "
                               "kernel in LiteRT — register its kernel"), line
        assert "convert the model with builtin ops only / replace the op" in line
