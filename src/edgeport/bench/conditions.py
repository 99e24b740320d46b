"""The machine conditions a measurement was taken under, recorded with every benchmark result.

Reads only cheap, always-present sources (``/proc/cpuinfo``, ``/proc/loadavg``, ``/sys`` cpufreq,
``platform``); anything unreadable is recorded as ``None`` rather than guessed. A run is flagged
``loaded`` when the 1-minute load average before it exceeds ``LOAD_THRESHOLD`` × usable cores:
its numbers are then not comparable with a quiet machine's and must not be mixed in silently.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["LOAD_THRESHOLD", "Conditions", "capture", "finish", "isa_flags", "load_average", "usable_cores"]

LOAD_THRESHOLD = 0.5  # 1-min load average per usable core above which a machine counts as loaded
ISA_FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
                         "neon", "asimd", "asimddp", "i8mm", "bf16", "sve")
_CPUINFO = Path("/proc/cpuinfo")
_CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")


@dataclass(frozen=True)
class Conditions:
    cpu_model: str
    machine: str  # x86_64, aarch64...
    isa_flags: tuple[str, ...]
    cores: int  # logical CPUs on the machine
    usable_cores: int  # CPUs this process may run on (affinity / cgroup-visible)
    threads: int | None  # threads the measured runtime was asked to use
    governor: str | None
    frequency_mhz: float | None
    load_before: tuple[float, float, float] | None
    load_after: tuple[float, float, float] | None
    loaded: bool
    loaded_reason: str
    python: str
    edgeport: str
    os: str
    versions: dict[str, str | None] = field(default_factory=dict)  # runtime/backend versions

    def summary_line(self) -> str:
        load = "?" if self.load_before is None else f"{self.load_before[0]:.2f}"
        after = "?" if self.load_after is None else f"{self.load_after[0]:.2f}"
        freq = f", {self.frequency_mhz:.0f} MHz" if self.frequency_mhz else ""
        gov = f", governor {self.governor}" if self.governor else ""
        flags = " ".join(self.isa_flags) or "no flags of interest"
        text = (f"{self.cpu_model} ({self.machine}, {flags}), {self.usable_cores}/{self.cores} cores{freq}{gov}; "
                f"load {load} before, {after} after")
        return text + (f" — LOADED: {self.loaded_reason}" if self.loaded else "")


def _cpuinfo_fields() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        text = _CPUINFO.read_text(errors="replace")
    except OSError:
        return found
    for line in text.splitlines():
        if not line.strip():
            if found:
                break  # first processor block is enough
            continue
        key, _, value = line.partition(":")
        found.setdefault(key.strip().lower(), value.strip())
    return found


def isa_flags(info: dict[str, str] | None = None) -> tuple[str, ...]:
    """The instruction-set extensions that matter for inference speed, as the kernel reports them."""
    info = info if info is not None else _cpuinfo_fields()
    present = set((info.get("flags") or info.get("features") or "").split())
    return tuple(f for f in ISA_FLAGS_OF_INTEREST if f in present)


def _cpu_model(info: dict[str, str]) -> str:
    for key in ("model name", "hardware", "cpu model", "processor"):
        value = info.get(key)
        if value and not value.isdigit():
            return value
    return platform.processor() or platform.machine() or "unknown"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _frequency_mhz(info: dict[str, str]) -> float | None:
    khz = _read(_CPUFREQ / "scaling_cur_freq")
    if khz and khz.isdigit():
        return int(khz) / 1000.0
    mhz = info.get("cpu mhz")
    try:
        return float(mhz) if mhz else None
    except ValueError:
        return None


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def capture(threads: int | None = None, versions: dict[str, Any] | None = None, *,
            threshold: float = LOAD_THRESHOLD) -> Conditions:
    """Conditions before a run (the ``loaded`` flag is decided here, from the load before)."""
    from edgeport import __version__

    info = _cpuinfo_fields()
    cores = os.cpu_count() or 1
    usable = usable_cores()
    before = load_average()
    loaded, reason = False, ""
    if before is not None and before[0] > threshold * usable:
        loaded = True
        reason = f"1-min load average {before[0]:.2f} > {threshold:g} × {usable} usable cores"
    return Conditions(
        cpu_model=_cpu_model(info), machine=platform.machine(), isa_flags=isa_flags(info), cores=cores,
        usable_cores=usable, threads=threads, governor=_read(_CPUFREQ / "scaling_governor"),
        frequency_mhz=_frequency_mhz(info), load_before=before, load_after=None, loaded=loaded,
        loaded_reason=reason, python=platform.python_version(), edgeport=__version__,
        os=f"{platform.system()} {platform.release()}",
        versions={str(k): (None if v is None else str(v)) for k, v in (versions or {}).items()})


def finish(before: Conditions, versions: dict[str, Any] | None = None) -> Conditions:
    """The same conditions with the load average after the run (and any versions learnt during it)."""
    merged = dict(before.versions)
    merged.update({str(k): (None if v is None else str(v)) for k, v in (versions or {}).items()})
    return replace(before, load_after=load_average(), versions=merged)

