"""A resumed study re-uses a result only while its inputs are the same: the data's content (not
its path), edgeport's version and every backend's version are in the study id (no ML stack)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import load_npz
from edgeport.study.fingerprint import backend_versions, dataset_digest, study_fingerprint
from edgeport.study.options import StudyOptions
from edgeport.study.variants import Build, Variant

VARIANTS = [Variant(Build("onnx", "fp32"), "onnxruntime", 1), Variant(Build("onnx", "fp32"), "onnxruntime", 2),
            Variant(Build("openvino", "fp32"), "openvino", 1)]


@pytest.fixture()
def model(tmp_path: Path) -> Artifact:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"model bytes")
    return Artifact(path=path, format=Format.ONNX, inputs=(), outputs=())


def _save(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    np.savez(path, x=x, y=y)
    return path


def test_editing_the_data_file_changes_the_id_moving_it_does_not(tmp_path: Path, model: Artifact) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 4)).astype(np.float32), rng.integers(0, 3, 20)
    data = _save(tmp_path / "data.npz", x, y)
    first = study_fingerprint(model, load_npz(data), StudyOptions(), VARIANTS)
    assert study_fingerprint(model, load_npz(data), StudyOptions(), VARIANTS) == first  # stable

    moved = tmp_path / "elsewhere" / "renamed.npz"
    moved.parent.mkdir()
    shutil.copy(data, moved)
    assert study_fingerprint(model, load_npz(moved), StudyOptions(), VARIANTS) == first

    x[3, 1] += 1e-3  # one value edited, same path, same count
    _save(data, x, y)
    assert study_fingerprint(model, load_npz(data), StudyOptions(), VARIANTS) != first
    x[3, 1] -= 1e-3
    y[0] = (y[0] + 1) % 3  # a label edited
    _save(data, x, y)
    assert study_fingerprint(model, load_npz(data), StudyOptions(), VARIANTS) != first


def test_splits_and_dtypes_are_content_too(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    a = load_npz(_save(tmp_path / "a.npz", x, np.zeros(6, dtype=np.int64)))
    np.savez(tmp_path / "b.npz", x=x, y=np.zeros(6, dtype=np.int64), split_test=np.array([0, 1]),
             split_train=np.array([2, 3, 4, 5]))
    b = load_npz(tmp_path / "b.npz")
    assert dataset_digest(a) != dataset_digest(b)
    c = load_npz(_save(tmp_path / "c.npz", x.astype(np.float64), np.zeros(6, dtype=np.int64)))
    assert dataset_digest(a) != dataset_digest(c)


def test_a_backend_upgrade_changes_the_id(tmp_path: Path, model: Artifact, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeport.runtimes import RUNTIMES

    data = load_npz(_save(tmp_path / "d.npz", np.ones((5, 2), np.float32), np.zeros(5, np.int64)))
    before = study_fingerprint(model, data, StudyOptions(), VARIANTS)
    assert set(backend_versions(Format.ONNX, VARIANTS)) >= {"runtime:onnxruntime", "runtime:openvino"}
    cls = RUNTIMES.get("onnxruntime")
    monkeypatch.setattr(cls, "version", classmethod(lambda c: "999.0-upgraded"))
    assert backend_versions(Format.ONNX, VARIANTS)["runtime:onnxruntime"] == "999.0-upgraded"
    assert study_fingerprint(model, data, StudyOptions(), VARIANTS) != before
    monkeypatch.undo()
    assert study_fingerprint(model, data, StudyOptions(), VARIANTS) == before


def test_an_edgeport_upgrade_changes_the_id(tmp_path: Path, model: Artifact, monkeypatch: pytest.MonkeyPatch) -> None:
    import edgeport._version

    data = load_npz(_save(tmp_path / "d.npz", np.ones((5, 2), np.float32), np.zeros(5, np.int64)))
    before = study_fingerprint(model, data, StudyOptions(), VARIANTS)
    monkeypatch.setattr(edgeport._version, "__version__", "99.0.0")
    assert study_fingerprint(model, data, StudyOptions(), VARIANTS) != before


def test_a_converter_backend_of_a_build_is_in_the_versions() -> None:
    """The converters that build a variant count too: ONNX → OpenVINO needs the openvino package."""
    versions = backend_versions(Format.ONNX, [Variant(Build("openvino", "fp32"), "openvino", 1)])
    assert "openvino" in versions and "runtime:openvino" in versions
