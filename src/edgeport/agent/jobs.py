"""The agent's jobs: open a model, run feeds, time feeds, describe the device — one compute job at a time.

Every job that computes (open, run, bench) holds the device slot: one runs, a bounded number wait their
turn (each at most ``wait_s``), and beyond that a job is refused as busy (HTTP 429). So two clients' timing
loops never overlap, and a verification run never lands inside someone's benchmark. Each job's start and
end times are logged (``jobs``), which is how the serialisation can be checked from outside.

An open model is a session keyed by (files, runtime, threads): a client that opens the same model again
(verify, then bench) gets the loaded one back; idle sessions beyond ``MAX_IDLE`` are closed, oldest first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.agent.cache import ArtifactCache
from edgeport.bench import conditions as cond
from edgeport.bench.harness import PeakRss, PreparedBenchmark, config_for
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import spec_to_dict
from edgeport.errors import MissingDependencyError, UnsupportedError
from edgeport.runtimes.base import RunPolicy, Runtime, runtime_class_for

__all__ = ["Agent", "Busy", "DeviceSlot", "UnknownSession"]

MAX_IDLE = 4  # open models kept loaded after their client closed them
LOG_LENGTH = 256


class Busy(Exception):
    """The device slot's queue is full, or the wait ran out (HTTP 429)."""


class UnknownSession(KeyError):
    """A job names a session the agent does not hold (closed, or the agent restarted)."""


class DeviceSlot:
    """One compute job at a time, up to ``queue`` waiting (each at most ``wait_s``); beyond that ``Busy``."""

    def __init__(self, queue: int = 4, wait_s: float = 300.0) -> None:
        self.queue, self.wait_s = queue, wait_s
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = 0
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_LENGTH)
        self.running: dict[str, Any] | None = None  # the job holding the slot now

    @contextmanager
    def hold(self, job: str, **details: Any) -> Iterator[None]:
        with self._cond:
            if self._busy and self._waiting >= self.queue:
                raise Busy(f"{self._waiting} jobs are already waiting for the device")
            self._waiting += 1
            try:
                free = self._cond.wait_for(lambda: not self._busy, timeout=self.wait_s)
            finally:
                self._waiting -= 1
            if not free:
                raise Busy(f"the device stayed busy for {self.wait_s:.0f} s")
            self._busy = True
        start = time.time()
        self.running = {"job": job, "start": start, **details}
        try:
            yield
        finally:
            self.log.append({"job": job, "start": start, "end": time.time(), **details})
            with self._cond:
                self.running = None
                self._busy = False
                self._cond.notify()


@dataclass
class Session:
    id: str
    runtime: Runtime
    load_ms: float
    memory: PeakRss
    first_run_ms: float | None = None
    users: int = 0
    opened: float = field(default_factory=time.time)


class Agent:
    """The device side's state: the artifact cache, open sessions, the device slot."""

    def __init__(self, cache_dir: Path, max_artifact_bytes: int, *, queue: int = 4, wait_s: float = 300.0) -> None:
        self.cache = ArtifactCache(cache_dir)
        self.max_artifact_bytes = max_artifact_bytes
        self.slot = DeviceSlot(queue, wait_s)
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self.uploads: deque[dict[str, Any]] = deque(maxlen=LOG_LENGTH)

    # ---- sessions -------------------------------------------------------------------------------
    def open(self, files: list[tuple[str, str]], fmt: str, runtime: str | None, threads: int | None) -> dict[str, Any]:
        key = hashlib.sha256(repr((files, fmt, runtime, threads)).encode()).hexdigest()[:24]
        with self.slot.hold("open", session=key):
            with self._lock:
                session = self._sessions.get(key)
            if session is None:
                session = self._load(key, files, Format(fmt), runtime, threads)
            with self._lock:
                self._sessions[key] = session
                self._sessions.move_to_end(key)
                session.users += 1
            rt = session.runtime
            return {"session": key, "runtime": rt.name, "version": rt.version(), "load_ms": session.load_ms,
                    "inputs": [spec_to_dict(s) for s in rt.input_specs()],
                    "outputs": [spec_to_dict(s) for s in rt.output_specs()], "runtime_info": _describe(rt)}

    def _load(self, key: str, files: list[tuple[str, str]], fmt: Format, runtime: str | None,
              threads: int | None) -> Session:
        path = self.cache.assemble(files)
        artifact = Artifact(path=path, format=fmt, inputs=(), outputs=())
        cls = runtime_class_for(artifact, runtime)
        if cls.device_schemes:
            raise UnsupportedError(f"runtime {cls.name!r} runs on another device; an agent runs models itself",
                                   fix="name an in-process runtime (onnxruntime, litert, openvino, ...)")
        if not cls.available():
            missing = next(m for m in cls.requires if not _importable(m))
            raise MissingDependencyError(f"runtime {cls.name!r}", missing, f"agent,{cls.extra}")
        rt = cls(artifact, cls.Options(threads=threads))
        memory = PeakRss()
        memory.start()
        start = time.perf_counter()
        rt.open()
        load_ms = (time.perf_counter() - start) * 1e3
        memory.sample()
        return Session(key, rt, load_ms, memory)

    def session(self, key: Any) -> Session:
        with self._lock:
            session = self._sessions.get(str(key))
        if session is None:
            raise UnknownSession(f"no open session {key!r} (closed, or the agent restarted)")
        return session

    def close(self, key: Any) -> None:
        """The client is done with it; it stays loaded while idle sessions fit in ``MAX_IDLE``."""
        with self._lock:
            session = self._sessions.get(str(key))
            if session is not None:
                session.users = max(0, session.users - 1)
            idle = [k for k, s in self._sessions.items() if s.users == 0]
            evict = idle[:max(0, len(idle) - MAX_IDLE)]
            closing = [self._sessions.pop(k) for k in evict]
        for s in closing:
            s.runtime.close()

    def shutdown(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for s in sessions:
            s.runtime.close()

    # ---- compute jobs ----------------------------------------------------------------------------
    def run(self, key: Any, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = self.session(key)
        with self.slot.hold("run", session=session.id):
            prepared = session.runtime.prepare(feeds)  # a client's feeds are checked here too (FeedError)
            t0 = time.perf_counter_ns()
            outputs = session.runtime.run_prepared(prepared)
            if session.first_run_ms is None:
                session.first_run_ms = (time.perf_counter_ns() - t0) / 1e6
        return {name: np.asarray(value) for name, value in outputs.items()}

    def bench(self, key: Any, policy: RunPolicy, feeds: list[dict[str, np.ndarray]]) -> dict[str, Any]:
        """The host harness's warm-up and timing loop, run here on the client's prepared feeds."""
        session = self.session(key)
        config = config_for(policy)
        rt = session.runtime
        with self.slot.hold("bench", session=session.id):
            prepared = [rt.prepare(f) for f in feeds]
            before = cond.capture(rt.options.threads, {rt.name: rt.version(), "numpy": np.__version__})
            bench = PreparedBenchmark.on_feeds(rt, prepared, config, load_ms=session.load_ms,
                                               first_run_ms=session.first_run_ms or 0.0)
            bench.warmup()
            samples = bench.block(config.min_runs, config.min_duration_s)
            session.memory.sample()
            peak = session.memory.delta_mb()
            after = cond.finish(before)
        return {"samples_ms": samples, "warmup_runs": bench.warmup_runs, "warmup_s": bench.warmup_s,
                "load_ms": session.load_ms, "first_run_ms": session.first_run_ms, "peak_rss_delta_mb": peak,
                "rss_method": f"agent process: {session.memory.method}", "conditions": dataclasses.asdict(after),
                "runtime_info": _describe(rt)}


def _importable(module: str) -> bool:
    from edgeport._optional import is_available

    return is_available(module)


def _describe(rt: Runtime) -> dict[str, Any]:
    try:
        return dict(rt.describe())
    except Exception as exc:  # a runtime's describe() must never lose the job
        return {"runtime": rt.name, "describe_error": f"{type(exc).__name__}: {exc}"}
