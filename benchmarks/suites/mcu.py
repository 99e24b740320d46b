"""MCU: edgeport's generated C against TFLite Micro — RAM, flash and instructions per inference.

Per model (int8, built by code with seeded weights; calibrated on seeded random inputs):

* ours — the generated C project for a Cortex-M7 (stm32h743), linked (``make size``) and measured with
  ``arm-none-eabi-size``: flash = code + const weights + .data; RAM = .data + .bss + stack, where .bss is the
  planned arena (the firmware writes its input into it: ``model_input()``/``model_run()``, no I/O buffers
  beside it). "model RAM" is arena + stack. The plan writes outputs over the inputs their kernels consume
  and streams the largest intermediate of an adjacent conv/pool pair through a line buffer.
* TFLite Micro — the smallest arena its Python interpreter accepts (bisection, reference kernels); its flash
  is weights + the planner's code estimate (``analysis.memory``: ~30 KB interpreter core + per-op kernels),
  an estimate: TFLite Micro is not cross-built here.
* instructions — one ``model_invoke`` under ``qemu-system-arm -M mps2-an500 -icount shift=0`` (Cortex-M7):
  instructions, not cycles.

Targets (from the issue, after Edge Impulse EON's published band): model RAM ≤ 0.6 × TFLM's arena and flash ≤
0.9 × TFLM's flash, every model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured

NAME = "mcu"
TITLE = "MCU C vs TFLite Micro: RAM, flash, QEMU instructions"
ORDER = 90


def _models(work: Path) -> dict[str, Path]:
    from edgeport.data.examples import int8_keras_tflite, mobilenet_style_model_path, person_detect_model_path

    def digits() -> Any:
        import keras

        L = keras.layers
        return keras.Sequential([keras.Input((8, 8, 1), batch_size=1),
                                 L.Conv2D(16, 3, padding="same", activation="relu"),
                                 L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(),
                                 L.Flatten(), L.Dense(64, activation="relu"), L.Dense(10)])

    recipe = {"arch": "bench-digits-cnn-v1", "input": [8, 8, 1], "seed": 0, "calibration": 16}
    return {"person-detect (96x96x1)": person_detect_model_path(work),
            "digits-cnn (8x8x1)": int8_keras_tflite(recipe, "digits-cnn", digits, work),
            "mobilenet-style (32x32x3)": mobilenet_style_model_path(work)}


def run(ctx: Context) -> SuiteResult:
    import numpy as np

    from edgeport.analysis.mcu_fit import measure_mcu
    from edgeport.analysis.memory import estimate_memory
    from edgeport.analysis.tflm_arena import tflm_min_arena
    from edgeport.graph.tflite_reader import read_graph

    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("mcu", "smoke mode: cross-builds and emulates three models (tests cover the path)")
        return suite
    table = Table("Cortex-M7 (stm32h743): generated C (measured ELF) vs TFLite Micro",
                  [("model", "model"), ("ops", "ops"), ("tflm_arena", "TFLM arena B (measured)"),
                   ("arena", "our arena B"), ("stack", "stack B"), ("model_ram", "our model RAM B"),
                   ("ram_ratio", "model RAM / TFLM arena"), ("elf_ram", "ELF RAM B"),
                   ("tflm_flash", "TFLM flash B (estimate)"), ("flash", "our flash B (measured)"),
                   ("flash_ratio", "flash / TFLM"), ("instructions", "instructions / inference (QEMU M7)")])
    worst_ram, worst_flash = 0.0, 0.0
    with measured(table, 1):
        for name, path in _models(ctx.work_dir).items():
            ctx.log(f"mcu: {name}")
            graph = read_graph(path)
            spec = graph.tensors[graph.inputs[0]]
            shape = tuple(d if isinstance(d, int) else 1 for d in spec.shape or ())
            feed = np.zeros(shape, dtype=np.int8)
            tflm = tflm_min_arena(path, [feed], upper=1 << 20)
            est = estimate_memory(path)
            m = measure_mcu(path, "stm32h743")
            if m.error:
                suite.skip(name, m.error)
                continue
            model_ram = int(m.arena_bytes or 0) + int(m.stack_bytes or 0)
            ram_ratio = model_ram / tflm.min_arena_bytes
            flash_ratio = int(m.flash_bytes or 0) / est.flash_bytes
            worst_ram, worst_flash = max(worst_ram, ram_ratio), max(worst_flash, flash_ratio)
            table.add(model=name, ops=" ".join(f"{k}x{v}" for k, v in sorted(graph.op_types().items())),
                      tflm_arena=tflm.min_arena_bytes, arena=m.arena_bytes, stack=m.stack_bytes, model_ram=model_ram,
                      ram_ratio=round(ram_ratio, 3), elf_ram=m.ram_bytes, tflm_flash=est.flash_bytes,
                      flash=m.flash_bytes, flash_ratio=round(flash_ratio, 3), instructions=m.instructions_per_invoke)
    table.notes.append("TFLite Micro's arena holds a greedy plan of whole tensors, none overlapping, plus its "
                       "interpreter structures; the generated C's plan overlaps outputs with the inputs their "
                       "kernels consume and line-buffers the peak intermediate (+ stack). Flash of TFLite Micro is "
                       "an estimate.")
    suite.tables.append(table)
    if table.rows:
        suite.target("worst model RAM / TFLM arena", worst_ram, 0.6, "x")
        suite.target("worst flash / TFLM flash", worst_flash, 0.9, "x")
    return suite
