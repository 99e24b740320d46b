"""Kill a study mid-run, run it again: nothing finished is repeated, nothing is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _rows(db: Path) -> dict[str, float]:
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db) as con:
            return dict(con.execute("SELECT key, created FROM candidates").fetchall())
    except sqlite3.OperationalError:
        return {}


def test_killed_study_resumes_without_repeating(tmp_path: Path) -> None:
    from edgeport.store import Store
    from edgeport.study.options import QUICK_BENCH, StudyOptions
    from edgeport.study.study import run_study

    db = tmp_path / "store.db"
    out = tmp_path / "out"
    args = ["--formats", "onnx,torch-export", "--runtimes", "onnxruntime,torch", "--threads", "1,2", "--quick",
            "--target", "host", "--out", str(out)]
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:  # a file, not a pipe: an unread pipe can fill and stall the child
        proc = subprocess.Popen([sys.executable, "-m", "edgeport.cli.main", "--store", str(db), "optimize", *args,
                                 "--json"], stdout=subprocess.DEVNULL, stderr=err,
                                env=dict(os.environ, EDGEPORT_STORE=str(db)))
        deadline = time.time() + 300
        while time.time() < deadline and len(_rows(db)) < 2 and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None, f"study ended before it could be killed: {log.read_text(errors='replace')}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = _rows(db)
    assert len(before) >= 2

    options = StudyOptions(targets=("host",), threads=(1, 2), formats=("onnx", "torch-export"),
                           runtimes=("onnxruntime", "torch"), bench=QUICK_BENCH, out_dir=str(out))
    result = run_study(options, store=Store(db))
    after = _rows(db)
    assert result.resumed == len(before)
    for key, created in before.items():  # finished candidates were not measured again
        assert after[key] == created
    keys = [c.key for c in result.candidates]
    assert len(keys) == len(set(keys)) == len(after)
    assert len(after) > len(before)  # the rest was completed
    assert all(c.status in ("ok", "failed", "diverged") for c in result.candidates)
