"""``diagnose()``: what this installation can do — every runtime, converter and pass, plus GPU providers.

Probing uses ``importlib`` metadata (no backend is imported), except the GPU check, which asks an
installed ONNX Runtime for its execution providers.
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ComponentStatus", "DoctorReport", "diagnose"]


@dataclass(frozen=True)
class ComponentStatus:
    kind: str  # "runtime" | "converter" | "pass" | "gpu"
    name: str
    available: bool
    version: str | None
    extra: str  # the pip extra that installs it ("" when nothing to install)
    detail: str  # what it does, or why it is not available
    missing: tuple[str, ...] = ()


@dataclass
class DoctorReport:
    python: str
    edgeport: str
    platform: str
    components: list[ComponentStatus] = field(default_factory=list)
    kind: str = "doctor"

    @property
    def missing(self) -> list[ComponentStatus]:
        return [c for c in self.components if not c.available and c.kind != "gpu"]


def _runtimes() -> list[ComponentStatus]:
    from edgeport._optional import is_available
    from edgeport.runtimes import RUNTIMES

    found = []
    for cls in RUNTIMES:
        missing = tuple(m for m in cls.requires if not is_available(m))
        detail = cls.description or ", ".join(sorted(f.value for f in cls.formats))
        if not cls.runnable_here:
            detail += " (inspect only: cannot execute on this host)"
        found.append(ComponentStatus("runtime", cls.name, not missing, cls.version() if not missing else None,
                                     cls.extra, detail if not missing else f"needs {', '.join(missing)}", missing))
    return found


def _converters() -> list[ComponentStatus]:
    from edgeport._optional import version_of
    from edgeport.convert import CONVERTERS

    found = []
    for cls in CONVERTERS:
        missing = tuple(cls.missing())
        edge = f"{cls.source.value} → {cls.target.value} ({', '.join(cls.precisions)})"
        version = version_of(cls.requires[0]) if cls.requires and not missing else None
        found.append(ComponentStatus("converter", cls.name, not missing, version, cls.extra,
                                     edge if not missing else f"{edge}; needs {', '.join(missing)}", missing))
    return found


def _passes() -> list[ComponentStatus]:
    try:
        from edgeport.passes import PASSES
    except ImportError:
        return []
    from edgeport._optional import is_available

    found = []
    for cls in PASSES:
        requires = tuple(getattr(cls, "requires", ()) or ())
        missing = tuple(m for m in requires if not is_available(m))
        detail = getattr(cls, "description", "") or cls.name
        found.append(ComponentStatus("pass", cls.name, not missing, None, str(getattr(cls, "extra", "") or ""),
                                     detail if not missing else f"needs {', '.join(missing)}", missing))
    return found


def _nvidia_driver() -> bool:
    return Path("/proc/driver/nvidia/gpus").is_dir() or shutil.which("nvidia-smi") is not None


def _gpu() -> list[ComponentStatus]:
    """TensorRT and ORT CUDA: 'no GPU here' is a normal, clean answer."""
    from edgeport._optional import is_available, version_of

    driver = _nvidia_driver()
    providers: list[str] = []
    if is_available("onnxruntime"):
        try:
            import onnxruntime

            providers = list(onnxruntime.get_available_providers())
        except Exception:  # a broken ORT install is reported by its runtime row
            providers = []
    found = []
    for provider, label in (("CUDAExecutionProvider", "onnxruntime CUDA"),
                            ("TensorrtExecutionProvider", "onnxruntime TensorRT")):
        ok = provider in providers and driver
        if ok:
            detail = f"{provider} ready"
        elif not driver:
            detail = "no GPU here (no NVIDIA driver)"
        else:
            detail = f"{provider} not in this onnxruntime build (install onnxruntime-gpu)"
        found.append(ComponentStatus("gpu", label, ok, version_of("onnxruntime") if ok else None, "gpu", detail))
    trt = is_available("tensorrt")
    detail = "no GPU here (no NVIDIA driver)" if not driver else ("ready" if trt else "tensorrt not installed")
    found.append(ComponentStatus("gpu", "TensorRT", trt and driver, version_of("tensorrt") if trt else None, "gpu",
                                 detail))
    return found


def diagnose() -> DoctorReport:
    from edgeport._version import __version__

    report = DoctorReport(python=platform.python_version(), edgeport=__version__,
                          platform=f"{platform.system()} {platform.machine()}")
    report.components.extend(_runtimes())
    report.components.extend(_converters())
    report.components.extend(_passes())
    report.components.extend(_gpu())
    return report
