"""``convert``: plan a chain, run each step isolated in a child process, verify the result.

Each step runs as ``python -m edgeport.convert._worker`` with a time limit, so a converter that
crashes natively or hangs cannot take the caller down; the error names the converter and stage.
Outputs are written to a temporary name and renamed into place only after the step succeeds.

Every step's options are built and checked (unknown names, wrong value types, precision, data)
here, before any child starts. A user error in the child comes back as the same ``EdgeportError``
class; any other exception there is a bug and comes back as ``InternalError`` with the child's
traceback — never as a one-line ``ConversionError`` that would hide it.
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
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.convert.base import ConvertOptions, Converter
from edgeport.convert.planner import Plan, plan_paths
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.inputs import InputPlan, constant_values
from edgeport.core.tensors import spec_from_dict, spec_to_dict
from edgeport.data.datasets import Dataset
from edgeport.data.synthetic import feed_plan, synthetic_data
from edgeport import errors
from edgeport.errors import (
    ConfigError,
    ConversionError,
    EdgeportError,
    InternalError,
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
    """``conv``'s typed options from what the caller gave (only ``dynamic_batch`` carries to an
    intermediate step); ``ConfigError`` for unknown names, wrong value types or values it refuses."""
    if isinstance(options, conv.Options):
        opts = options if last else conv.Options()
        _check_values(conv, opts)
        return opts
    data = dataclasses.asdict(options) if isinstance(options, ConvertOptions) else dict(options or {})
    if not last:
        data = {k: v for k, v in data.items() if k == "dynamic_batch"}
    names = {f.name for f in dataclasses.fields(conv.Options)}
    unknown = set(data) - names
    if unknown and last:
        raise ConfigError(f"converter {conv.name!r} has no option(s) {sorted(unknown)}",
                          fix=f"its options are: {', '.join(sorted(names))}")
    try:
        opts = conv.Options(**{k: v for k, v in data.items() if k in names})
    except (TypeError, ValueError) as exc:  # a check in the options' __post_init__
        raise ConfigError(f"converter {conv.name!r}: bad options ({exc})",
                          fix=f"its options are: {', '.join(sorted(names))}") from exc
    _check_values(conv, opts)
    return opts


_SIMPLE_TYPES: dict[Any, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def _conforms(value: Any, hint: Any) -> bool:
    """``value`` fits a simple annotation (bool/int/float/str, optionally ``| None``); other types pass."""
    if hint in _SIMPLE_TYPES:
        return isinstance(value, _SIMPLE_TYPES[hint]) and (hint is bool or not isinstance(value, bool))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(value is None if a is type(None) else _conforms(value, a) for a in typing.get_args(hint))
    return True


def _check_values(conv: type[Converter], opts: ConvertOptions) -> None:
    hints = typing.get_type_hints(type(opts))
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        hint = hints.get(f.name, Any)
        if not _conforms(value, hint):
            shown = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            raise ConfigError(f"converter {conv.name!r} option {f.name!r} must be {shown}, got {value!r}",
                              fix=f"give {f.name} a {shown} value (its default: {f.default!r})")


def _precheck(conv: type[Converter], options: ConvertOptions, has_calibration: bool) -> None:
    """What can be refused before a child process starts."""
    conv.require()
    if options.precision not in conv.precisions:
        raise UnsupportedConversionError(f"converter {conv.name!r} does not produce {options.precision}",
                                         fix=f"it supports: {', '.join(conv.precisions)}")
    if options.precision in conv.needs_data and not has_calibration:
        raise ConfigError(f"{conv.name} {options.precision} needs calibration data", fix="pass --data D")


def run_step(conv: type[Converter], source: Artifact, out: Path, options: ConvertOptions,
             calibration: Dataset | None = None, *, timeout_s: float | None = None) -> Artifact:
    """Run one converter in a child process; the result is renamed into ``out`` only on success."""
    options = _options_for(conv, options, True)
    _precheck(conv, options, calibration is not None)
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
            "out": str(tmp_out), "options": dataclasses.asdict(options), "calibration": None,
            "input_values": {k: v.tolist() for k, v in constant_values(source.inputs, feed_plan(source)).items()}}
        if calibration is not None:
            request["calibration"] = str(calibration.save_npz(work_dir / "calibration.npz"))
        reply_path = work_dir / "reply.json"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if env.get("PYTHONPATH"):  # the child runs in work_dir: relative entries must still name the same code
            env["PYTHONPATH"] = os.pathsep.join(str(Path(e).resolve()) if e else e
                                                for e in env["PYTHONPATH"].split(os.pathsep))
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
            raise _error_from(reply, conv)
        produced = Path(reply["path"])
        final = out if produced == tmp_out else out.parent / produced.name
        _move(produced, final)
        for side in work_dir.iterdir():  # side files written next to the output (.bin, .data)
            if side.name.startswith(tmp_out.stem) and side != produced and side.name not in ("reply.json",):
                _move(side, out.parent / side.name)
    inputs = tuple(spec_from_dict(s) for s in reply["inputs"])
    outputs = tuple(spec_from_dict(s) for s in reply["outputs"])
    fmt = Format(reply["format"])
    metadata = reply.get("metadata") or {}
    metrics = {"prepared": metadata["prepared"]} if metadata.get("prepared") else {}
    return source.derive(final, fmt, step=Step("convert", conv.name, dataclasses.asdict(options), seconds, metrics),
                         inputs=inputs, outputs=outputs, metadata=metadata)


def _error_from(reply: dict[str, Any], conv: type[Converter]) -> Exception:
    """The exception a failed child reply stands for (see ``_worker``)."""
    kind, name, stage = reply.get("kind"), str(reply.get("type")), str(reply.get("stage") or "convert")
    if kind == "user":
        if name == "MissingDependencyError":
            return MissingDependencyError(f"converter {conv.name!r}", reply.get("module") or "?",
                                          reply.get("extra") or conv.extra)
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, EdgeportError) and cls is not MissingDependencyError:
            err = (ConversionError(reply["message"], fix=reply.get("fix")) if issubclass(cls, ConversionError)
                   else cls(reply["message"], fix=reply.get("fix")))
        else:  # a plugin's own EdgeportError subclass
            err = EdgeportError(reply["message"], fix=reply.get("fix"))
        err.exit_code = int(reply.get("exit_code", err.exit_code))
        return err
    if kind == "interrupted":
        return ConversionError(f"interrupted ({name}: {reply.get('message')})", converter=conv.name, stage=stage,
                               fix="the converter stopped its process; try another path (--via) or precision")
    return InternalError(f"converter {conv.name!r} ({stage}) raised {name}: {reply.get('message')}",
                         traceback=str(reply.get("traceback") or ""))


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
            timeout_s: float | None = None, max_verify_samples: int | None = 512, shapes: Any = None,
            inputs: Any = None) -> ConversionResult:
    """Convert ``model`` to format ``to``: plan, run isolated steps, verify on ``data`` (or synthetic inputs).

    ``shapes``/``inputs`` (``["x=1x3x640x640"]``, ``["sr=16000"]``; see ``edgeport.InputPlan``) make the
    source's input specs concrete; the plan travels in the source artifact's ``metadata["input_plan"]``.
    """
    source = model if isinstance(model, Artifact) else load_artifact(model)
    source = source.with_inputs(InputPlan.parse(shapes, inputs))
    target = to if isinstance(to, Format) else Format.parse(to)
    plans = plan_paths(source.format, target)
    if via:
        chosen = [p for p in plans if [s.name for s in p.steps] == list(via)]
        if not chosen:
            raise ConfigError(f"via {','.join(via)} is not a converter path from {source.format.value} to "
                              f"{target.value}", fix="use one of: " + " | ".join(",".join(s.name for s in p.steps)
                                                                                   for p in plans))
        plans = chosen
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
    last_index = len(plan.steps) - 1
    step_options = [_options_for(conv, options, i == last_index) for i, conv in enumerate(plan.steps)]
    for i, (conv, opts) in enumerate(zip(plan.steps, step_options)):  # refuse what can be refused first
        _precheck(conv, opts, calibration is not None and i == last_index)
    for i, (conv, opts) in enumerate(zip(plan.steps, step_options)):
        last = i == last_index
        step_out = out_path if last else out_path.with_name(f"{out_path.stem}.step{i}{conv.target.suffix}")
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
    dataset = data if data is not None else synthetic_data(source if source.inputs else result.artifact)
    dataset = _with_baked(dataset, result.artifact.metadata.get("baked_inputs") or {})
    split = "test" if data is not None else "all"
    result.verification = verify(source, result.artifact, dataset, tolerance=tol, split=split,
                                 max_samples=max_samples)
    result.verified_on = f"dataset:{dataset.name}" if data is not None else "random inputs (no --data given)"


def _with_baked(dataset: Dataset, baked: dict[str, Any]) -> Dataset:
    """``dataset`` feeding the source model the constant values the conversion baked into the result.

    The converted model no longer has those inputs; the source still does, and must see the same values.
    Samples are batch-first: a value of shape [1, ...] is one sample of shape [...]. (A rank-0 input has
    no per-sample form in a batch-first dataset; feeding those is the input plan's job.)
    """
    if not baked:
        return dataset
    import numpy as np

    for name, value in baked.items():
        given = dataset.inputs.get(name)
        if given is not None and dataset.source not in ("random", "synthetic") and not np.all(given == np.asarray(value)):
            raise ConfigError(f"the data gives input {name!r} other values than {value!r}, which the conversion "
                              "baked into the model", fix=f"drop {name!r} from the data, or convert without "
                              "that constant input")
    inputs = dict(dataset.inputs)
    for name, value in baked.items():
        arr = np.asarray(value)
        sample = arr[0] if arr.ndim and arr.shape[0] == 1 else arr
        inputs[name] = np.broadcast_to(sample, (dataset.count, *sample.shape)).copy()
    return dataclasses.replace(dataset, inputs=inputs)
