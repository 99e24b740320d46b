"""What runs a study is not part of it: serial and Ray share fingerprints; Ray's build output is published
whole or not at all; a missing Ray says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.errors import ConfigError
from edgeport.study.artifacts import PARTIAL_PREFIX, new_partial, publish, remove_partials
from edgeport.study.options import StudyOptions


def test_the_executor_does_not_change_the_fingerprint() -> None:
    ray = StudyOptions(executor="ray", ray_address="ray://head:10001", artifact_root="/shared/builds")
    assert ray.fingerprint_fields() == StudyOptions().fingerprint_fields()
    with pytest.raises(ConfigError, match="unknown executor 'dask'") as err:
        StudyOptions(executor="dask")
    assert "serial, ray" in (err.value.fix or "")


def _build(root: Path, run: str, payload: bytes) -> Artifact:
    partial = new_partial(root, run)
    (partial / "m.onnx").write_bytes(payload)
    (partial / "m.onnx.data").write_bytes(payload[::-1])  # a side file travels with its model
    return publish(partial, Artifact(partial / "m.onnx", Format.ONNX, (), ()))


def test_builds_are_published_by_content_and_retries_land_in_the_same_place(tmp_path: Path) -> None:
    first = _build(tmp_path, "run1", b"weights")
    again = _build(tmp_path, "run1", b"weights")  # a retried build writing the same bytes
    other = _build(tmp_path, "run1", b"other weights")
    assert first.path == again.path != other.path
    assert first.path.read_bytes() == b"weights" and (first.path.parent / "m.onnx.data").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({first.path.parent.name, other.path.parent.name})
    killed = new_partial(tmp_path, "run1")  # what a worker killed mid-build leaves
    (killed / "m.onnx").write_bytes(b"half")
    theirs = new_partial(tmp_path, "run2")  # another run's build, still going
    remove_partials(tmp_path, "run1")
    assert not killed.exists() and theirs.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(PARTIAL_PREFIX)] == [theirs.name]


def test_ray_executor_without_ray_names_the_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
            "from edgeport.cli.main import main\n"
            "sys.argv = ['edgeport', '--store', sys.argv[1], 'optimize', '--executor', 'ray', '--json']\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.db")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "MissingDependencyError" in proc.stderr and 'pip install "edgeport[ray]"' in proc.stderr
