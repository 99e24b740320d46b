"""Child-process side of an isolated conversion step. Protocol: JSON request on stdin, JSON reply file.

Run as ``python -m edgeport.convert._worker REPLY_PATH``. The parent owns time limits and has already
validated the options; a native crash shows up there as a non-zero exit status with no reply.

The reply says which of three things happened: a user error (an ``EdgeportError``: its class, cause
and fix), an internal error (any other exception: a bug in edgeport or an unmapped backend
exception — its full traceback goes back so the parent can show it), or an interruption (a
``KeyboardInterrupt`` or a backend calling ``sys.exit``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import traceback
from pathlib import Path
from typing import Any

TRACEBACK_LIMIT = 20_000  # characters of the child's traceback sent back (the end, where the error is)


def main() -> int:
    reply_path = Path(sys.argv[1])
    request = json.loads(sys.stdin.read())
    stage = "setup"
    reply: dict[str, Any]
    try:
        from edgeport.convert import CONVERTERS
        from edgeport.core.artifact import load_artifact
        from edgeport.core.formats import Format
        from edgeport.core.tensors import spec_from_dict, spec_to_dict
        from edgeport.data.datasets import load_npz

        conv_cls = CONVERTERS.get(request["converter"])
        options = conv_cls.Options(**request["options"])  # validated by the parent before this process started
        source = load_artifact(request["source"], format=Format(request["format"]))
        if request.get("source_inputs"):
            source = source.with_specs(tuple(spec_from_dict(s) for s in request["source_inputs"]),
                                       tuple(spec_from_dict(s) for s in request["source_outputs"]))
        if request.get("input_values"):  # constant inputs the user gave: a converter may bake them in
            source = dataclasses.replace(source, metadata={**source.metadata, "input_values": request["input_values"]})
        calibration = load_npz(request["calibration"]) if request.get("calibration") else None
        stage = "convert"
        result = conv_cls().convert(source, Path(request["out"]), options, calibration)
        reply = {"ok": True, "path": str(result.path), "format": result.format.value,
                 "inputs": [spec_to_dict(s) for s in result.inputs],
                 "outputs": [spec_to_dict(s) for s in result.outputs], "metadata": dict(result.metadata)}
    except Exception as exc:
        from edgeport.errors import EdgeportError

        if isinstance(exc, EdgeportError):
            reply = {"ok": False, "kind": "user", "type": type(exc).__name__, "message": exc.cause,
                     "fix": exc.fix, "stage": stage, "exit_code": exc.exit_code,
                     "module": getattr(exc, "module", None), "extra": getattr(exc, "extra", None)}
        else:
            reply = {"ok": False, "kind": "internal", "type": type(exc).__name__, "message": _first_line(exc),
                     "stage": stage, "traceback": traceback.format_exc()[-TRACEBACK_LIMIT:]}
    except BaseException as exc:  # KeyboardInterrupt, or a backend that calls sys.exit()
        reply = {"ok": False, "kind": "interrupted", "type": type(exc).__name__, "message": _first_line(exc),
                 "stage": stage}
    reply_path.write_text(json.dumps(reply, default=str))
    return 0


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:500]


if __name__ == "__main__":
    sys.exit(main())
