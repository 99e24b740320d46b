"""What the device is: the harness's conditions record plus per-CPU frequencies, thermal zones, memory and
the runtimes installed there (the agent's ``describe`` job)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from edgeport.bench import conditions as cond

__all__ = ["describe_device", "installed_runtimes"]

_CPU = Path("/sys/devices/system/cpu")
_THERMAL = Path("/sys/class/thermal")
_MEMINFO = Path("/proc/meminfo")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _khz_to_mhz(text: str | None) -> float | None:
    return int(text) / 1000.0 if text and text.isdigit() else None


def frequencies() -> list[dict[str, Any]]:
    """Current/min/max MHz of each CPU with cpufreq (empty in most VMs)."""
    found = []
    for cpu in sorted(_CPU.glob("cpu[0-9]*"), key=lambda p: int(p.name[3:])):
        freq = cpu / "cpufreq"
        if freq.is_dir():
            found.append({"cpu": int(cpu.name[3:]), "cur_mhz": _khz_to_mhz(_read(freq / "scaling_cur_freq")),
                          "min_mhz": _khz_to_mhz(_read(freq / "scaling_min_freq")),
                          "max_mhz": _khz_to_mhz(_read(freq / "scaling_max_freq"))})
    return found


def thermal_zones() -> list[dict[str, Any]]:
    """Each thermal zone's type and temperature in °C (the kernel reports millidegrees)."""
    zones = []
    for zone in sorted(_THERMAL.glob("thermal_zone*")):
        temp = _read(zone / "temp")
        zones.append({"zone": zone.name, "type": _read(zone / "type"),
                      "celsius": int(temp) / 1000.0 if temp and temp.lstrip("-").isdigit() else None})
    return zones


def memory() -> dict[str, int | None]:
    """Total and available memory in bytes (/proc/meminfo; None where it is absent)."""
    wanted = {"MemTotal": "total_bytes", "MemAvailable": "available_bytes"}
    found: dict[str, int | None] = dict.fromkeys(wanted.values())
    text = _read(_MEMINFO) or ""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in wanted and rest.split() and rest.split()[0].isdigit():
            found[wanted[key]] = int(rest.split()[0]) * 1024
    return found


def installed_runtimes() -> list[dict[str, Any]]:
    """Every in-process runtime edgeport knows, whether it is installed here, its version and extra."""
    from edgeport.runtimes import RUNTIMES

    return [{"name": cls.name, "available": cls.available(), "version": cls.version() if cls.available() else None,
             "formats": sorted(f.value for f in cls.formats), "extra": cls.extra}
            for cls in sorted(RUNTIMES, key=lambda c: c.name) if not cls.device_schemes]


def describe_device() -> dict[str, Any]:
    """The device's description (cheap: no load sample is taken)."""
    conditions = cond.capture(sample_s=0)
    return {"conditions": dataclasses.asdict(conditions), "frequencies": frequencies(),
            "thermal_zones": thermal_zones(), "memory": memory(), "runtimes": installed_runtimes(),
            "pid": os.getpid()}
