"""The machine conditions a measurement was taken under, recorded with every benchmark result.

Reads only cheap, always-present sources (``/proc/cpuinfo``, ``/proc/loadavg``, ``/sys`` cpufreq,
``platform``); anything unreadable is recorded as unknown rather than guessed.

ISA flags are the instruction-set extensions that decide which kernels a runtime can use
(AVX-512, VNNI, BF16, AMX on x86; NEON/ASIMD, dot product, i8mm, SVE on Arm), named as the
Linux kernel names them in ``/proc/cpuinfo``. Where there is no ``/proc/cpuinfo`` (macOS,
Windows) they come from NumPy's run-time CPU detection, and ``isa_source`` says which. The
governor is the cpufreq scaling governor of CPU 0; where cpufreq is absent (most VMs) or
unreadable it is ``"unavailable"`` and ``governor_note`` says why.

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

__all__ = ["GOVERNOR_UNAVAILABLE", "LOAD_THRESHOLD", "Conditions", "capture", "finish", "governor", "isa_flags",
           "load_average", "usable_cores"]

LOAD_THRESHOLD = 0.5  # 1-min load average per usable core above which a machine counts as loaded
FOREIGN_THRESHOLD = 0.25  # cores kept busy by other processes, per usable core, above which it is loaded
SAMPLE_S = 0.25
ISA_FLAGS_OF_INTEREST = (
    # x86: the AVX2/FMA baseline, AVX-512 (+ VNNI int8 dot products, BF16, FP16), AVX-VNNI, AMX tiles
    "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",
    "amx_tile", "amx_int8", "amx_bf16", "amx_fp16",
    # Arm: neon (32-bit kernels) / asimd (AArch64 NEON), fp16 arithmetic, dot product, int8 matmul, BF16, SVE, SME
    "neon", "asimd", "asimdhp", "asimddp", "i8mm", "bf16", "sve", "sve2", "sme",
)
GOVERNOR_UNAVAILABLE = "unavailable"
# NumPy's run-time detection names → the kernel's names (for machines without /proc/cpuinfo)
_NUMPY_NAMES = {"AVX2": "avx2", "FMA3": "fma", "AVX512F": "avx512f", "AVX512BW": "avx512bw", "AVX512VL": "avx512vl",
                "AVX512VNNI": "avx512_vnni", "AVX512BF16": "avx512_bf16", "AVX512FP16": "avx512_fp16",
                "NEON": "neon", "ASIMD": "asimd", "ASIMDHP": "asimdhp", "ASIMDDP": "asimddp", "SVE": "sve"}
_CPUINFO = Path("/proc/cpuinfo")
_STAT = Path("/proc/stat")
_CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")


@dataclass(frozen=True)
class Conditions:
    cpu_model: str
    machine: str  # x86_64, aarch64...
    isa_flags: tuple[str, ...]  # kernel names, in ISA_FLAGS_OF_INTEREST order
    cores: int  # logical CPUs on the machine
    usable_cores: int  # CPUs this process may run on (affinity / cgroup-visible)
    threads: int | None  # threads the measured runtime was asked to use
    governor: str  # cpufreq scaling governor of CPU 0, or GOVERNOR_UNAVAILABLE
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
    isa_source: str = "/proc/cpuinfo"  # or "numpy run-time detection", or "unknown"
    governor_note: str = ""  # why the governor is unavailable (empty when it was read)

    def summary_line(self) -> str:
        load = "?" if self.load_before is None else f"{self.load_before[0]:.2f}"
        after = "?" if self.load_after is None else f"{self.load_after[0]:.2f}"
        busy = "" if self.foreign_cpu_before is None else f"; other processes busy {self.foreign_cpu_before:.2f} cores"
        freq = f", {self.frequency_mhz:.0f} MHz" if self.frequency_mhz else ""
        gov = f", governor {self.governor}"
        flags = " ".join(self.isa_flags) or "no flags of interest"
        text = (f"{self.cpu_model} ({self.machine}, {flags}), {self.usable_cores}/{self.cores} cores{freq}{gov}; "
                f"load {load} before, {after} after{busy}")
        return text + (f" — LOADED: {self.loaded_reason}" if self.loaded else "")


def _cpuinfo_fields() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo (empty when there is none)."""
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
    return _isa(info if info is not None else _cpuinfo_fields())[0]


def _isa(info: dict[str, str]) -> tuple[tuple[str, ...], str]:
    """(flags, where they came from): x86 kernels say ``flags``, Arm kernels ``features``."""
    listed = info.get("flags") or info.get("features")
    if listed is not None:
        present = set(listed.lower().split())
        return tuple(f for f in ISA_FLAGS_OF_INTEREST if f in present), str(_CPUINFO)
    try:  # no /proc/cpuinfo (macOS, Windows): what NumPy found the CPU and OS to support
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features  # NumPy 1.x
        except ImportError:
            return (), "unknown"
    present = {_NUMPY_NAMES[k] for k, on in features.items() if on and k in _NUMPY_NAMES}
    return tuple(f for f in ISA_FLAGS_OF_INTEREST if f in present), "numpy run-time detection"


def governor() -> tuple[str, str]:
    """(the cpufreq scaling governor of CPU 0, or ``"unavailable"``; why it is unavailable, else "")."""
    path = _CPUFREQ / "scaling_governor"
    if not _CPUFREQ.is_dir():
        if platform.system() != "Linux":
            return GOVERNOR_UNAVAILABLE, f"no cpufreq sysfs on {platform.system()}"
        return GOVERNOR_UNAVAILABLE, (f"{_CPUFREQ} does not exist: the kernel has no frequency-scaling driver "
                                      "for this CPU (usual in a VM)")
    try:
        value = path.read_text().strip()
    except OSError as exc:
        return GOVERNOR_UNAVAILABLE, f"cannot read {path}: {exc.strerror or exc}"
    if not value:
        return GOVERNOR_UNAVAILABLE, f"{path} is empty"
    return value, ""


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
    flags, isa_source = _isa(info)
    gov, gov_note = governor()
    return Conditions(
        cpu_model=_cpu_model(info), machine=platform.machine(), isa_flags=flags, cores=cores,
        usable_cores=usable, threads=threads, governor=gov, governor_note=gov_note, isa_source=isa_source,
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

