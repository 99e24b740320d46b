"""Shared pieces of the benchmark suite: the run context, result tables, targets, timing helpers.

A suite is a module in ``benchmarks/suites/`` with ``NAME``, ``TITLE``, ``ORDER`` and
``run(ctx) -> SuiteResult``. Each table records the machine conditions it was measured under,
so a table measured on a loaded machine carries its own flag.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.bench import conditions as cond

__all__ = ["Context", "Skip", "SuiteResult", "Table", "TargetCheck", "measured", "timed_subprocess"]


@dataclass
class Context:
    smoke: bool
    out_dir: Path
    work_dir: Path  # artifacts built during the run (deleted afterwards)
    threads: list[int]
    blocks: int  # interleaved rounds per candidate group
    block_runs: int  # each block: at least this many runs ...
    block_s: float  # ... and at least this many seconds
    warmup_runs: int
    warmup_s: float
    repeats: int  # repeatability: independent benchmark() calls
    only: set[str] = field(default_factory=set)  # suite names to run (empty: all)
    shared: dict[str, Any] = field(default_factory=dict)  # results one suite leaves for another (peaks, MACs)
    log: Callable[[str], None] = print

    @classmethod
    def make(cls, *, smoke: bool, out_dir: Path, work_dir: Path, threads: Sequence[int] = (1, 2),
             only: Sequence[str] = (), log: Callable[[str], None] = print) -> Context:
        if smoke:
            return cls(smoke=True, out_dir=out_dir, work_dir=work_dir, threads=list(threads), blocks=2,
                       block_runs=5, block_s=0.05, warmup_runs=3, warmup_s=0.05, repeats=3, only=set(only), log=log)
        return cls(smoke=False, out_dir=out_dir, work_dir=work_dir, threads=list(threads), blocks=7, block_runs=20,
                   block_s=1.0, warmup_runs=10, warmup_s=1.0, repeats=5, only=set(only), log=log)


@dataclass
class Table:
    """Rows are dicts; ``columns`` lists ``[key, header]`` pairs (a plain string is both)."""

    title: str
    columns: list[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    conditions: cond.Conditions | None = None
    notes: list[str] = field(default_factory=list)
    # load the measurement makes on purpose (a neighbour process it starts): its conditions count it as foreign,
    # so they read "loaded"; this says why, and the record's banner does not count the table
    own_load: str = ""

    def __post_init__(self) -> None:
        self.columns = [list(c) if isinstance(c, (tuple, list)) else [c, c] for c in self.columns]

    def add(self, **row: Any) -> dict[str, Any]:
        self.rows.append(row)
        return row


@dataclass
class Skip:
    what: str
    reason: str


@dataclass
class TargetCheck:
    name: str
    value: float | None
    target: str  # e.g. "< 3%"
    unit: str
    met: bool | None  # None: not measured
    note: str = ""


@dataclass
class SuiteResult:
    name: str
    title: str
    tables: list[Table] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    targets: list[TargetCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append(Skip(what, _one_line(reason)))

    def target(self, name: str, value: float | None, limit: float, unit: str, *, note: str = "") -> TargetCheck:
        """A "value below limit" target (an upper bound)."""
        check = TargetCheck(name, value, f"< {limit:g}{unit}", unit, None if value is None else value < limit, note)
        self.targets.append(check)
        return check

    def at_least(self, name: str, value: float | None, limit: float, unit: str, *, note: str = "") -> TargetCheck:
        """A "value at or above limit" target (a lower bound: a speed-up, a share of peak)."""
        check = TargetCheck(name, value, f"≥ {limit:g}{unit}", unit, None if value is None else value >= limit, note)
        self.targets.append(check)
        return check


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return (lines[0] if lines else "")[:400]


def one_line(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}")


@contextmanager
def measured(table: Table, threads: int | None = None, versions: dict[str, Any] | None = None) -> Iterator[Table]:
    """Record the machine conditions (load before/after) around the measurements of one table."""
    before = cond.capture(threads, versions)
    try:
        yield table
    finally:
        table.conditions = cond.finish(before)


def timed_subprocess(argv: Sequence[str], repeats: int, *, timeout: float = 120.0, cwd: Path | None = None,
                     env: dict[str, str] | None = None) -> tuple[float, list[float]]:
    """Median wall time (s) of running ``argv`` ``repeats`` times (a non-zero exit raises)."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise RuntimeError(f"{' '.join(argv[:3])}… failed: {tail[0][:300]}")
    return statistics.median(walls), walls


def python() -> str:
    return sys.executable


def ratio(value: float | None, best: float | None) -> float | None:
    if value is None or not best:
        return None
    return value / best
