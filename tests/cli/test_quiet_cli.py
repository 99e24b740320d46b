"""Backend chatter stays off the terminal unless ``edgeport --verbose`` asks for it.

LiteRT's native XNNPACK delegate writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
straight to fd 2 when a float model is prepared: ``edgeport bench`` on a small ``.tflite`` in a
fresh process shows whether edgeport silences it (it cannot be seen through CliRunner, which
captures Python streams, not file descriptors).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

MESSAGE = "Created TensorFlow Lite XNNPACK delegate"


@pytest.fixture(scope="module")
def small_tflite() -> Path:
    """A float ``.tflite`` shipped inside the tflite-micro wheel (the sine example, 3 KB)."""
    pytest.importorskip("ai_edge_litert")
    spec = importlib.util.find_spec("tflite_micro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("tflite-micro (which ships the sample model) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "python" / "tflite_micro" / "sine_float.tflite"
    if not path.is_file():
        pytest.skip(f"no sample model at {path}")
    return path


def _bench(model: Path, store: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EDGEPORT_VERBOSE"}
    env["EDGEPORT_STORE"] = str(store)
    args = [sys.executable, "-m", "edgeport.cli.main", *flags, "bench", str(model), "--runs", "3", "--warmup", "1"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_native_backend_output_is_silenced_by_default(small_tflite, tmp_path):
    proc = _bench(small_tflite, tmp_path / "store.db")
    assert MESSAGE not in proc.stderr + proc.stdout
    assert "litert" in proc.stdout  # the command itself still printed its table


def test_verbose_shows_native_backend_output(small_tflite, tmp_path):
    proc = _bench(small_tflite, tmp_path / "store.db", "--verbose")
    assert MESSAGE in proc.stderr
