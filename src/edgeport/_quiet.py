"""Backend chatter: what edgeport keeps off the terminal unless asked to be verbose.

The backends edgeport drives talk on their own: TensorFlow and glog print INFO lines,
torchao and torch log warnings at import, and native code (ExecuTorch's thread pool and
cpuinfo probe, the LiteRT XNNPACK delegate) writes straight to file descriptor 2, where no
Python setting reaches. Each kind is silenced at its source:

- ``quiet_backends()``: environment knobs read when a backend's native library loads
  (set only where the user has not set them, so their own choice wins; child processes
  inherit them) and the levels of the backends' Python loggers. The CLI calls it at start.
- ``native_output()``: a context manager around one noisy native call; it points fd 2 at a
  temporary file while the call runs, and writes what was captured back to the terminal
  when the call fails.

Verbose mode (``edgeport --verbose``, or ``EDGEPORT_VERBOSE=1``, which child processes
inherit) turns both off: every backend line is shown as the backend wrote it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["ENV_KNOBS", "ENV_VAR", "LOGGERS", "native_output", "quiet_backends", "set_verbose", "verbose"]

ENV_VAR = "EDGEPORT_VERBOSE"

# read by the native libraries when they load: set before any backend is imported
ENV_KNOBS: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow C++: errors only (no "I tensorflow/..." / "W ..." lines)
    "GLOG_minloglevel": "2",  # glog users (TensorFlow's XLA, some converters)
    "GRPC_VERBOSITY": "ERROR",  # grpc, loaded by TensorFlow
    "TORCH_CPP_LOG_LEVEL": "ERROR",  # c10 logging in PyTorch's C++ core
}

# Python loggers of backends that warn about things a user of edgeport cannot act on
# (torchao: CUDA kernels it cannot load on a CPU machine; torch's pytree: a deprecation
# inside torchao itself).
LOGGERS: tuple[str, ...] = ("torchao", "torch.utils._pytree", "tensorflow", "absl", "nncf", "coremltools")

_capture_lock = threading.RLock()  # fd 2 is process-wide: one capture at a time (nesting is fine)


def verbose() -> bool:
    """True when backend output should be shown (``--verbose`` or ``EDGEPORT_VERBOSE=1``)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def set_verbose(on: bool) -> None:
    """Switch verbose mode for this process and the child processes it starts."""
    if on:
        os.environ[ENV_VAR] = "1"
    else:
        os.environ.pop(ENV_VAR, None)


def quiet_backends() -> None:
    """Set the environment knobs and backend logger levels that silence chatter (no-op when verbose)."""
    if verbose():
        return
    import logging  # here, not at the top: the CLI imports this module before printing --help

    for key, value in ENV_KNOBS.items():
        os.environ.setdefault(key, value)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.ERROR:
            logger.setLevel(logging.ERROR)


@contextmanager
def native_output(fds: tuple[int, ...] = (2,)) -> Iterator[None]:
    """Capture what native code writes to ``fds`` (default: stderr) while the block runs.

    The capture is dropped when the block succeeds and written back when it raises, so a
    failure still shows what the backend said. In verbose mode nothing is captured. Only
    stderr is captured by default: stdout carries edgeport's own progress display.
    """
    if verbose():
        yield
        return
    import tempfile

    with _capture_lock:
        _flush()
        saved: list[tuple[int, int, IO[bytes]]] = []
        try:
            for fd in fds:
                tmp = tempfile.TemporaryFile()
                saved.append((fd, os.dup(fd), tmp))
                os.dup2(tmp.fileno(), fd)
        except OSError:  # no such descriptor (embedded interpreters): run the call uncaptured
            _restore(saved, replay=False)
            yield
            return
        ok = False
        try:
            yield
            ok = True
        finally:
            _flush()
            _restore(saved, replay=not ok)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _restore(saved: list[tuple[int, int, IO[bytes]]], *, replay: bool) -> None:
    for fd, original, tmp in reversed(saved):
        os.dup2(original, fd)
        os.close(original)
        try:
            if replay:
                tmp.seek(0)
                data = tmp.read()
                if data:
                    os.write(fd, data)
        finally:
            tmp.close()
