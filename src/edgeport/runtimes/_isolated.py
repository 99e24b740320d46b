"""The first load of a model file by a native backend runs in a child process.

LiteRT and ONNX Runtime are native code: a malformed model that passes edgeport's structural checks
can still make them segfault or abort, which kills the caller (a whole study or test run) with no
message. So the first time a backend version loads a file's content (its sha256), it loads it in a
child process first. A crash there becomes one line — "LiteRT crashed (signal 11, SIGSEGV) while
loading m.tflite: ..." — and a clean load is remembered by a marker file under
``$EDGEPORT_CACHE/loaded/`` (default ``~/.cache/edgeport``), so every later load of the same
content (each bench, verify, study row) skips the child and costs only hashing the file.

A child that fails with an ordinary exception reports nothing itself: that failure is clean, so it
is remembered too, and the parent then loads in process and raises the backend's own error, mapped
as the runtime maps it. The child costs one
interpreter start plus the backend import (about 0.3–1 s) once per file and backend version.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from edgeport._registry import resolve
from edgeport.errors import BackendError

__all__ = ["LOAD_TIMEOUT_S", "load_in_child_first"]

LOAD_TIMEOUT_S = 600.0


def _cache_dir() -> Path:
    return Path(os.environ.get("EDGEPORT_CACHE", Path.home() / ".cache" / "edgeport")) / "loaded"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _signal_name(number: int) -> str:
    try:
        return f"signal {number}, {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


def load_in_child_first(backend: str, version: str | None, path: Path, probe: str, variant: str = "") -> None:
    """Load ``path`` with ``probe`` (``"module:function"``, called as ``function(path, variant)``) in a child
    process unless this content already loaded cleanly with this backend ``version`` and ``variant``.

    Raises ``BackendError`` (one line) when the child is killed by a signal or does not finish.
    """
    slug = "-".join(x for x in (backend.lower().replace(" ", ""), version or "unknown", variant) if x)
    marker = _cache_dir() / slug / _sha256(path)
    if marker.exists():
        return
    try:
        proc = subprocess.run([sys.executable, "-m", "edgeport.runtimes._isolated", probe, str(path), variant],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=LOAD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BackendError(f"{backend} did not finish loading {path.name} within {LOAD_TIMEOUT_S:.0f} s "
                           "(in a child process)", fix="check the model file; re-export it") from None
    if proc.returncode < 0:
        said = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = f" (it printed: {said[-1][:200]})" if said else ""
        raise BackendError(f"{backend} crashed ({_signal_name(-proc.returncode)}) while loading {path.name}: the "
                           f"file is malformed or uses an unsupported feature{detail}",
                           fix="re-export the model, or check it with 'edgeport check'")
    if proc.returncode in (0, 1):  # loaded, or failed with an exception: either way no crash
        marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp.write_text(str(path))
        os.replace(tmp, marker)


def _main(argv: list[str]) -> int:
    probe, path, variant = argv
    import faulthandler

    faulthandler.disable()  # a crash is the answer the parent wants, as a signal, not a dump
    try:
        resolve(probe)(Path(path), variant)
    except Exception as exc:  # an ordinary load failure: the parent loads in process and maps it
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
