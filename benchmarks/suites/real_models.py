"""Real third-party models (the zoo): every CLI command a user would run, and what each gave.

Per zoo model (``tests/realmodels/manifest.toml``, fetched by ``make zoo``): ``profile``, ``check``,
``fit``, ``bench`` at 1 thread on every installed runtime that loads its format, ``convert`` to each
other format (onnx, openvino, tflite, tvm, executorch, coreml) and ``verify`` of each conversion
against the source, then ``bench`` of each conversion on its runtimes. Every command gets the
manifest's ``--shape``/``--input`` flags, exactly as a user would type them, and runs as a separate
process with a time limit, so one hang or crash costs one cell. The first table is the summary (a
regression on a real model shows up there); the second lists every command with its exit code and
one-line error. Smoke mode skips the suite (it builds and converts a dozen models).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured

NAME = "real_models"
TITLE = "Real third-party models: profile/check/fit, bench per runtime (1 thread), convert+verify per format"
ORDER = 55

FORMATS = ("onnx", "openvino", "tflite", "tvm", "executorch", "coreml")
TIMEOUT_ENV = "EDGEPORT_BENCH_ZOO_TIMEOUT_S"  # seconds each command may take [300]
MODELS_ENV = "EDGEPORT_BENCH_ZOO_MODELS"  # comma-separated zoo ids to run [all]
_CLI = "import sys; from edgeport.cli.main import main; sys.exit(main())"


@dataclass
class Step:
    model: str
    step: str  # e.g. "convert →tflite", "bench litert (tflite)"
    rc: int | None  # None: timed out
    seconds: float
    error: str = ""  # one line, empty on success
    json: dict[str, Any] = field(default_factory=dict)
    answered: bool = False  # a non-zero exit that is the command's answer (fit: "does not fit")

    @property
    def ok(self) -> bool:
        return self.rc == 0 or self.answered


def _zoo() -> Any:
    root = Path(__file__).resolve().parents[2] / "tests" / "realmodels"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import zoo

    return zoo


def _one_line_error(stderr: str, stdout: str, rc: int) -> str:
    """The line that says why: the CLI's ``error: …``, else a traceback's last line, else the last line."""
    lines = [ln.strip() for ln in (stderr or stdout).splitlines() if ln.strip()]
    if not lines:
        return f"exit {rc} with no output"
    if any(ln.startswith("Traceback") for ln in lines):
        return lines[-1][:300]
    for ln in lines:
        if re.match(r"^(error|Error)\b", ln):
            return ln[:300]
    return lines[-1][:300]


class _Runner:
    def __init__(self, ctx: Context, model_id: str, timeout: float) -> None:
        self.ctx, self.model, self.timeout = ctx, model_id, timeout
        self.steps: list[Step] = []
        self.env = {**os.environ, "EDGEPORT_STORE": str(ctx.work_dir / "store.db")}

    def __call__(self, step: str, args: list[str]) -> Step:
        start = time.perf_counter()
        # its own session, so a timeout also ends the converter workers it started
        proc = subprocess.Popen([sys.executable, "-c", _CLI, *args, "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.ctx.work_dir,
                                start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            result = Step(self.model, step, None, time.perf_counter() - start, f"timed out after {self.timeout:g} s")
        else:
            result = Step(self.model, step, proc.returncode, time.perf_counter() - start)
            try:
                result.json = json.loads(stdout) if stdout.strip() else {}
            except json.JSONDecodeError:
                pass
            verdict = (result.json.get("data") or {}).get("verdict") if isinstance(result.json, dict) else None
            if proc.returncode != 0:  # a JSON verdict (verify outside tolerance, …) says more than stderr's tail
                result.error = (str(verdict)[:300] if verdict and not stderr.strip()
                                else _one_line_error(stderr, stdout, proc.returncode))
        self.ctx.log(f"[real_models] {self.model}: {step}: "
                     + ("ok" if result.ok else f"rc={result.rc} {result.error}") + f" ({result.seconds:.1f} s)")
        self.steps.append(result)
        return result


def _runtimes_for(fmt: str) -> list[str]:
    """Installed runtimes that load ``fmt`` on this host, preferred first."""
    from edgeport.core.formats import Format
    from edgeport.runtimes.base import runtimes_for

    return [c.name for c in runtimes_for(Format.parse(fmt)) if c.runnable_here and c.available()]


def _bench_args(ctx: Context) -> list[str]:
    return ["--threads", "1", "--warmup", "5", "--min-seconds", "2"] if not ctx.smoke else ["--threads", "1",
                                                                                            "--runs", "10"]


def _median(step: Step) -> float | str:
    """The bench median (ms), or ✗ when the bench failed (its error is in the commands table)."""
    rows = (step.json.get("data") or {}).get("rows") or []
    return rows[0]["latency_ms"]["median"] if step.ok and rows else "✗"


def _cli_takes_input_flags() -> bool:
    """Whether this edgeport's CLI has ``--shape``/``--input`` (without them a dynamic model runs as the file says)."""
    proc = subprocess.run([sys.executable, "-c", _CLI, "profile", "--help"], capture_output=True, text=True,
                          timeout=120)
    return "--shape" in proc.stdout


def _survey_model(ctx: Context, model: Any, path: Path, timeout: float,
                  with_flags: bool) -> tuple[list[Step], dict[str, Any]]:
    run = _Runner(ctx, model.id, timeout)
    flags = model.cli_args() if with_flags else []
    src_fmt = model.suffix.lstrip(".")
    row: dict[str, Any] = {"model": model.id, "format": src_fmt}
    for cmd in ("profile", "check"):
        row[cmd] = "ok" if run(cmd, [cmd, str(path), *flags]).ok else "✗"
    fit = run("fit", ["fit", str(path), *flags])
    fits = (fit.json.get("data") or {}).get("fits") if fit.rc in (0, 1) else None
    if fits is not None:  # exit 1 with a verdict is fit's answer "does not fit", not a failure
        fit.answered = True
    row["fit"] = {True: "fits", False: "no fit"}.get(fits, "✗")
    for rt in _runtimes_for(src_fmt):
        row[f"ms:{rt}"] = _median(run(f"bench {rt}", ["bench", str(path), "--runtime", rt, *_bench_args(ctx),
                                                      *flags]))
    work = path.parent
    for fmt in FORMATS:
        if fmt == src_fmt:
            row[f"to:{fmt}"] = "source"
            continue
        from edgeport.core.formats import Format

        out = work / f"{model.id}{Format.parse(fmt).suffix or '.' + fmt}"
        conv = run(f"convert →{fmt}", ["convert", str(path), "--to", fmt, "-o", str(out), "--no-verify",
                                       "--timeout", f"{0.9 * timeout:g}", *flags])
        if not conv.ok:
            row[f"to:{fmt}"] = "convert ✗" if conv.rc is not None else "convert timeout"
            continue
        ver = run(f"verify →{fmt}", ["verify", str(path), str(out), "--max-samples", "8", *flags])
        row[f"to:{fmt}"] = "✓" if ver.ok else ("verify ✗" if ver.rc is not None else "verify timeout")
        for rt in _runtimes_for(fmt):
            row[f"ms:{rt} ({fmt})"] = _median(run(f"bench {rt} ({fmt})", ["bench", str(out), "--runtime", rt,
                                                                            *_bench_args(ctx), *flags]))
    return run.steps, row


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("real models", "smoke mode skips the zoo (it converts a dozen models)")
        return suite
    zoo = _zoo()
    timeout = float(os.environ.get(TIMEOUT_ENV, "300") or 300)
    source_keys = [f"ms:{rt}" for fmt in ("onnx", "tflite") for rt in _runtimes_for(fmt)]
    converted_keys = [f"ms:{rt} ({fmt})" for fmt in FORMATS for rt in _runtimes_for(fmt)]
    columns: list[Any] = ["model", "format", "profile", "check", "fit",
                          *[(k, k[3:] + " ms") for k in dict.fromkeys(source_keys + converted_keys)],
                          *[(f"to:{f}", f"→{f}") for f in FORMATS]]
    summary = Table("Per zoo model: bench median per runtime at 1 thread (ms), convert+verify per format", columns)
    summary.notes.append("→F: ✓ converted and verified against the source; 'convert ✗'/'verify ✗': that step "
                         "failed (its error is in the next table); 'source': the model's own format; "
                         "'runtime (F) ms': the conversion to F benchmarked on that runtime")
    with_flags = _cli_takes_input_flags()
    if not with_flags:
        suite.notes.append("this CLI has no --shape/--input: every command ran without the manifest's shapes")
    wanted = {m.strip() for m in os.environ.get(MODELS_ENV, "").split(",") if m.strip()}
    steps: list[Step] = []
    with measured(summary, 1):
        for model in zoo.load_manifest().values():
            if wanted and model.id not in wanted:
                continue
            why = zoo.missing(model)
            if why is not None:
                suite.skip(model.id, f"{why}; run `make zoo`")
                continue
            # a copy: a backend that rewrites its input in place must not corrupt the cache (onnx2tf did)
            work = ctx.work_dir / "real_models" / model.id
            work.mkdir(parents=True, exist_ok=True)
            path = Path(shutil.copy2(model.path(), work / model.path().name))
            model_steps, row = _survey_model(ctx, model, path, timeout, with_flags)
            if zoo.sha256_of(path) != model.sha256:
                suite.notes.append(f"{model.id}: a command rewrote its input model file in place")
            steps += model_steps
            summary.add(**row)
    detail = Table("Every command: exit code, seconds, one-line error",
                   ["model", "step", ("rc", "exit"), ("seconds", "s"), ("error", "error (one line)")])
    for s in steps:
        detail.add(model=s.model, step=s.step, rc="timeout" if s.rc is None else s.rc, seconds=s.seconds,
                   error=s.error)
    suite.tables += [summary, detail]
    n_ok = sum(s.ok for s in steps)
    suite.notes.append(f"{n_ok}/{len(steps)} commands succeeded on {len(summary.rows)} models; each command had "
                       f"{timeout:g} s ({TIMEOUT_ENV})")
    return suite
