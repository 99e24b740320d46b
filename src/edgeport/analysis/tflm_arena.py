"""The smallest tensor arena the real TFLite Micro interpreter accepts, found by bisection.

Used to validate ``analysis.memory``'s estimate. Each probe runs in a forked child process: TFLite
Micro aborts the whole process for some arena sizes (a failed ``Prepare`` can leave temp buffers
behind and trip a check), so a probe must not share the caller's process.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._optional import require

__all__ = ["TflmArena", "run_tflm", "tflm_min_arena"]


@dataclass
class TflmArena:
    model: str
    min_arena_bytes: int
    probes: int
    outputs: list[Any] = field(default_factory=list)  # outputs at the minimum arena (raw, quantised)


def run_tflm(model: bytes, arena_size: int, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Run one inference with TFLite Micro in this process; raises when the arena is too small."""
    rt = require("tflite_micro.python.tflite_micro.runtime", "tflite", "running TFLite Micro")
    it = rt.Interpreter.from_bytes(model, arena_size=arena_size)
    for i, x in enumerate(feeds):
        it.set_input(x, i)
    it.invoke()
    return [np.array(it.get_output(i)) for i in range(_num_outputs(model))]


def _num_outputs(model: bytes) -> int:
    schema = require("tflite_micro.tensorflow.lite.micro.python.schema_py_generated", "tflite",
                     "reading a TFLite model")
    return int(schema.Model.GetRootAs(model, 0).Subgraphs(0).OutputsLength())


def _probe(model: bytes, size: int, feeds: list[np.ndarray], conn: Any) -> None:
    import faulthandler
    import os

    faulthandler.disable()  # a segfault in TFLite Micro is a failed probe, not a crash to report
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # TFLM prints allocation failures on stderr
    try:
        conn.send(("ok", run_tflm(model, size, feeds)))
    except Exception as exc:  # too small: TFLM raises RuntimeError
        from edgeport.errors import raised_in

        # anything not from TFLite Micro is a bug: the parent raises it with this traceback
        conn.send(("fail", str(exc)) if raised_in("tflite_micro")(exc) else ("bug", traceback.format_exc()))


def _try(model: bytes, size: int, feeds: list[np.ndarray]) -> list[np.ndarray] | None:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_probe, args=(model, size, feeds, child))
    p.start()
    child.close()
    result, status, payload = None, "timeout", None
    if parent.poll(60):
        try:
            status, payload = parent.recv()
            result = payload if status == "ok" else None
        except EOFError:  # the child aborted
            status, result = "aborted", None
    p.join(60)
    parent.close()
    if result is None and status == "bug":
        from edgeport.errors import InternalError

        raise InternalError("the TFLite Micro arena probe failed", traceback=str(payload))
    return result


def tflm_min_arena(model: str | Path | bytes, feeds: list[np.ndarray], *, upper: int = 1 << 24) -> TflmArena:
    """Bisect the arena size between 16 bytes and ``upper`` for the smallest that runs ``feeds``."""
    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    name = str(model) if isinstance(model, (str, Path)) else "<bytes>"
    best = _try(data, upper, feeds)
    if best is None:
        from edgeport.errors import BackendError

        raise BackendError(f"{name}: TFLite Micro cannot run this model even with a {upper}-byte arena",
                           fix="check the model uses only TFLite Micro builtin ops (edgeport check --target cortex-m7)")
    lo, hi, probes = 16, upper, 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        out = _try(data, mid, feeds)
        probes += 1
        if out is None:
            lo = mid
        else:
            hi, best = mid, out
    return TflmArena(name, hi, probes, best)
