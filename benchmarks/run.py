"""Run edgeport's benchmark suite (``make bench``) and write ``benchmarks/results/``.

    python benchmarks/run.py            # full suite → benchmarks/results/{latest.json, YYYY-MM-DD.json, RESULTS.md}
    python benchmarks/run.py --smoke         # one model, few iterations (< 60 s) → benchmarks/results/tmp/
    python benchmarks/run.py --only digits,harness_honesty --out /some/dir
    python benchmarks/run.py --only tool_speed --update   # re-run suites inside the committed record

Every table records the machine conditions it was measured under; a loaded machine is flagged
in the JSON (``loaded``) and at the top of RESULTS.md. Commit full runs made on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lib import Context, SuiteResult, one_line  # noqa: E402
from benchmarks.report import SCHEMA, SCHEMA_VERSION, write_results  # noqa: E402
from benchmarks.suites import discover  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="one model, few iterations (< 60 s)")
    p.add_argument("--out", type=Path, default=None, help="results directory [benchmarks/results, smoke: …/tmp]")
    p.add_argument("--only", default="", help="comma-separated suite names")
    p.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    p.add_argument("--keep-work", action="store_true", help="keep the built artifacts (printed path)")
    p.add_argument("--work", type=Path, default=None,
                   help="build in this directory and keep it; a rerun with the same directory resumes the studies "
                        "(suites that run one) instead of rebuilding every candidate")
    p.add_argument("--update", action="store_true",
                   help="re-run the --only suites and replace them in the existing full record (latest.json); "
                        "the record lists what was re-run and when, and a suite that fails keeps its old numbers")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from edgeport import __version__
    from edgeport.bench import conditions as cond
    from edgeport.report.schema import to_json

    out_dir = args.out or (RESULTS / "tmp" if args.smoke else RESULTS)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    modules = discover()
    unknown = set(only) - {m.NAME for m in modules}
    if unknown:
        print(f"error: unknown suite(s) {sorted(unknown)}; known: {', '.join(m.NAME for m in modules)}",
              file=sys.stderr)
        return 2
    base: dict | None = None
    if args.update:
        try:
            base = _base_record(out_dir, only, args.smoke)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        work, args.keep_work = args.work.resolve(), True
    else:
        work = Path(tempfile.mkdtemp(prefix="edgeport-bench-"))  # only once the arguments are known to be good
    ctx = Context.make(smoke=args.smoke, out_dir=out_dir, work_dir=work, threads=threads, only=only,
                       log=lambda msg: print(msg, file=sys.stderr, flush=True))
    start = time.perf_counter()
    before = cond.capture(None)
    results: list[SuiteResult] = []
    interrupted = False
    try:
        for module in modules:
            if only and module.NAME not in only:
                continue
            if interrupted:  # Ctrl-C: keep what was measured, list what was not
                results.append(SuiteResult(module.NAME, getattr(module, "TITLE", module.NAME),
                                           error="not run: the benchmark run was interrupted"))
                continue
            ctx.log(f"[bench] {module.NAME} …")
            t0 = time.perf_counter()
            try:
                result = module.run(ctx)
            except KeyboardInterrupt:
                interrupted = True
                result = SuiteResult(module.NAME, getattr(module, "TITLE", module.NAME),
                                     error="interrupted while running")
            except Exception as exc:  # one broken suite must not lose the others' numbers
                result = SuiteResult(module.NAME, getattr(module, "TITLE", module.NAME), error=one_line(exc))
                result.notes.append("traceback tail: " + traceback.format_exc().strip().splitlines()[-1][:300])
            result.seconds = time.perf_counter() - t0
            ctx.log(f"[bench] {module.NAME} done in {result.seconds:.1f} s"
                    + (f" — FAILED: {result.error}" if result.error else ""))
            results.append(result)
    finally:
        if args.keep_work:
            ctx.log(f"[bench] artifacts kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    after = cond.finish(before)
    suites = to_json(results)
    loaded = after.loaded or any((t.get("conditions") or {}).get("loaded") and not t.get("own_load")
                                 for s in suites for t in s["tables"])
    doc = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "edgeport_version": __version__,
           "date": dt.date.today().isoformat(),
           "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "mode": ("smoke" if args.smoke else "full") + (" (interrupted)" if interrupted else ""),
           "threads": threads, "wall_s": time.perf_counter() - start,
           "loaded": loaded, "conditions": to_json(after), "suites": suites}
    if base is not None:
        doc = _merge(base, doc, interrupted)
    paths = write_results(doc, out_dir)
    ctx.log(f"[bench] wrote {paths['latest']}, {paths['dated'].name}, {paths['markdown'].name}"
            + (" — measured on a LOADED machine" if loaded else ""))
    return 1 if any(r.error for r in results) else 0


def _base_record(out_dir: Path, only: list[str], smoke: bool) -> dict:
    """The full record ``--update`` re-runs suites of (``ValueError``: why there is none to update)."""
    import json

    if not only:
        raise ValueError("--update needs --only SUITE[,SUITE] (the suites to re-run)")
    if smoke:
        raise ValueError("--update replaces suites of a full record; a smoke run cannot")
    latest = out_dir / "latest.json"
    try:
        doc = json.loads(latest.read_text())
    except FileNotFoundError:
        raise ValueError(f"{latest}: no record to update; run the full suite first (make bench)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{latest}: not valid JSON ({exc}); run the full suite again (make bench)") from None
    if not str(doc.get("mode", "")).startswith("full"):
        raise ValueError(f"{latest} is a {doc.get('mode')!r} record; --update only re-runs suites of a full record")
    return doc


def _merge(base: dict, new: dict, interrupted: bool) -> dict:
    """``base`` with the suites of ``new`` that ran without error swapped in (each marked with when)."""
    fresh = {s["name"]: s for s in new["suites"] if s.get("error") is None}
    replaced = []
    suites = []
    for s in base["suites"]:
        if s["name"] in fresh:
            suites.append(dict(fresh.pop(s["name"]), rerun=new["created"]))
            replaced.append(s["name"])
        else:
            suites.append(s)
    for name, s in fresh.items():  # a suite the base record did not have
        suites.append(dict(s, rerun=new["created"]))
        replaced.append(name)
    kept = [s["name"] for s in new["suites"] if s.get("error") is not None]
    doc = dict(base, suites=suites, date=new["date"])
    doc["updates"] = [*base.get("updates", []), {
        "created": new["created"], "edgeport_version": new["edgeport_version"], "suites": replaced,
        "failed_kept_old": kept, "wall_s": new["wall_s"], "loaded": new["loaded"], "interrupted": interrupted,
        "conditions": new["conditions"]}]
    doc["loaded"] = bool(base.get("loaded")) or bool(new["loaded"] and replaced)
    return doc


if __name__ == "__main__":
    sys.exit(main())
