"""Build a deployable package from a finished study: chosen variants, ``manifest.json``, selector."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.errors import ConfigError

__all__ = ["PackageResult", "build_package", "load_study_document", "package"]

MANIFEST_VERSION = 1

_X86 = ["x86_64", "amd64"]


@dataclass
class PackageResult:
    out_dir: str
    manifest: str
    selector: str
    variants: list[dict[str, Any]] = field(default_factory=list)
    encrypted: bool = False
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (variant id, why it was not packaged)
    kind: str = "package"


def load_study_document(ref: str | Path, store: Any = None) -> dict[str, Any]:
    """A study's JSON data from a run id in the store, a report.json path, or a study output directory."""
    text = str(ref)
    if text.isdigit():
        from edgeport.store import Store

        record = (store or Store()).get(int(text))
        if record.kind != "study":
            raise ConfigError(f"run {text} is a {record.kind}, not a study", fix="pass a study run id")
        return dict(record.document["data"])
    path = Path(text)
    if path.is_dir():
        path = path / "report.json"
    if not path.exists():
        raise ConfigError(f"{ref}: no study found (not a run id, report.json or study directory)",
                          fix="pass the run id printed by 'edgeport optimize' or its output directory")
    doc = json.loads(path.read_text())
    if doc.get("schema") != "edgeport/study":
        raise ConfigError(f"{path} is not a study report", fix="pass the report.json written by 'edgeport optimize'")
    return dict(doc["data"])


def package(study: Any, out_dir: str | Path, *, store: Any = None, encrypt: bool = False,
            key_file: str | Path | None = None) -> PackageResult:
    """Write a deployable package for ``study``: a ``StudyResult``, its JSON data, a run id in ``store``,
    a report.json path or a study output directory. ``encrypt``: AES-256-GCM under the 32-byte key in
    ``key_file`` (``deploy.protect``), checked before anything is written."""
    import dataclasses

    key = None
    if encrypt or key_file is not None:
        from edgeport.deploy.protect import read_key

        key = read_key(key_file)

    if dataclasses.is_dataclass(study) and not isinstance(study, type):
        from edgeport.report.schema import to_json

        study = to_json(study)
    return build_package(dict(study) if isinstance(study, dict) else load_study_document(study, store), out_dir,
                         key=key)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _requirements(cand: dict[str, Any], study: dict[str, Any]) -> dict[str, Any]:
    """What the variant needs on the device: runtime modules, OS, ISA features, architecture, RAM.

    The runtime's module declares the first three (``Runtime.device``); the study's conditions say
    what a host-bound artifact was built for.
    """
    from edgeport.runtimes import RUNTIMES

    runtime = RUNTIMES.get(cand["runtime"])
    req: dict[str, Any] = {"runtime_modules": list(runtime.deploy_modules())}
    info = cand.get("runtime_info") or {}
    precision = str(info.get("inference_precision") or cand.get("precision"))
    isa: list[str] = []
    if runtime.device.host_bound:
        req["arch_required"] = _X86 if study.get("conditions", {}).get("machine", "x86_64") in _X86 else [
            study["conditions"]["machine"]]
        isa.extend(f for f in ("avx512f",) if f in study.get("conditions", {}).get("isa_flags", []))
    if "bf16" in precision:
        isa.append("avx512_bf16")
    req["isa_required"] = isa
    if runtime.device.os:
        req["os_required"] = list(runtime.device.os)
    rss = cand.get("peak_rss_mb")
    size = cand.get("size_bytes") or 0
    req["min_ram_bytes"] = int(max(size * 2, (rss or 0) * 1e6 * 1.5))
    return req


def build_package(study: dict[str, Any], out_dir: str | Path, *, key: bytes | None = None) -> PackageResult:
    """Copy the recommended variant of each target (and a CPU fallback) into ``out_dir`` with a manifest;
    with ``key``, each model file is stored AES-256-GCM encrypted (only variants whose runtime loads from
    memory are packaged then: the others would have to be decrypted to disk)."""
    out = Path(out_dir)
    cands = {c["key"]: c for c in study.get("candidates", [])}
    chosen: list[tuple[dict[str, Any], str, bool]] = []
    for rec in study.get("recommendations", []):
        if rec.get("key") and rec["key"] in cands:
            chosen.append((cands[rec["key"]], rec["target"], False))
    left_out: list[tuple[str, str]] = []
    if key is not None:
        chosen, left_out = _memory_loadable(chosen)
    fallback = _cpu_fallback(list(cands.values()))
    if fallback is not None:
        chosen.append((fallback, "any", True))
    if not chosen:
        raise ConfigError("the study recommended no variant, so there is nothing to package",
                          fix="relax the study's constraints and re-run 'edgeport optimize'")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        variants = _stage(staging, chosen, study, key)
        manifest = {"schema": "edgeport/manifest", "schema_version": MANIFEST_VERSION, "created": time.time(),
                    "model": study.get("model"), "study_id": study.get("study_id"), "variants": variants}
        if key is not None:
            from edgeport.deploy.protect import CIPHER, key_fingerprint

            manifest["encryption"] = {"cipher": CIPHER, "key_id": key_fingerprint(key)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
        selector_src = Path(__file__).with_name("select.py")
        shutil.copy2(selector_src, staging / "edgeport_select.py")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PackageResult(out_dir=str(out), manifest=str(out / "manifest.json"),
                         selector=str(out / "edgeport_select.py"), variants=variants, encrypted=key is not None,
                         left_out=left_out)


def _memory_loadable(chosen: list[tuple[dict[str, Any], str, bool]]
                     ) -> tuple[list[tuple[dict[str, Any], str, bool]], list[tuple[str, str]]]:
    """The chosen variants a runtime can load from decrypted bytes, and why each other one is left out."""
    from edgeport.runtimes import RUNTIMES

    kept, left = [], []
    for cand, target, fallback in chosen:
        runtime = RUNTIMES.get(cand["runtime"])
        if not runtime.loads_from_memory:
            left.append((f"{target}:{cand['key']}", f"runtime {runtime.name} cannot load a model from memory"))
        elif Path(cand["artifact"]).is_dir():
            left.append((f"{target}:{cand['key']}", "a directory model cannot be loaded from memory"))
        else:
            kept.append((cand, target, fallback))
    return kept, left


def _cpu_fallback(cands: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best verified fp32 variant on a portable CPU runtime (ONNX Runtime, then LiteRT)."""
    for runtime in ("onnxruntime", "litert"):
        ok = [c for c in cands if c.get("status") == "ok" and c.get("precision") == "fp32" and c["runtime"] == runtime]
        if ok:
            return min(ok, key=lambda c: c.get("latency_ms", {}).get("median") or 1e9)
    return None


def _encrypt_into(staging: Path, src: Path, rel: str, key: bytes) -> dict[str, str]:
    """Write ``src`` encrypted to ``staging/rel``; its manifest record (nonce, ciphertext hash)."""
    from edgeport.deploy.protect import encrypt_bytes

    nonce, blob = encrypt_bytes(src.read_bytes(), key, rel)
    (staging / rel).write_bytes(blob)
    return {"file": rel, "nonce": nonce.hex(), "sha256": hashlib.sha256(blob).hexdigest()}


def _stage_encrypted(staging: Path, cand: dict[str, Any], key: bytes) -> list[dict[str, str]]:
    """The variant's files encrypted (``.enc``), by role: the model, and an OpenVINO IR's weights."""
    src = Path(cand["artifact"])
    files = [dict(_encrypt_into(staging, src, f"variants/{src.name}.enc", key), role="model")]
    side = src.with_suffix(".bin")
    if cand["format"] == "openvino" and side.exists():
        files.append(dict(_encrypt_into(staging, side, f"variants/{side.name}.enc", key), role="weights"))
    return files


def _stage(staging: Path, chosen: list[tuple[dict[str, Any], str, bool]], study: dict[str, Any],
           key: bytes | None = None) -> list[dict[str, Any]]:
    (staging / "variants").mkdir()
    variants: list[dict[str, Any]] = []
    copied: dict[str, str] = {}
    sealed: dict[str, list[dict[str, str]]] = {}
    for rank, (cand, target, is_fallback) in enumerate(chosen):
        src = Path(cand["artifact"])
        if not src.exists():
            raise ConfigError(f"variant file {src} no longer exists", fix="re-run 'edgeport optimize' to rebuild it")
        if key is not None:
            if str(src) not in sealed:
                sealed[str(src)] = _stage_encrypted(staging, cand, key)
            copied[str(src)] = sealed[str(src)][0]["file"]
        elif str(src) not in copied:
            dest = staging / "variants" / src.name
            if src.is_dir():
                shutil.copytree(src, dest)
            else:
                shutil.copy2(src, dest)
                side = src.with_suffix(".bin")
                if cand["format"] == "openvino" and side.exists():
                    shutil.copy2(side, dest.with_suffix(".bin"))
            copied[str(src)] = f"variants/{src.name}"
        rel = copied[str(src)]
        entry = {
            "id": f"{target}:{cand['key']}", "target": target, "rank": rank, "cpu_fallback": is_fallback,
            "file": rel, "sha256": _sha256(staging / rel), "format": cand["format"], "precision": cand["precision"],
            "runtime": cand["runtime"], "threads": cand["threads"], "delegate": (cand.get("runtime_info") or {}).get(
                "delegate"), "accuracy": cand.get("accuracy"), "agreement": cand.get("agreement"),
            "latency_ms": (cand.get("latency_ms") or {}).get("median"), "latency_measured_on": "host",
            "size_bytes": cand.get("size_bytes"), "lineage": cand.get("lineage", [])}
        if key is not None:  # "sha256" is then the ciphertext's: the selector checks it before decrypting
            entry["encrypted_files"] = sealed[str(src)]
        entry.update(_requirements(cand, study))
        variants.append(entry)
    return variants
