"""The agent imports what a device has: NumPy, the standard library, the runtime modules and the harness —
no ML framework, no onnx tooling, no analysis/conversion/study code."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_PACKAGES = ("torch", "onnx", "onnxruntime", "tensorflow", "openvino", "tvm", "executorch", "coremltools",
                      "jax", "keras", "ai_edge_litert", "nncf", "onnxslim", "scipy", "sklearn", "rich", "typer")
FORBIDDEN_EDGEPORT = ("edgeport.analysis", "edgeport.convert", "edgeport.compress", "edgeport.study",
                      "edgeport.passes", "edgeport.verify", "edgeport.graph.onnx_reader")

_PROBE = """
import json, sys
import edgeport.agent.serve, edgeport.agent.server
from edgeport.agent.device import describe_device
describe_device()  # lists every runtime module (the registry imports each one)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_agent_imports_no_framework_and_no_analysis_code():
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    tops = {m.split(".")[0] for m in modules}
    assert sorted(tops & set(FORBIDDEN_PACKAGES)) == []
    assert [m for m in modules if m.startswith(FORBIDDEN_EDGEPORT)] == []
    assert "edgeport.runtimes.onnxruntime" in modules and "edgeport.bench.harness" in modules  # the probe saw them
