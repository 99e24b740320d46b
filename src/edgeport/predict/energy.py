"""Energy per inference: estimated from a profile's active power, or measured from RAPL on the host.

An estimate is latency × ``[power] active_w`` of the device profile; a profile without that figure
gets *no* energy number ("unavailable"), never a made-up TDP. On the host, Intel/AMD RAPL counters
under ``/sys/class/powercap/intel-rapl:*`` (package domains) give measured energy where they are
readable (they are root-only on many kernels); the counters wrap at ``max_energy_range_uj``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EnergyReading", "RaplMeter", "host_energy", "measure_energy_mj", "rapl_domains"]

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True)
class EnergyReading:
    mj_per_inference: float | None
    label: str  # "measured (RAPL package-0, …)" or "unavailable: why"


def rapl_domains(root: Path = POWERCAP) -> list[Path]:
    """Top-level RAPL package domains (``intel-rapl:N``, not their ``:N:M`` sub-domains) with a counter."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1 and (p / "energy_uj").exists())


class RaplMeter:
    """Sum of the package counters' energy between ``start()`` and ``stop()``, wraparound handled."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.domains = rapl_domains(root)
        self.why = ""
        self._start: list[int] = []
        self._range: list[int] = []
        if not self.domains:
            self.why = f"no RAPL domains under {root}"
            return
        try:
            self._range = [int((d / "max_energy_range_uj").read_text()) for d in self.domains]
            self._read()
        except (OSError, ValueError) as exc:
            self.why = f"RAPL counters not readable ({getattr(exc, 'strerror', None) or exc})"
            self.domains = []

    @property
    def available(self) -> bool:
        return bool(self.domains)

    def _read(self) -> list[int]:
        return [int((d / "energy_uj").read_text()) for d in self.domains]

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> float:
        """Millijoules since ``start()`` (a counter that wrapped once is unwrapped with its range)."""
        end = self._read()
        total_uj = 0
        for a, b, top in zip(self._start, end, self._range):
            total_uj += b - a if b >= a else b + top - a
        return total_uj / 1e3

    def names(self) -> str:
        return ", ".join(self._name(d) for d in self.domains)

    @staticmethod
    def _name(d: Path) -> str:
        try:
            return (d / "name").read_text().strip()
        except OSError:
            return d.name


def measure_energy_mj(run_block: Callable[[], int], root: Path = POWERCAP) -> EnergyReading:
    """Energy per inference of ``run_block`` (runs inferences, returns how many) from RAPL, or why not."""
    meter = RaplMeter(root)
    if not meter.available:
        return EnergyReading(None, f"unavailable: {meter.why}")
    meter.start()
    runs = run_block()
    mj = meter.stop()
    if runs <= 0:
        return EnergyReading(None, "unavailable: no inferences were run")
    return EnergyReading(mj / runs, f"measured (RAPL {meter.names()}: whole package, other processes included)")


def host_energy(artifact: Any, runtime: str, options: Any, data: Any = None, *, min_runs: int = 20,
                min_s: float = 0.2, root: Path = POWERCAP) -> EnergyReading:
    """Measured energy per inference of ``artifact`` on this host, or why not (the model is opened only
    when RAPL is readable)."""
    meter = RaplMeter(root)
    if not meter.available:
        return EnergyReading(None, f"unavailable: {meter.why}")
    from edgeport.bench.harness import PreparedBenchmark

    with PreparedBenchmark(artifact, runtime, options, data) as bench:
        bench.warmup(3, 0.0)
        return measure_energy_mj(lambda: len(bench.block(min_runs, min_s)), root)
