"""MetaSchedule tuning for the ONNX → TVM converter: a wall-clock budget and a record cache.

Design choices, each measured on this project's 2-core hosts:

* **In-process builder and runner.** MetaSchedule's ``LocalBuilder``/``LocalRunner`` start worker
  processes that each import TVM (24 s to minutes on a loaded host) before the first candidate is
  built, which eats a short budget whole. The converter already runs in its own child process with
  a time limit (``convert.api``), so candidates are built and timed in that process instead.
* **No xgboost.** The default cost model needs xgboost; candidates are drawn by ``replay-trace``
  (random samples of the design space) with the ``random`` cost model. Records accumulate in the
  cache across runs, so every run can only keep or improve the best schedule per task.
* **Budget.** Tuning runs in rounds (each task gets ``trials_per_round`` candidates per round).
  A measure callback checks the deadline after every measured batch and stops the search when the
  budget is spent; whatever was measured so far is kept and compiled ("best so far").
* **Cache.** Records live in ``$EDGEPORT_CACHE/tvm-tuning/<model-hash>-<target-hash>/`` (a
  MetaSchedule JSON database) and are reused by later conversions of the same model and target.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TuningOutcome", "cache_dir_for", "compile_module", "fuse_for_tuning", "tune"]


@dataclass
class TuningOutcome:
    """What a tuning run did (serialised into the manifest and the artifact's metadata)."""

    tuned: bool = False  # the compiled module uses at least one tuning record
    cache_dir: str = ""
    tasks: int = 0
    tasks_with_records: int = 0
    records_before: int = 0  # records found in the cache before this run (reused)
    records_after: int = 0
    trials: int = 0  # candidates measured in this run
    rounds: int = 0
    budget_s: float = 0.0
    seconds: float = 0.0
    setup_seconds: float = 0.0  # TVM imports, task extraction (not counted against the budget)
    budget_exhausted: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def cache_dir_for(model_bytes_hash: str, target: dict[str, Any], shapes: dict[str, list[int]]) -> Path:
    """``$EDGEPORT_CACHE/tvm-tuning/<model-hash>-<target-hash>`` (shapes are part of the model key)."""
    from edgeport.data.examples import cache_dir

    model_key = hashlib.sha256((model_bytes_hash + json.dumps(shapes, sort_keys=True)).encode()).hexdigest()[:16]
    target_key = hashlib.sha256(json.dumps(target, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "tvm-tuning" / f"{model_key}-{target_key}"


def fuse_for_tuning(mod: Any, target: Any) -> Any:
    """The CPU pipeline's dispatch + legalize + fuse passes: the form MetaSchedule tasks come from."""
    import tvm
    from tvm.relax.backend.cpu_generic import pipeline as cpu

    with target:
        return tvm.transform.Sequential(cpu.library_dispatch_passes(target) + cpu.legalize_passes(target))(mod)


def _quiet_tvm_logging() -> None:
    for name in ("tvm.s_tir.meta_schedule", "tvm.meta_schedule"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _BudgetSpent(Exception):
    pass


def _import_tensor_intrinsics() -> None:
    """Import ``tvm.s_tir.tensor_intrin`` (MetaSchedule needs it) without its pathological cost.

    Each of its ~500 ``@T.prim_func`` definitions calls ``inspect.stack()``, which resolves the
    module of every frame on the stack by scanning ``sys.modules``; inside a process that already
    imported ONNX, NumPy and edgeport this import took 160–250 s here. TVM only reads each frame's
    frame object, name and source line, so a stack walk built from ``sys._getframe`` and
    ``linecache`` is equivalent; it is swapped in for the duration of this one import (7 s).
    """
    import importlib
    import inspect
    import linecache
    import sys

    if "tvm.s_tir.tensor_intrin" in sys.modules:
        return

    def fast_stack(context: int = 1) -> list[inspect.FrameInfo]:
        frames = []
        frame = sys._getframe(1)
        while frame is not None:
            filename, lineno = frame.f_code.co_filename, frame.f_lineno
            line = linecache.getline(filename, lineno) if context > 0 else ""
            frames.append(inspect.FrameInfo(frame, filename, lineno, frame.f_code.co_name,
                                            [line] if line else None, 0 if line else None))
            frame = frame.f_back
        return frames

    original = inspect.stack
    inspect.stack = fast_stack  # type: ignore[assignment]
    try:
        importlib.import_module("tvm.s_tir.tensor_intrin")
    finally:
        inspect.stack = original  # type: ignore[assignment]


def _builder_runner() -> tuple[Any, Any]:
    import tvm
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.builder import BuilderResult, PyBuilder
    from tvm.s_tir.meta_schedule.builder.local_builder import default_build
    from tvm.s_tir.meta_schedule.runner import PyRunner, RunnerFuture, RunnerResult
    from tvm.s_tir.meta_schedule.runner.utils import alloc_argument_common

    built: dict[str, Any] = {}
    rng = np.random.default_rng(0)

    @derived_object
    class InProcessBuilder(PyBuilder):
        def build(self, build_inputs: list[Any]) -> list[Any]:
            results = []
            for item in build_inputs:
                try:
                    key = f"in-process-{len(built)}-{time.monotonic_ns()}"
                    built[key] = default_build(item.mod, item.target, None)
                    results.append(BuilderResult(key, None))
                except Exception as exc:  # a bad candidate: MetaSchedule records the error and moves on
                    results.append(BuilderResult(None, str(exc)[-500:]))
            return results

    @derived_object
    class InProcessRunner(PyRunner):
        def run(self, runner_inputs: list[Any]) -> list[Any]:
            dev = tvm.cpu(0)
            futures = []
            for item in runner_inputs:
                module = built.pop(item.artifact_path, None)
                try:
                    if module is None:
                        raise RuntimeError("candidate was not built")

                    def fill(arr: Any) -> None:
                        shape = tuple(int(d) for d in arr.shape)
                        arr.copyfrom(rng.uniform(size=shape).astype(str(arr.dtype)))

                    args = alloc_argument_common(fill, dev, [a.as_json() for a in item.args_info], 1)[0]
                    timer = module.time_evaluator(module.entry_name, dev, number=3, repeat=1, min_repeat_ms=5)
                    result = RunnerResult([float(c) for c in timer(*args).results], None)
                except Exception as exc:
                    result = RunnerResult(None, str(exc)[-500:])
                futures.append(RunnerFuture(f_done=lambda: True, f_result=lambda r=result: r))
            return futures

    return InProcessBuilder(), InProcessRunner()


def _deadline_callback(deadline: float, state: dict[str, Any]) -> Any:
    from tvm.ir.utils import derived_object
    from tvm.s_tir.meta_schedule.measure_callback import PyMeasureCallback

    @derived_object
    class Deadline(PyMeasureCallback):
        def apply(self, task_scheduler: Any, task_id: int, measure_candidates: Any, builder_results: Any,
                  runner_results: Any) -> None:
            state["trials"] += len(measure_candidates)
            if time.monotonic() >= deadline:
                state["exhausted"] = True
                raise _BudgetSpent()

    return Deadline()


def tune(fused: Any, target: Any, work_dir: Path, budget_s: float, *, trials_per_round: int = 8,
         max_trials_per_task: int = 64, seed: int = 0) -> TuningOutcome:
    """Tune every task of ``fused`` for at most ``budget_s`` seconds, adding records to ``work_dir``."""
    from tvm.s_tir import meta_schedule as ms

    _quiet_tvm_logging()
    start = time.monotonic()
    _import_tensor_intrinsics()
    work_dir.mkdir(parents=True, exist_ok=True)
    outcome = TuningOutcome(cache_dir=str(work_dir), budget_s=budget_s)
    database = ms.database.JSONDatabase(work_dir=str(work_dir))
    outcome.records_before = len(database.get_all_tuning_records())
    tasks = ms.relax_integration.extract_tasks(fused, target)
    outcome.tasks = len(tasks)
    if budget_s > 0 and tasks:
        contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
            tasks, str(work_dir), strategy="replay-trace", num_threads=1, seed=seed)
        _quiet_tvm_logging()
        builder, runner = _builder_runner()
        outcome.setup_seconds = time.monotonic() - start
        deadline = time.monotonic() + budget_s  # the budget is for the search, not the fixed setup
        state: dict[str, Any] = {"trials": 0, "exhausted": False}
        callbacks = [ms.measure_callback.AddToDatabase(), ms.measure_callback.UpdateCostModel(),
                     _deadline_callback(deadline, state)]
        per_task = 0
        while per_task < max_trials_per_task and time.monotonic() < deadline:
            per_round = min(trials_per_round, max_trials_per_task - per_task)
            try:
                ms.tune.tune_tasks(tasks=contexts, task_weights=weights, work_dir=str(work_dir),
                                   max_trials_global=per_round * len(contexts), max_trials_per_task=per_round,
                                   num_trials_per_iter=per_round, builder=builder, runner=runner,
                                   database=database, cost_model="random", measure_callbacks=callbacks,
                                   task_scheduler="round-robin")
            except Exception:
                if not state["exhausted"]:
                    raise
            outcome.rounds += 1
            per_task += per_round
            if state["exhausted"]:
                break
        outcome.trials = state["trials"]
        outcome.budget_exhausted = bool(state["exhausted"]) or (per_task < max_trials_per_task)
        if outcome.budget_exhausted:
            outcome.notes.append(f"tuning budget of {budget_s:g} s ran out after {outcome.trials} measured "
                                 f"candidates in {outcome.rounds} round(s): the module uses the best schedules "
                                 "found so far; a larger tune_seconds (or another run, which reuses these "
                                 "records) gives a faster module")
    database = ms.database.JSONDatabase(work_dir=str(work_dir))  # re-read what was committed
    outcome.records_after = len(database.get_all_tuning_records())
    outcome.tasks_with_records = sum(
        1 for t in tasks if database.has_workload(t.dispatched[0]) and
        database.query_tuning_record(t.dispatched[0], target, t.task_name) is not None)
    outcome.seconds = time.monotonic() - start
    return outcome


def compile_module(mod: Any, target: Any, work_dir: Path | None) -> Any:
    """Compile with the tuning records in ``work_dir`` (or TVM's default schedules when None)."""
    import tvm

    if work_dir is None:
        return tvm.compile(mod, target=target)
    from tvm.s_tir import meta_schedule as ms

    database = ms.database.JSONDatabase(work_dir=str(work_dir))
    return ms.relax_integration.compile_relax(database, mod, target, None)
