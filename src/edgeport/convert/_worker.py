"""Child-process side of an isolated conversion step. Protocol: JSON request on stdin, JSON reply file.

Run as ``python -m edgeport.convert._worker REPLY_PATH``. The parent owns time limits; a native
crash shows up there as a non-zero exit status with no reply.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main() -> int:
    reply_path = Path(sys.argv[1])
    request = json.loads(sys.stdin.read())
    stage = "setup"
    try:
        from edgeport.convert import CONVERTERS
        from edgeport.core.artifact import load_artifact
        from edgeport.core.formats import Format
        from edgeport.core.tensors import spec_from_dict, spec_to_dict
        from edgeport.data.datasets import load_npz
        from edgeport.errors import EdgeportError

        conv_cls = CONVERTERS.get(request["converter"])
        options = conv_cls.Options(**request["options"])
        source = load_artifact(request["source"], format=Format(request["format"]))
        if request.get("source_inputs"):
            source = source.with_specs(tuple(spec_from_dict(s) for s in request["source_inputs"]),
                                       tuple(spec_from_dict(s) for s in request["source_outputs"]))
        calibration = load_npz(request["calibration"]) if request.get("calibration") else None
        stage = "convert"
        result = conv_cls().convert(source, Path(request["out"]), options, calibration)
        reply = {"ok": True, "path": str(result.path), "format": result.format.value,
                 "inputs": [spec_to_dict(s) for s in result.inputs],
                 "outputs": [spec_to_dict(s) for s in result.outputs], "metadata": dict(result.metadata)}
    except EdgeportError as exc:
        reply = {"ok": False, "user_error": True, "type": type(exc).__name__, "message": exc.cause,
                 "fix": exc.fix, "stage": stage, "exit_code": exc.exit_code,
                 "module": getattr(exc, "module", None), "extra": getattr(exc, "extra", None)}
    except BaseException as exc:  # report everything: the parent turns it into a ConversionError
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        reply = {"ok": False, "user_error": False, "type": type(exc).__name__,
                 "message": (lines[0] if lines else type(exc).__name__)[:500], "stage": stage,
                 "traceback": traceback.format_exc()[-4000:]}
    reply_path.write_text(json.dumps(reply, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
