"""Shared fixtures: real data and real models, built once per session.

The digits CNN trains deterministically in seconds and is cached (``$EDGEPORT_CACHE``);
conversions used by many tests are made once here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("EDGEPORT_STORE", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"edgeport-test-{os.getpid()}.db"))


@pytest.fixture(scope="session")
def digits_data():
    from edgeport.data.examples import digits

    return digits()


@pytest.fixture(scope="session")
def digits_pt2(tmp_path_factory: pytest.TempPathFactory):
    from edgeport import load_artifact
    from edgeport.data.examples import digits_model_path

    return load_artifact(digits_model_path(tmp_path_factory.mktemp("pt2")))


@pytest.fixture(scope="session")
def digits_onnx(tmp_path_factory: pytest.TempPathFactory, digits_pt2, digits_data):
    from edgeport.convert.api import convert

    out = tmp_path_factory.mktemp("onnx") / "digits.onnx"
    return convert(digits_pt2, "onnx", out=out, data=digits_data).artifact


@pytest.fixture()
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.db"
    monkeypatch.setenv("EDGEPORT_STORE", str(path))
    return path
@pytest.fixture(scope="session")
def full_study(tmp_path_factory: pytest.TempPathFactory):
    """The built-in example across every installed stack, host + a phone + an MCU (run once)."""
    from edgeport.store import Store
    from edgeport.study.options import QUICK_BENCH, StudyOptions
    from edgeport.study.study import run_study

    root = tmp_path_factory.mktemp("study")
    store = Store(root / "store.db")
    options = StudyOptions(targets=("host", "pixel-8", "cortex-m7"), threads=(1,), out_dir=str(root / "out"),
                           bench=QUICK_BENCH)
    result = run_study(options, store=store)
    return result, store, options, Path(root)
