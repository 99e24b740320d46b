"""The dependency-free selector on real files: feature checks, hash verification, CPU fallback."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgeport.deploy.select import Machine, NoVariantError, probe, select


def _write(tmp: Path, name: str, payload: bytes) -> str:
    (tmp / name).write_bytes(payload)
    return hashlib.sha256(payload).hexdigest()


def _manifest(tmp: Path, variants: list[dict]) -> Path:
    path = tmp / "manifest.json"
    path.write_text(json.dumps({"schema": "edgeport/manifest", "schema_version": 1, "variants": variants}))
    return path


@pytest.fixture()
def machine() -> Machine:
    return Machine(arch="x86_64", os="linux", cpu_features=frozenset({"avx2", "avx512f"}), ram_bytes=8 << 30,
                   runtimes=frozenset({"onnxruntime"}))


def _variants(tmp: Path) -> list[dict]:
    return [
        {"id": "amx", "rank": 0, "file": "a.onnx", "sha256": _write(tmp, "a.onnx", b"a"), "runtime_modules":
         ["onnxruntime"], "isa_required": ["amx_int8"]},
        {"id": "ov", "rank": 1, "file": "b.xml", "sha256": _write(tmp, "b.xml", b"b"), "runtime_modules": ["openvino"]},
        {"id": "big", "rank": 2, "file": "c.onnx", "sha256": _write(tmp, "c.onnx", b"c"),
         "runtime_modules": ["onnxruntime"], "min_ram_bytes": 64 << 30},
        {"id": "vnni", "rank": 3, "file": "d.onnx", "sha256": _write(tmp, "d.onnx", b"d"),
         "runtime_modules": ["onnxruntime"], "isa_required": ["avx512f"]},
        {"id": "cpu", "rank": 4, "cpu_fallback": True, "file": "e.onnx", "sha256": _write(tmp, "e.onnx", b"e"),
         "runtime_modules": ["onnxruntime"]},
    ]


def test_skips_variants_needing_what_the_machine_lacks(tmp_path: Path, machine: Machine) -> None:
    chosen = select(_manifest(tmp_path, _variants(tmp_path)), machine=machine)
    assert chosen.variant["id"] == "vnni"
    reasons = dict(chosen.skipped)
    assert "amx_int8" in reasons["amx"]
    assert "openvino" in reasons["ov"]
    assert "RAM" in reasons["big"]


def test_corrupted_file_is_refused_and_falls_back_to_cpu(tmp_path: Path, machine: Machine) -> None:
    manifest = _manifest(tmp_path, _variants(tmp_path))
    (tmp_path / "d.onnx").write_bytes(b"tampered")
    chosen = select(manifest, machine=machine)
    assert chosen.variant["id"] == "cpu"
    assert "SHA-256" in dict(chosen.skipped)["vnni"]


def test_no_valid_variant_raises_with_every_reason(tmp_path: Path) -> None:
    bare = Machine(arch="aarch64", os="linux", cpu_features=frozenset({"neon"}), ram_bytes=1 << 30,
                   runtimes=frozenset())
    with pytest.raises(NoVariantError, match="not installed"):
        select(_manifest(tmp_path, _variants(tmp_path)), machine=bare)


def test_probe_reports_this_machine() -> None:
    here = probe(["onnxruntime", "edgeport_no_such_runtime_module"])
    assert here.arch
    assert here.runtimes == frozenset({"onnxruntime"})
    assert here.ram_bytes and here.ram_bytes > 1 << 28


def test_selector_runs_standalone_without_edgeport(tmp_path: Path) -> None:
    """The shipped selector uses only the standard library (isolated interpreter, no site-packages)."""
    src = Path(__import__("edgeport.deploy.select", fromlist=["x"]).__file__)
    (tmp_path / "edgeport_select.py").write_text(src.read_text())
    variants = [{"id": "cpu", "rank": 0, "cpu_fallback": True, "file": "e.onnx",
                 "sha256": _write(tmp_path, "e.onnx", b"e")}]
    _manifest(tmp_path, variants)
    out = subprocess.run([sys.executable, "-I", "-S", "edgeport_select.py", "manifest.json"], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["variant"] == "cpu"


def test_package_cli_from_a_study_directory_and_bad_reference(tmp_path: Path) -> None:
    """``edgeport package`` reads a study's report.json; a wrong reference is one clear line, exit 2."""
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    runner = CliRunner()
    bad = runner.invoke(app, ["package", str(tmp_path / "nowhere"), "--out", str(tmp_path / "pkg")])
    assert bad.exit_code == 2
    assert "no study found" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "pkg").exists()
