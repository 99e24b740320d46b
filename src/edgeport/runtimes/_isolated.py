"""The first load of a model file by a native backend runs in a child process.

LiteRT and ONNX Runtime are native code: a malformed model that passes edgeport's structural checks
can still make them segfault or abort (LiteRT's XNNPACK delegate reads past a SPLIT node's inputs,
for one), which kills the caller — a whole study or test run — with no message. So the first time a
backend version loads a file's content (its sha256), it loads it in a child process first:

- a crash there becomes one line, "LiteRT crashed (signal 11, SIGSEGV) while loading m.tflite: ...";
- a load that fails with an ordinary exception is reported from the child's message through the
  runtime's own mapping (``on_error``), without loading in process at all: a model that fails cleanly
  in one process may read memory that crashes another;
- a clean load lets the caller load in process.

Files that edgeport's own converters and passes have just written (``artifact.step`` set) were made by
the backends' own writers and skip the child: the protection is for files from elsewhere, and a study
would otherwise pay one child per variant.

The outcome is remembered in a marker file under ``$EDGEPORT_CACHE/loaded/`` (default
``~/.cache/edgeport``), so later loads of the same content (each bench, verify, study row) skip
the child and cost only hashing the file. The child costs one interpreter start plus the backend
import, about 0.3–1 s, once per file content and backend version.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edgeport._registry import resolve
from edgeport.errors import BackendError, EdgeportError

__all__ = ["LOAD_TIMEOUT_S", "load_in_child_first"]

LOAD_TIMEOUT_S = 600.0
_OK, _FAILED, _CRASHED = "ok", "failed", "crashed"


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


def _run_child(probe: str, path: Path, variant: str) -> tuple[str, str]:
    """(outcome, detail): ``ok``; ``failed`` and the exception's text; ``crashed`` and what happened."""
    try:
        proc = subprocess.run([sys.executable, "-m", "edgeport.runtimes._isolated", probe, str(path), variant],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=LOAD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return _CRASHED, f"hung (no answer within {LOAD_TIMEOUT_S:.0f} s)"
    said = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode == 0:
        return _OK, ""
    if proc.returncode == 1 and said:
        return _FAILED, said
    if proc.returncode < 0:
        what = _signal_name(-proc.returncode)
    else:
        what = f"exit status {proc.returncode}"
    printed = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines()
               if ln.strip() and not ln.startswith("INFO:")]  # LiteRT's "INFO: Created ... delegate" says nothing
    return _CRASHED, f"crashed ({what})" + (f"\n{printed[-1][:200]}" if printed else "")


def _remember(marker: Path, text: str) -> None:
    """Write the marker atomically; an unwritable cache only means the child runs again next time."""
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, marker)
    except OSError:
        tmp.unlink(missing_ok=True)


def load_in_child_first(backend: str, version: str | None, path: Path, probe: str, variant: str,
                        on_error: Callable[[str], EdgeportError]) -> None:
    """Load ``path`` with ``probe`` (``"module:function"``, called as ``function(path, variant)``) in a child
    process, unless this content's outcome with this backend ``version`` and ``variant`` is remembered.

    Returns when the load succeeds (the caller then loads in process). Raises ``on_error(text)`` when it
    fails with an exception whose text is ``text``, and ``BackendError`` (one line) when the child crashes.
    """
    slug = "-".join(x for x in (backend.lower().replace(" ", ""), version or "unknown", variant) if x)
    marker = _cache_dir() / slug / _sha256(path)
    try:
        outcome, _, detail = marker.read_text(encoding="utf-8").partition("\n")
    except (FileNotFoundError, UnicodeDecodeError):
        outcome, detail = _run_child(probe, path, variant)
        _remember(marker, f"{outcome}\n{detail}")
    if outcome == _FAILED:
        raise on_error(detail)
    if outcome != _OK:
        what, _, printed = detail.partition("\n")
        raise BackendError(f"{backend} {what} while loading {path.name}: the file is malformed or uses a feature "
                           f"{backend} does not handle" + (f" (it printed: {printed})" if printed else ""),
                           fix="re-export the model, or check it with 'edgeport check'")


def _main(argv: list[str]) -> int:
    """Child side: run the probe; the exception's text (if any) is the one thing written to stdout."""
    probe, path, variant = argv
    import faulthandler

    faulthandler.disable()  # a crash is the answer the parent wants, as a signal, not a dump
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # what the backend prints on stdout is not the answer
    try:
        resolve(probe)(Path(path), variant)
    except Exception as exc:  # an ordinary load failure: the parent maps its text as the runtime does
        result.write(" ".join(f"{type(exc).__name__}: {exc}".split()) or type(exc).__name__)
        result.close()
        return 1
    result.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
