"""``edgeport pipeline``: the example pipeline measured end to end against its composed prediction, and the
cost of running its stages on two runtimes in one process.

The example (detector → reader on crops, plus a glance every 2nd frame) is planned and run twice:
all stages on ONNX Runtime, and with the reader forced onto OpenVINO. Each run reports the measured
per-frame median and mean (sequential and parallel), the mean composed from each stage timed in
turn with the others (and its 95 % interval), the composition from the studies' medians, and what
sharing the process costs: the per-frame mean composed from the stages timed in turn minus timed
back to back, and the memory the second runtime adds.
"""

from __future__ import annotations

import dataclasses

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

NAME = "pipeline"
TITLE = "edgeport pipeline: measured per-frame time vs composed prediction, mixed runtimes in one process"
ORDER = 16


def _run(ctx: Context, label: str, reader_runtime: str) -> object:
    from edgeport.pipeline import load_pipeline, run_pipeline
    from edgeport.pipeline.example import example_pipeline_path
    from edgeport.store import Store

    spec = load_pipeline(example_pipeline_path())
    stages = tuple(dataclasses.replace(s, runtimes=(reader_runtime,)) if s.name == "reader" else s
                   for s in spec.stages)
    spec = dataclasses.replace(spec, stages=stages, frames=1000)
    out = ctx.work_dir / f"pipeline-{label}"
    return run_pipeline(spec, store=Store(out / "store.db"), out_dir=out)


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("pipeline", "smoke mode: three stage studies and two end-to-end runs (about a minute)")
        return suite
    frames = Table("Example pipeline on the host, 1000 frames: measured vs composed (ms per frame)",
                   [["config", "config"], ["mode", "run"], ["median", "measured median"], ["mean", "measured mean"],
                    ["p99", "p99"], ["fps", "FPS"], ["composed", "composed mean"], ["interval", "composed 95%"],
                    ["study", "from study medians"], ["ratio", "measured / composed"]])
    mixed = Table("Stages on one or two runtimes in one process",
                  [["config", "config"], ["runtimes", "runtimes"], ["seq_median", "sequential median ms"],
                   ["sharing_ms", "in turn − back to back, ms/frame"], ["resident_mb", "all resident MB"],
                   ["runtime_mb", "RSS added per runtime (MB)"], ["stages", "per-call median in the pipeline, ms"]])
    suite.tables.extend([frames, mixed])
    medians: dict[str, float] = {}
    with measured(frames, threads=1), measured(mixed, threads=1):
        for label, runtime in (("onnxruntime", "onnxruntime"), ("mixed", "openvino")):
            try:
                result = _run(ctx, label, runtime)
            except Exception as exc:  # recorded; the other configuration still runs
                suite.skip(f"pipeline ({label})", one_line(exc))
                continue
            host = result.host
            if host is None:
                suite.skip(f"pipeline ({label})",
                           next((p.reason for p in result.plans if not p.met), "no host choice"))
                continue
            study = result.composed[3]
            for run_, comp in ((host.sequential, result.composed[0]), (host.parallel, result.composed[1])):
                frames.add(config=label, mode=run_.mode, median=run_.median_ms, mean=run_.mean_ms, p99=run_.p99_ms,
                           fps=round(run_.fps), composed=comp.mean_ms,
                           interval=f"{comp.low_ms:.4g}–{comp.high_ms:.4g}",
                           study=study.mean_ms if run_.mode == "sequential" else None,
                           ratio=run_.mean_ms / comp.mean_ms)
            seq, comp = host.sequential, result.composed[0]
            suite.target(f"{label}: |measured sequential mean / composed − 1|", abs(seq.mean_ms / comp.mean_ms - 1),
                         0.25, "")
            medians[label] = seq.median_ms
            mixed.add(config=label, runtimes=", ".join(result.runtimes), seq_median=seq.median_ms,
                      sharing_ms=result.mixed_runtime_overhead_ms, resident_mb=host.resident_mb,
                      runtime_mb=", ".join(f"{k} {v:.1f}" for k, v in host.runtime_mb.items()),
                      stages=", ".join(f"{k} {v:.3f}" for k, v in seq.stage_ms.items()))
    if len(medians) == 2:
        mixed.notes.append(f"mixed / one-runtime sequential median: {medians['mixed'] / medians['onnxruntime']:.3f} "
                           "(the per-call medians show which stage pays for it)")
    suite.notes.append("the parallel run groups stages by depth and runs a depth's stages in threads; on "
                       "sub-millisecond stages the thread hand-off costs more than the overlap saves")
    return suite
