"""Pick the best valid variant of an edgeport package on the machine this runs on.

Dependency-free (standard library only) so it can ship inside an app next to the models:
``select(manifest)`` probes the machine (which runtime modules named by the variants are installed,
CPU features such as AVX-512/VNNI or NEON, RAM), walks the variants best-first, skips any whose
runtime, ISA features or memory are missing here, verifies the file's SHA-256 before returning it
(a corrupted file is refused), and falls back to a CPU variant. The selector keeps no list of
runtimes: each variant names the modules that run it (``runtime_modules``, written from the
runtime module's own declaration).

An encrypted package (``edgeport package --encrypt``) needs ``key=`` and the ``cryptography``
module: each file's ciphertext hash is checked, then it is decrypted (AES-256-GCM) into memory,
never to disk; a wrong key or a tampered file fails the authentication tag and the variant is
skipped with that reason, like a hash mismatch. ``Selection.model_bytes`` then holds the model by
role ("model", and "weights" for an OpenVINO IR), ready for a runtime that loads from a buffer.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Machine", "NoVariantError", "Selection", "probe", "read_key_file", "select"]


class NoVariantError(Exception):
    """No variant of the package can run on this machine."""


@dataclass(frozen=True)
class Machine:
    arch: str
    os: str
    cpu_features: frozenset[str]
    ram_bytes: int | None
    runtimes: frozenset[str]  # the probed runtime modules that are importable here


@dataclass
class Selection:
    variant: dict[str, Any]
    path: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (variant id, reason)
    machine: Machine | None = None
    model_bytes: dict[str, bytes] | None = None  # decrypted files by role (encrypted packages only)


def _cpu_features() -> frozenset[str]:
    feats: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key = line.split(":", 1)[0].strip().lower()
                if key in ("flags", "features"):
                    feats.update(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        feats.add("neon")  # Advanced SIMD is mandatory on AArch64
        feats.update({"asimd"})
    return frozenset(feats)


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def probe(runtime_modules: Iterable[str] = ()) -> Machine:
    """What this machine has: architecture, OS, CPU features, RAM, and which of ``runtime_modules`` import
    (found, not imported: probing never loads a runtime)."""
    runtimes = set()
    for module in sorted(set(runtime_modules)):
        try:
            if importlib.util.find_spec(module) is not None:
                runtimes.add(module)
        except (ImportError, ValueError):
            continue
    return Machine(arch=platform.machine().lower(), os=sys.platform, cpu_features=_cpu_features(),
                   ram_bytes=_ram_bytes(), runtimes=frozenset(runtimes))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _why_not(variant: dict[str, Any], machine: Machine) -> str | None:
    modules = variant.get("runtime_modules") or []
    if modules and not any(m in machine.runtimes for m in modules):
        return f"runtime {' or '.join(modules)} is not installed"
    archs = variant.get("arch_required") or []
    if archs and machine.arch not in archs:
        return f"needs {'/'.join(archs)}, this is {machine.arch}"
    oses = variant.get("os_required") or []
    if oses and not any(machine.os.startswith(o) for o in oses):
        return f"needs OS {'/'.join(oses)}, this is {machine.os}"
    missing = [f for f in variant.get("isa_required") or [] if f not in machine.cpu_features]
    if missing:
        return f"CPU lacks {', '.join(missing)}"
    need = variant.get("min_ram_bytes")
    if need and machine.ram_bytes is not None and machine.ram_bytes < need:
        return f"needs {need} bytes of RAM, this machine has {machine.ram_bytes}"
    return None


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"edgeport-key-id\0" + key).hexdigest()[:16]


def _decrypt(variant: dict[str, Any], root: Path, key: bytes | None, encryption: dict[str, Any]
             ) -> tuple[dict[str, bytes] | None, str | None]:
    """(files by role, None) decrypted in memory, or (None, why not)."""
    if key is None:
        return None, "the package is encrypted and no key was given"
    if encryption.get("key_id") and _key_id(key) != encryption["key_id"]:
        return None, "wrong key: its fingerprint does not match the package's"
    try:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None, "decrypting needs the 'cryptography' module (pip install cryptography)"
    out: dict[str, bytes] = {}
    for entry in variant.get("encrypted_files") or []:
        file = root / entry["file"]
        if not file.exists():
            return None, f"file {entry['file']} is missing"
        blob = file.read_bytes()
        if hashlib.sha256(blob).hexdigest() != entry.get("sha256"):
            return None, f"file {entry['file']} failed its SHA-256 check (corrupted or replaced)"
        try:
            out[entry["role"]] = AESGCM(key).decrypt(bytes.fromhex(entry["nonce"]), blob, entry["file"].encode())
        except InvalidTag:
            return None, f"file {entry['file']} failed AES-GCM authentication (wrong key or tampered file)"
    return out, None


def select(manifest: str | Path | dict[str, Any], *, machine: Machine | None = None,
           target: str | None = None, key: bytes | None = None) -> Selection:
    """The best variant valid here (hash-verified), falling back to a CPU variant.

    ``manifest``: the package's ``manifest.json`` path (files resolve next to it) or its parsed dict
    (files resolve from the working directory). ``target`` restricts to variants made for that target
    (CPU fallbacks always stay eligible). ``key``: the 32-byte key of an encrypted package.
    """
    if isinstance(manifest, dict):
        doc, root = manifest, Path.cwd()
    else:
        path = Path(manifest)
        root = path.parent
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    variants = list(doc.get("variants", []))
    machine = machine or probe(m for v in variants for m in v.get("runtime_modules") or ())
    if target is not None:
        variants = [v for v in variants if v.get("target") == target or v.get("cpu_fallback")]
    ordered = sorted(variants, key=lambda v: (bool(v.get("cpu_fallback")), v.get("rank", 0)))
    skipped: list[tuple[str, str]] = []
    for variant in ordered:
        reason = _why_not(variant, machine)
        if reason is None:
            file = root / variant["file"]
            if not file.exists():
                reason = f"file {variant['file']} is missing"
            elif _sha256(file) != variant.get("sha256"):
                reason = f"file {variant['file']} failed its SHA-256 check (corrupted or replaced)"
        plain = None
        if reason is None and doc.get("encryption"):
            plain, reason = _decrypt(variant, root, key, doc["encryption"])
        if reason is None:
            return Selection(variant=variant, path=root / variant["file"], skipped=skipped, machine=machine,
                             model_bytes=plain)
        skipped.append((str(variant.get("id")), reason))
    detail = "; ".join(f"{vid}: {why}" for vid, why in skipped) or "the package has no variants"
    raise NoVariantError(f"no variant can run here ({detail})")


def read_key_file(path: str | Path) -> bytes:
    """A key file as ``edgeport package --key-file`` reads it: 32 raw bytes or 64 hex digits."""
    raw = Path(path).read_bytes()
    text = raw.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    return raw


if __name__ == "__main__":  # python edgeport_select.py manifest.json [KEY_FILE]
    chosen = select(sys.argv[1] if len(sys.argv) > 1 else "manifest.json",
                    key=read_key_file(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(json.dumps({"variant": chosen.variant.get("id"), "path": str(chosen.path), "skipped": chosen.skipped}))
