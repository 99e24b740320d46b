"""Adding a runtime = one module + one test.

``ENGINE_MODULE`` below is the whole of a new runtime: a stand-in for a TensorRT-engine runtime that
"executes" a tiny engine file (JSON: ``y = scale * x``) with numpy. Writing that ONE file — into the
``edgeport.runtimes`` package (the built-in route: the file name is the registry) or into a package
a distribution declares as an ``edgeport.runtimes`` entry point (the plugin route) — makes it appear
in every table derived from runtime modules: format → runtimes, format → I/O reader (so
``load_artifact`` reads its files), format → device-profile runtime names (so a study's target
check finds it on the Jetson profile, which lists ``tensorrt``), runtime → deploy modules (so a
package's manifest and the on-device selector know what it needs). No other file is edited.

Each route runs in a fresh interpreter, so the process running the tests keeps its own registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import edgeport

ENGINE_MODULE = '''
"""A numpy "engine" runtime: the engine file is JSON ``{"shape": [...], "scale": s}``; it computes y = s * x."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, Runtime


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    doc = json.loads(Path(path).read_text())
    shape = tuple(doc["shape"])
    return (TensorSpec("x", "float32", shape),), (TensorSpec("y", "float32", shape),), {"scale": doc["scale"]}


@RUNTIMES.register
class NumpyEngineRuntime(Runtime):
    name = "numpy-engine"
    formats = frozenset({Format.TENSORRT})
    requires = ("numpy",)
    extra = "test"
    io_readers = {Format.TENSORRT: f"{__name__}:read_io"}
    device = DeviceSupport(profile_names=("tensorrt",), modules=("numpy_engine_rt",))
    priority = 10
    description = "numpy stand-in for a compiled engine"

    def _load(self) -> None:
        self._scale = np.float32(json.loads(self.artifact.path.read_text())["scale"])

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        inputs, outputs, _ = read_io(self.artifact.path)
        return inputs, outputs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"y": feeds["x"] * self._scale}
'''

# Runs in the child: every derived table, through the functions the rest of edgeport calls.
CHILD = '''
import json, sys
from pathlib import Path

import numpy as np

work = Path(sys.argv[1])
if sys.argv[2] == "builtin":
    import edgeport.runtimes
    edgeport.runtimes.__path__.append(str(work / "builtin"))  # == dropping the file into src/edgeport/runtimes/

from edgeport.core.artifact import load_artifact
from edgeport.core.formats import Format
from edgeport.core.target import get_target
from edgeport.deploy.manifest import build_package
from edgeport.deploy.select import NoVariantError, Machine, select
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import deploy_modules, io_reader_for, open_runtime, profile_runtimes_for, runtimes_for
from edgeport.study.candidate import Candidate
from edgeport.study.targets import StudyTarget, check

found = {"names": RUNTIMES.names(), "broken": [b.name for b in RUNTIMES.broken()],
         "runtimes_for": [c.name for c in runtimes_for(Format.TENSORRT)],
         "io_reader": io_reader_for(Format.TENSORRT),
         "profile_names": list(profile_runtimes_for(Format.TENSORRT)),
         "deploy_modules": list(deploy_modules("numpy-engine"))}

engine = work / "double.engine"
engine.write_text(json.dumps({"shape": [1, 4], "scale": 2.0}))
art = load_artifact(engine)
found["format"] = art.format.value
found["inputs"] = [[s.name, s.dtype, list(s.shape)] for s in art.inputs]
found["metadata"] = dict(art.metadata)
with open_runtime(art) as rt:
    found["ran_on"] = rt.name
    found["y"] = rt.run({"x": np.arange(4, dtype=np.float32).reshape(1, 4)})["y"].tolist()

cand = Candidate(key="engine", build="engine", format="tensorrt", precision="fp32", runtime="numpy-engine", threads=1)
for target_id in ("jetson-orin-nano", "rpi5"):
    fit = check(StudyTarget(target_id, get_target(target_id), False), art, cand)
    found[target_id] = [fit.ok, fit.verdict]

study = {"model": "double", "candidates": [dict(key="engine", status="ok", format="tensorrt", precision="fp32",
                                                runtime="numpy-engine", threads=1, artifact=str(engine))],
         "recommendations": [{"target": "jetson-orin-nano", "key": "engine"}]}
package = build_package(study, work / "pkg")
variant = package.variants[0]
found["manifest_modules"] = variant["runtime_modules"]
sys.path.insert(0, str(work / "device"))  # the device has the engine runtime's package installed
found["selected"] = select(Path(package.manifest)).variant["id"]
bare = Machine(arch="aarch64", os="linux", cpu_features=frozenset(), ram_bytes=8 << 30, runtimes=frozenset())
try:
    select(Path(package.manifest), machine=bare)
except NoVariantError as exc:
    found["refused"] = str(exc)
heavy = {"torch", "onnx", "onnxruntime", "tensorflow", "openvino", "tvm", "executorch", "coremltools", "jax",
         "ai_edge_litert", "keras"}
found["heavy"] = sorted({m.split(".")[0] for m in sys.modules} & heavy)
print(json.dumps(found))
'''


def _install_as_plugin(site: Path) -> None:
    pkg = site / "edgeport_numpy_engine"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "numpy_engine.py").write_text(ENGINE_MODULE)
    dist = site / "edgeport_numpy_engine-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: edgeport-numpy-engine\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[edgeport.runtimes]\nnumpy-engine = edgeport_numpy_engine.numpy_engine:NumpyEngineRuntime\n")


@pytest.mark.parametrize("route", ["builtin", "plugin"])
def test_one_new_module_appears_in_every_derived_table(tmp_path: Path, route: str) -> None:
    (tmp_path / "device").mkdir()
    (tmp_path / "device" / "numpy_engine_rt.py").write_text("")  # the device-side runtime package
    site = tmp_path / "site"
    if route == "builtin":
        (tmp_path / "builtin").mkdir()
        (tmp_path / "builtin" / "numpy_engine.py").write_text(ENGINE_MODULE)
        module = "edgeport.runtimes.numpy_engine"
    else:
        _install_as_plugin(site)
        module = "edgeport_numpy_engine.numpy_engine"
    src = str(Path(edgeport.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, str(site), os.environ.get("PYTHONPATH", "")]),
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path), route], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])

    assert "numpy-engine" in found["names"] and found["broken"] == []
    assert found["runtimes_for"] == ["numpy-engine"]
    assert found["io_reader"] == f"{module}:read_io"
    assert found["format"] == "tensorrt"
    assert found["inputs"] == [["x", "float32", [1, 4]]] and found["metadata"] == {"scale": 2.0}
    assert found["ran_on"] == "numpy-engine" and found["y"] == [[0.0, 2.0, 4.0, 6.0]]
    assert found["profile_names"] == ["tensorrt"]
    ok, verdict = found["jetson-orin-nano"]
    assert ok and verdict.startswith("tensorrt runs tensorrt on jetson-orin-nano")
    ok, verdict = found["rpi5"]
    assert not ok and "rpi5 has no runtime for tensorrt" in verdict
    assert found["deploy_modules"] == ["numpy_engine_rt"] and found["manifest_modules"] == ["numpy_engine_rt"]
    assert found["selected"] == "jetson-orin-nano:engine"
    assert "runtime numpy_engine_rt is not installed" in found["refused"]
    assert found["heavy"] == []
