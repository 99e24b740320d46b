"""Cross-check the NNAPI / Core ML rule tables against ONNX Runtime's own mobile usability checker.

Runs ``python -m onnxruntime.tools.check_onnx_model_mobile_usability MODEL`` (the real tool, in a child
process), reads its "N partitions with a total of A/B nodes can be handled by the X EP" lines and
compares them with ``analysis.compat.analyze`` restricted to the matching execution path.
ORT's checker judges op types (and fixed input shapes) only; disagreements are reported, not hidden.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CrossCheck", "EpComparison", "ort_crosscheck"]

_EPS = {"NNAPI": "nnapi", "CoreML NeuralNetwork": "coreml-nn", "CoreML MLProgram": "coreml-mlprogram"}
_LINE = re.compile(r"(\d+) partitions with a total of (\d+)/(\d+) nodes can be handled by the (.+?) EP")


@dataclass
class EpComparison:
    ep: str
    path: str
    ort_partitions: int
    ort_supported: int
    ort_nodes: int
    ours_partitions: int
    ours_supported: int
    ours_nodes: int

    @property
    def agrees(self) -> bool:
        return (self.ort_partitions, self.ort_supported) == (self.ours_partitions, self.ours_supported)


@dataclass
class CrossCheck:
    model: str
    comparisons: list[EpComparison] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    raw: str = ""


def run_ort_checker(model: str | Path) -> tuple[dict[str, tuple[int, int, int]], str]:
    """ORT's verdicts per EP name: (partitions, supported nodes, nodes) for the first (as-is) analysis."""
    proc = subprocess.run([sys.executable, "-m", "onnxruntime.tools.check_onnx_model_mobile_usability", str(model)],
                          capture_output=True, text=True, timeout=300)
    text = proc.stdout + proc.stderr
    found: dict[str, tuple[int, int, int]] = {}
    for m in _LINE.finditer(text):
        found.setdefault(m.group(4), (int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return found, text


def ort_crosscheck(model: str | Path, target: Any = "pixel-8") -> CrossCheck:
    from edgeport.analysis.compat import analyze

    found, text = run_ort_checker(model)
    result = CrossCheck(str(model), raw=text)
    for ep, path in _EPS.items():
        if ep not in found:
            continue
        parts, supported, nodes = found[ep]
        rep = analyze(model, target, paths=[path])
        cmp = EpComparison(ep, path, parts, supported, nodes, rep.partitions, rep.delegated_nodes, rep.total_nodes)
        result.comparisons.append(cmp)
        if not cmp.agrees:
            ours = {f.op_type for f in rep.fallbacks}
            result.disagreements.append(
                f"{ep}: ORT {supported}/{nodes} nodes in {parts} partitions, edgeport {rep.delegated_nodes}/"
                f"{rep.total_nodes} in {rep.partitions} (edgeport rejects: {sorted(ours)})")
    return result
