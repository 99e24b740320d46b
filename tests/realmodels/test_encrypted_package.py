"""Encrypted packages on real models: AES-256-GCM round trip on ORT, OpenVINO and LiteRT from memory,
wrong key, tampered bytes, no plaintext weights in the ciphertext, and keys refused before writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport.deploy.loader import open_selection
from edgeport.deploy.manifest import build_package, package
from edgeport.deploy.select import Machine, NoVariantError, select
from edgeport.errors import ConfigError
from edgeport.runtimes.base import open_runtime
from zoo import zoo_model

HERE = Machine(arch="x86_64", os="linux", cpu_features=frozenset(), ram_bytes=8 << 30,
               runtimes=frozenset({"onnxruntime", "openvino", "ai_edge_litert"}))


def _cand(key: str, artifact: Path, fmt: str, runtime: str) -> dict:
    return {"key": key, "artifact": str(artifact), "format": fmt, "precision": "fp32", "runtime": runtime,
            "threads": 1, "status": "ok", "latency_ms": {"median": 1.0}, "size_bytes": artifact.stat().st_size}


@pytest.fixture(scope="module")
def models(digits_onnx, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import openvino as ov

    ir = tmp_path_factory.mktemp("ir") / "digits.xml"  # an IR with its .bin: the round trip compares with it
    ov.save_model(ov.convert_model(str(digits_onnx.path)), str(ir), compress_to_fp16=False)
    tflite, _ = zoo_model("face-detection-short")
    return {"onnx": Path(digits_onnx.path), "openvino": ir, "tflite": tflite}


@pytest.fixture(scope="module")
def study(models: dict[str, Path]) -> dict:
    """A study document naming real variant files: one per runtime that loads from memory, plus the fallback."""
    cands = [_cand("onnx-fp32@onnxruntime-t1", models["onnx"], "onnx", "onnxruntime"),
             _cand("openvino-fp32@openvino-t1", models["openvino"], "openvino", "openvino"),
             _cand("tflite-fp32@litert-t1", models["tflite"], "tflite", "litert")]
    recs = [{"target": "host", "key": cands[1]["key"]}, {"target": "phone", "key": cands[2]["key"]}]
    return {"model": "digits", "study_id": "s", "candidates": cands, "recommendations": recs,
            "conditions": {"machine": "x86_64", "isa_flags": []}}


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    raw = os.urandom(32)
    path = tmp_path_factory.mktemp("key") / "model.key"
    path.write_text(raw.hex())
    return raw, path


@pytest.fixture(scope="module")
def sealed(study: dict, key: tuple[bytes, Path], tmp_path_factory: pytest.TempPathFactory):
    return package(study, tmp_path_factory.mktemp("pkg") / "out", encrypt=True, key_file=key[1])


def _run_plain(path: Path, runtime: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with open_runtime(load_artifact(path), runtime) as rt:
        return rt.run(feeds)


@pytest.mark.parametrize("target", ["host", "phone", "any"])
def test_round_trip_from_memory_matches_the_source(sealed, models: dict[str, Path], key, target: str) -> None:
    manifest = json.loads(Path(sealed.manifest).read_text())
    assert manifest["encryption"]["cipher"] == "AES-256-GCM"
    chosen = select(sealed.manifest, machine=HERE, target=target, key=key[0])
    if target == "any":  # no variant for it: the CPU fallback, after the two targeted ones were passed over
        chosen = select(sealed.manifest, machine=Machine(**{**HERE.__dict__, "runtimes": frozenset({"onnxruntime"})}),
                        key=key[0])
        assert chosen.variant["cpu_fallback"]
    variant = chosen.variant
    assert chosen.model_bytes is not None and variant["file"].endswith(".enc")
    with open_selection(chosen) as rt:
        spec = rt.input_specs()[0]
        shape = [d if isinstance(d, int) and d > 0 else 2 for d in spec.shape]
        feeds = {spec.name: np.random.default_rng(0).random(shape, dtype=np.float32)}
        got = rt.run(feeds)
    want = _run_plain(models[variant["format"]], variant["runtime"], feeds)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def test_ciphertext_holds_no_run_of_the_weights(sealed, models: dict[str, Path]) -> None:
    """No 64-byte run of the model's weights survives: every 64-byte run contains a 32-aligned 32-byte window."""
    import onnx
    from onnx import numpy_helper

    weights = b"".join(numpy_helper.to_array(t).tobytes() for t in onnx.load(models["onnx"]).graph.initializer)
    assert len(weights) > 10_000
    windows = [weights[i:i + 32] for i in range(0, len(weights) - 31, 32)]
    plain = models["onnx"].read_bytes()
    assert sum(w in plain for w in windows) > len(windows) // 2  # the check finds them in the clear file
    manifest = json.loads(Path(sealed.manifest).read_text())
    files = {v["file"] for v in manifest["variants"] if v["format"] == "onnx"}
    assert files
    for rel in files:
        blob = (Path(sealed.out_dir) / rel).read_bytes()
        assert not any(w in blob for w in windows)
    assert not any(p.suffix in (".onnx", ".xml", ".bin", ".tflite") for p in Path(sealed.out_dir, "variants").iterdir())


def test_wrong_key_fails_every_variant_with_one_line(sealed) -> None:
    with pytest.raises(NoVariantError, match="wrong key") as info:
        select(sealed.manifest, machine=HERE, key=os.urandom(32))
    assert "\n" not in str(info.value)
    doc = json.loads(Path(sealed.manifest).read_text())
    del doc["encryption"]["key_id"]  # without the fingerprint the GCM tag is what refuses it
    with pytest.raises(NoVariantError, match="failed AES-GCM authentication"):
        _select_at(sealed, doc, os.urandom(32))
    with pytest.raises(NoVariantError, match="no key was given"):
        select(sealed.manifest, machine=HERE)


def _select_at(sealed, doc: dict, key: bytes):
    path = Path(sealed.out_dir) / "manifest-edited.json"
    path.write_text(json.dumps(doc))
    try:
        return select(path, machine=HERE, key=key)
    finally:
        path.unlink()


def test_flipped_byte_fails_the_tag_and_falls_back(study: dict, key, tmp_path: Path) -> None:
    import hashlib

    result = build_package(study, tmp_path / "pkg", key=key[0])
    doc = json.loads(Path(result.manifest).read_text())
    top = doc["variants"][0]
    blob = bytearray((tmp_path / "pkg" / top["file"]).read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (tmp_path / "pkg" / top["file"]).write_bytes(bytes(blob))
    hashed = select(result.manifest, machine=HERE, target="host", key=key[0])
    assert "SHA-256" in dict(hashed.skipped)[top["id"]]
    # the attacker also rewrote the manifest's hash: the authentication tag still refuses the file
    digest = hashlib.sha256(bytes(blob)).hexdigest()
    top["sha256"] = digest
    top["encrypted_files"][0]["sha256"] = digest
    Path(result.manifest).write_text(json.dumps(doc))
    chosen = select(result.manifest, machine=HERE, target="host", key=key[0])
    assert chosen.variant["cpu_fallback"]
    assert dict(chosen.skipped)[top["id"]].endswith("failed AES-GCM authentication (wrong key or tampered file)")


def test_missing_or_short_key_is_refused_before_anything_is_written(study: dict, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    out = tmp_path / "pkg"
    with pytest.raises(ConfigError, match="no --key-file"):
        package(study, out, encrypt=True)
    short = tmp_path / "short.key"
    short.write_bytes(os.urandom(16))
    with pytest.raises(ConfigError, match="holds 16 bytes; AES-256 needs exactly 32"):
        package(study, out, encrypt=True, key_file=short)
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"schema": "edgeport/study", "data": study}))
    res = CliRunner().invoke(app, ["package", str(report), "--out", str(out), "--encrypt",
                                   "--key-file", str(tmp_path / "absent.key")])
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "short.key"]
