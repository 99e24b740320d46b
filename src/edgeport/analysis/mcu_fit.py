"""``fit``, measured: generate the MCU C project, link it for the device, read the ELF, count instructions.

The planner (``analysis.memory``) estimates what TFLite Micro would need. For an int8 ``.tflite`` on a
Cortex-M part, the generated C project (``convert.tflite_to_mcu_c``) gives measured numbers instead:
flash and RAM of the linked firmware-shaped ELF (``arm-none-eabi-size`` + gcc stack usage) and the
instructions one ``model_invoke`` executes under QEMU (``-icount``; instructions, not cycles).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.artifact import load_artifact
from edgeport.core.target import Target, get_target
from edgeport.errors import EdgeportError

__all__ = ["McuMeasurement", "fit_measured", "measure_mcu"]


@dataclass
class McuMeasurement:
    """What the generated C needs on the device, measured; ``error`` says why nothing was measured."""

    device: str
    cpu: str = ""
    flash_bytes: int | None = None  # .vectors + .text (code + const weights) + .ARM.exidx + .data
    ram_bytes: int | None = None  # .data + .bss (arena + I/O buffers) + stack
    arena_bytes: int | None = None  # the planned activation arena inside .bss
    stack_bytes: int | None = None
    flash_budget_bytes: int | None = None
    ram_budget_bytes: int | None = None
    fits: bool | None = None
    instructions_per_invoke: int | None = None  # QEMU -icount: instructions, not cycles
    qemu_machine: str = ""
    source: str = "measured: arm-none-eabi-size on the linked ELF; instructions under qemu-system-arm -icount"
    error: str = ""
    notes: list[str] = field(default_factory=list)


def measure_mcu(model: str | Path, target: Target | str, *, instructions: bool = True,
                timeout_s: float = 300.0) -> McuMeasurement:
    """Generate, link and measure ``model`` (an int8 ``.tflite``) for the Cortex-M ``target``.

    User errors (float model, unsupported op, arena over SRAM, missing toolchain) come back in
    ``error`` — ``fit`` still has its estimate — so they are reported beside it, not raised."""
    from edgeport.convert.tflite_to_mcu_c import McuCOptions, TfliteToMcuC
    from edgeport.runtimes.mcu import McuOptions, McuRuntime, elf_sizes

    tgt = get_target(target) if isinstance(target, str) else target
    result = McuMeasurement(device=tgt.id, flash_budget_bytes=tgt.memory.flash_bytes,
                            ram_budget_bytes=tgt.memory.sram_bytes)
    with tempfile.TemporaryDirectory(prefix="edgeport-mcu-fit-") as tmp:
        work = Path(tmp)
        try:
            artifact = TfliteToMcuC().convert(load_artifact(model), work / "project", McuCOptions(device=tgt.id), None)
            project = Path(artifact.path)
            sizes = elf_sizes(project, work / "build", timeout_s=timeout_s)
            result.cpu = str(artifact.metadata.get("cpu", ""))
            result.arena_bytes = int(artifact.metadata.get("arena_bytes", 0))
            result.flash_bytes, result.ram_bytes, result.stack_bytes = (sizes.flash_bytes, sizes.ram_bytes,
                                                                        sizes.stack_bytes)
            result.fits = ((tgt.memory.flash_bytes is None or sizes.flash_bytes <= tgt.memory.flash_bytes)
                           and (tgt.memory.sram_bytes is None or sizes.ram_bytes <= tgt.memory.sram_bytes))
            if instructions:
                result.instructions_per_invoke, result.qemu_machine = _instructions(artifact, McuRuntime, McuOptions,
                                                                                    timeout_s)
        except EdgeportError as exc:
            result.error = str(exc)
    return result


def _instructions(artifact: Any, runtime: Any, options: Any, timeout_s: float) -> tuple[int, str]:
    """One invoke under QEMU on a zero-point input. The kernels' loops and bounds do not depend on the values,
    only a few clamps do: counts over 20 random samples differed by under 0.01 %, so one sample is enough."""
    with runtime(artifact, options(target="qemu", timeout_s=timeout_s)) as rt:
        spec = rt.input_specs()[0]
        shape = tuple(1 if not isinstance(d, int) else d for d in spec.shape)
        zp = spec.quant.zero_point[0] if spec.quant is not None else 0
        rt.run({spec.name: np.full(shape, zp, dtype=np.int8)}, raw=True)
        return int(rt.last_stats["instructions_per_invoke"]), str(rt.describe().get("qemu_machine") or "")


def fit_measured(model: str | Path, target: Target | str, **kwargs: Any) -> Any:
    """``analysis.memory.fit`` (the planner's estimate) with ``measured`` filled by ``measure_mcu``."""
    from edgeport.analysis.memory import fit

    tgt = get_target(target) if isinstance(target, str) else target
    result = fit(model, tgt, **kwargs)
    result.measured = measure_mcu(model, tgt)
    return result
