"""The machine conditions a measurement was taken under, recorded with every benchmark result.

Reads only cheap, always-present sources (``/proc/cpuinfo``, ``/proc/loadavg``, ``/sys`` cpufreq,
``platform``); anything unreadable is recorded as ``None`` rather than guessed.

A run is flagged ``loaded`` when *other* processes kept more than ``FOREIGN_THRESHOLD`` × usable
cores busy during a short sample just before it (``/proc/stat`` busy + steal time minus this
process's own CPU time). The load average is recorded too, but it cannot tell this process's own
preceding work (a conversion, an earlier table) from someone else's, so it only decides where
``/proc/stat`` is unreadable (``LOAD_THRESHOLD`` × usable cores). A loaded run's numbers are not
comparable with a quiet machine's and must not be mixed in silently.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["LOAD_THRESHOLD", "Conditions", "capture", "finish", "isa_flags", "load_average", "usable_cores"]

LOAD_THRESHOLD = 0.5  # 1-min load average per usable core above which a machine counts as loaded
FOREIGN_THRESHOLD = 0.25  # cores kept busy by other processes, per usable core, above which it is loaded
SAMPLE_S = 0.25
ISA_FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
                         "neon", "asimd", "asimddp", "i8mm", "bf16", "sve")
_CPUINFO = Path("/proc/cpuinfo")
_STAT = Path("/proc/stat")
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
    foreign_cpu_before: float | None  # cores kept busy by other processes just before the run
    foreign_cpu_after: float | None
    loaded: bool
    loaded_reason: str
    python: str
    edgeport: str
    os: str
    versions: dict[str, str | None] = field(default_factory=dict)  # runtime/backend versions

    def summary_line(self) -> str:
        load = "?" if self.load_before is None else f"{self.load_before[0]:.2f}"
        after = "?" if self.load_after is None else f"{self.load_after[0]:.2f}"
        busy = "" if self.foreign_cpu_before is None else f"; other processes busy {self.foreign_cpu_before:.2f} cores"
        freq = f", {self.frequency_mhz:.0f} MHz" if self.frequency_mhz else ""
        gov = f", governor {self.governor}" if self.governor else ""
        flags = " ".join(self.isa_flags) or "no flags of interest"
        text = (f"{self.cpu_model} ({self.machine}, {flags}), {self.usable_cores}/{self.cores} cores{freq}{gov}; "
                f"load {load} before, {after} after{busy}")
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


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy incl. steal, total) jiffies over all CPUs, from /proc/stat."""
    try:
        fields = [int(v) for v in _STAT.read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def foreign_cpu(window_s: float = SAMPLE_S) -> float | None:
    """Cores kept busy by processes other than this one over ``window_s`` (steal time included)."""
    start = _cpu_jiffies()
    if start is None:
        return None
    own0 = os.times()
    time.sleep(window_s)
    end = _cpu_jiffies()
    own1 = os.times()
    if end is None or end[1] <= start[1]:
        return None
    cpus = os.cpu_count() or 1
    busy = (end[0] - start[0]) / (end[1] - start[1]) * cpus  # cores busy, all processes
    wall = own1.elapsed - own0.elapsed
    own = ((own1.user - own0.user) + (own1.system - own0.system)) / wall if wall > 0 else 0.0
    return max(0.0, busy - own)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def capture(threads: int | None = None, versions: dict[str, Any] | None = None, *,
            threshold: float = LOAD_THRESHOLD, foreign_threshold: float = FOREIGN_THRESHOLD,
            sample_s: float = SAMPLE_S) -> Conditions:
    """Conditions before a run (the ``loaded`` flag is decided here, from other processes' CPU use)."""
    from edgeport._version import __version__

    info = _cpuinfo_fields()
    cores = os.cpu_count() or 1
    usable = usable_cores()
    before = load_average()
    foreign = foreign_cpu(sample_s) if sample_s > 0 else None
    loaded, reason = False, ""
    if foreign is not None:
        if foreign > foreign_threshold * usable:
            loaded = True
            reason = (f"other processes kept {foreign:.2f} cores busy (> {foreign_threshold:g} × {usable} usable "
                      f"cores); 1-min load average {before[0] if before else float('nan'):.2f}")
    elif before is not None and before[0] > threshold * usable:
        loaded = True
        reason = f"1-min load average {before[0]:.2f} > {threshold:g} × {usable} usable cores"
    return Conditions(
        cpu_model=_cpu_model(info), machine=platform.machine(), isa_flags=isa_flags(info), cores=cores,
        usable_cores=usable, threads=threads, governor=_read(_CPUFREQ / "scaling_governor"),
        frequency_mhz=_frequency_mhz(info), load_before=before, load_after=None, foreign_cpu_before=foreign,
        foreign_cpu_after=None, loaded=loaded,
        loaded_reason=reason, python=platform.python_version(), edgeport=__version__,
        os=f"{platform.system()} {platform.release()}",
        versions={str(k): (None if v is None else str(v)) for k, v in (versions or {}).items()})


def finish(before: Conditions, versions: dict[str, Any] | None = None, *, sample_s: float = SAMPLE_S) -> Conditions:
    """The same conditions with the load after the run (and any versions learnt during it)."""
    merged = dict(before.versions)
    merged.update({str(k): (None if v is None else str(v)) for k, v in (versions or {}).items()})
    return replace(before, load_after=load_average(), foreign_cpu_after=foreign_cpu(sample_s) if sample_s > 0 else None,
                   versions=merged)

