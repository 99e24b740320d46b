"""``convert``: plan a chain, run each step isolated in a child process, verify the result.

Each step runs as ``python -m edgeport.convert._worker`` with a time limit, so a converter that
crashes natively or hangs cannot take the caller down; the error names the converter and stage.
Outputs are written to a temporary name and renamed into place only after the step succeeds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.convert.base import ConvertOptions, Converter
from edgeport.convert.planner import Plan, plan_paths
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import spec_from_dict, spec_to_dict
from edgeport.data.datasets import Dataset, random_dataset
from edgeport.errors import (
    ConfigError,
    ConversionError,
    EdgeportError,
    MissingDependencyError,
    UnsupportedConversionError,
)
from edgeport.verify.compare import VerificationResult, verify
from edgeport.verify.tolerance import Tolerance

__all__ = ["ConversionResult", "convert", "run_step"]


@dataclass
class ConversionResult:
    artifact: Artifact
    path_taken: list[str]
    converters: list[str]
    rejected: list[dict[str, str]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    verification: VerificationResult | None = None
    verified_on: str = ""  # "dataset:<name>" or "random inputs"
    kind: str = "conversion"

    @property
    def passed(self) -> bool:
        return self.verification is None or self.verification.passed


def _options_for(conv: type[Converter], options: ConvertOptions | dict[str, Any] | None, last: bool) -> ConvertOptions:
    if isinstance(options, conv.Options):
        return options if last else conv.Options()
    data = dataclasses.asdict(options) if isinstance(options, ConvertOptions) else dict(options or {})
    if not last:
        data = {k: v for k, v in data.items() if k == "dynamic_batch"}
    names = {f.name for f in dataclasses.fields(conv.Options)}
    unknown = set(data) - names
    if unknown and last:
        raise ConfigError(f"converter {conv.name!r} has no option(s) {sorted(unknown)}",
                          fix=f"its options are: {', '.join(sorted(names))}")
    return conv.Options(**{k: v for k, v in data.items() if k in names})


def run_step(conv: type[Converter], source: Artifact, out: Path, options: ConvertOptions,
             calibration: Dataset | None = None, *, timeout_s: float | None = None) -> Artifact:
    """Run one converter in a child process; the result is renamed into ``out`` only on success."""
    conv.require()
    if options.precision not in conv.precisions:
        raise UnsupportedConversionError(f"converter {conv.name!r} does not produce {options.precision}",
                                         fix=f"it supports: {', '.join(conv.precisions)}")
    if options.precision in conv.needs_data and calibration is None:
        raise ConfigError(f"{conv.name} {options.precision} needs calibration data", fix="pass --data D")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    limit = timeout_s if timeout_s is not None else conv.timeout_s
    with tempfile.TemporaryDirectory(prefix="edgeport-convert-", dir=out.parent) as work:
        work_dir = Path(work)
        tmp_out = work_dir / out.name
        request: dict[str, Any] = {
            "converter": conv.name, "source": str(source.path.resolve()), "format": source.format.value,
            "source_inputs": [spec_to_dict(s) for s in source.inputs],
            "source_outputs": [spec_to_dict(s) for s in source.outputs],
            "out": str(tmp_out), "options": dataclasses.asdict(options), "calibration": None}
        if calibration is not None:
            request["calibration"] = str(calibration.save_npz(work_dir / "calibration.npz"))
        reply_path = work_dir / "reply.json"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "edgeport.convert._worker", str(reply_path)],
                                  input=json.dumps(request), capture_output=True, text=True, timeout=limit,
                                  env=env, cwd=work_dir)
        except subprocess.TimeoutExpired:
            raise ConversionError(f"did not finish within {limit:.0f} s", converter=conv.name, stage="convert",
                                  fix="raise the time limit or simplify the model") from None
        seconds = time.perf_counter() - start
        if not reply_path.exists():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            raise ConversionError(f"child process died (exit status {proc.returncode}): {tail[0][:300]}",
                                  converter=conv.name, stage="convert",
                                  fix="the converter crashed natively; try another path (--via) or precision")
        reply = json.loads(reply_path.read_text())
        if not reply["ok"]:
            if reply.get("type") == "MissingDependencyError":
                raise MissingDependencyError(f"converter {conv.name!r}", reply.get("module") or "?",
                                             reply.get("extra") or conv.extra)
            if reply.get("user_error"):
                err = EdgeportError(reply["message"], fix=reply.get("fix"))
                if reply.get("type") == "ConversionError":
                    err = ConversionError(reply["message"], fix=reply.get("fix"))
                err.exit_code = int(reply.get("exit_code", 2))
                raise err
            raise ConversionError(f"{reply['type']}: {reply['message']}", converter=conv.name,
                                  stage=reply.get("stage", "convert"),
                                  fix="run with --debug for the converter's traceback")
        produced = Path(reply["path"])
        final = out if produced == tmp_out else out.parent / produced.name
        _move(produced, final)
        for side in work_dir.iterdir():  # side files written next to the output (.bin, .data)
            if side.name.startswith(tmp_out.stem) and side != produced and side.name not in ("reply.json",):
                _move(side, out.parent / side.name)
    inputs = tuple(spec_from_dict(s) for s in reply["inputs"])
    outputs = tuple(spec_from_dict(s) for s in reply["outputs"])
    fmt = Format(reply["format"])
    return source.derive(final, fmt, step=Step("convert", conv.name, dataclasses.asdict(options), seconds),
                         inputs=inputs, outputs=outputs, metadata=reply.get("metadata") or {})


def _move(src: Path, dst: Path) -> None:
    if dst.exists():
        if dst.is_dir():
            shutil.rmtree(dst)
        else:
            dst.unlink()
    os.replace(src, dst)


def convert(model: Artifact | str | Path, to: Format | str, *, out: str | Path | None = None,
            data: Dataset | None = None, options: ConvertOptions | dict[str, Any] | None = None,
            via: list[str] | None = None, verify_result: bool = True, tolerance: Tolerance | None = None,
            timeout_s: float | None = None, max_verify_samples: int | None = 512) -> ConversionResult:
    """Convert ``model`` to format ``to``: plan, run isolated steps, verify on ``data`` (or random inputs)."""
    source = model if isinstance(model, Artifact) else load_artifact(model)
    target = to if isinstance(to, Format) else Format.parse(to)
    plans = plan_paths(source.format, target)
    if via:
        plans = [p for p in plans if [s.name for s in p.steps] == via] or plans
    out_path = Path(out) if out is not None else source.path.with_suffix(target.suffix) \
        if source.path.suffix != target.suffix else source.path.with_name(source.path.stem + "-converted" + target.suffix)
    if source.inputs and data is not None:
        data.bind(source.inputs)  # fail before converting when the data cannot feed the model
    calibration = data.split("calibration") if data is not None else None
    rejected: list[dict[str, str]] = []
    last_error: EdgeportError | None = None
    for plan in plans:
        if plan.missing():
            rejected.append({"path": plan.describe(), "reason": "; ".join(plan.missing())})
            continue
        try:
            artifact, seconds = _run_plan(plan, source, out_path, options, calibration, timeout_s)
        except (ConversionError, UnsupportedConversionError) as exc:
            rejected.append({"path": plan.describe(), "reason": str(exc)})
            last_error = exc
            continue
        result = ConversionResult(artifact=artifact, path_taken=plan.formats,
                                  converters=[s.name for s in plan.steps], rejected=rejected, step_seconds=seconds)
        if verify_result:
            _verify(result, source, plan, options, data, tolerance, max_verify_samples)
        return result
    if last_error is not None and len(rejected) == 1:
        raise last_error
    if not rejected:
        raise UnsupportedConversionError(f"no converter path from {source.format.value} to {target.value}")
    first_missing = next((p for p in plans if p.missing()), None)
    if last_error is None and first_missing is not None:
        first_missing.steps[[s.available() for s in first_missing.steps].index(False)].require()
    reasons = " | ".join(f"{r['path']}: {r['reason']}" for r in rejected)
    raise ConversionError(f"every path to {target.value} failed: {reasons}",
                          fix="see each path's reason; install the missing extra or change the model")


def _run_plan(plan: Plan, source: Artifact, out_path: Path, options: ConvertOptions | dict[str, Any] | None,
              calibration: Dataset | None, timeout_s: float | None) -> tuple[Artifact, list[float]]:
    current = source
    seconds: list[float] = []
    for i, conv in enumerate(plan.steps):
        last = i == len(plan.steps) - 1
        step_out = out_path if last else out_path.with_name(f"{out_path.stem}.step{i}{conv.target.suffix}")
        opts = _options_for(conv, options, last)
        current = run_step(conv, current, step_out, opts, calibration if last else None, timeout_s=timeout_s)
        seconds.append(current.step.seconds if current.step and current.step.seconds else 0.0)
    return current, seconds


def _verify(result: ConversionResult, source: Artifact, plan: Plan, options: Any, data: Dataset | None,
            tolerance: Tolerance | None, max_samples: int | None) -> None:
    from edgeport.runtimes.base import runtimes_for

    last = plan.steps[-1]
    runnable = [c for c in runtimes_for(result.artifact.format) if c.runnable_here and c.available()]
    if not runnable or not [c for c in runtimes_for(source.format) if c.runnable_here and c.available()]:
        reasons = [getattr(c, "not_runnable_reason", "") for c in runtimes_for(result.artifact.format)
                   if not c.runnable_here]
        reason = next((r for r in reasons if r), "")  # e.g. "Core ML is not runnable on this host: ..."
        result.verified_on = (f"not verified: {reason}" if reason and not runnable
                              else f"not verified: no runtime here runs {result.artifact.format.value}")
        return
    opts = _options_for(last, options, True)
    tol = tolerance or last.tolerance_for(opts)
    dataset = data if data is not None else random_dataset(source.inputs or result.artifact.inputs)
    split = "test" if data is not None else "all"
    result.verification = verify(source, result.artifact, dataset, tolerance=tol, split=split,
                                 max_samples=max_samples)
    result.verified_on = f"dataset:{dataset.name}" if data is not None else "random inputs (no --data given)"
