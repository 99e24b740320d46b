from __future__ import annotations

from pathlib import Path

import pytest


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
