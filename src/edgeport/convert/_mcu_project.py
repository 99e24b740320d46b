"""Write the self-contained C99 project for an int8 ``.tflite``: weights in flash, one planned arena.

Files: ``model.h`` (I/O shapes and quantisation, ``model_invoke``), ``model.c`` (const weights and
kernel parameters, the static arena, the call sequence), ``ep_kernels.[ch]`` (the kernels),
``ep_main.c`` (host/QEMU harness over ``input.bin``), ``ep_startup.c`` + linker scripts (Cortex-M),
``ep_size_main.c`` (the firmware-shaped program whose ELF is measured), a ``Makefile``, and
``edgeport-mcu.json`` (what edgeport's runtime and ``fit`` read back).

Activations live in one ``static int8_t`` arena at the offsets of edgeport's memory planner
(``analysis.memory``: greedy first-fit, 16-byte aligned; Reshape aliases its input). Unlike TFLite
Micro's plan, an output may overlap the input its kernel consumes last: the kernels write in address
order, so a convolution's or pool's output can start just far enough below its input never to overwrite
a byte still to be read (``_window_gap``), and same-shape elementwise ops run in place. Where an adjacent
conv/pool pair's intermediate is the largest tensor around it, the pair runs row by row through a line
buffer of the consumer's window height instead (``_fusions``): that tensor never exists whole.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.analysis.memory import TensorLifetime, lifetimes, plan_arena
from edgeport.convert._mcu_lower import SUPPORTED_OPS, Lowering, carray
from edgeport.core.target import Target
from edgeport.errors import UnsupportedError
from edgeport.graph.ir import Graph

__all__ = ["MANIFEST", "McuCpu", "cpu_for", "write_project"]

MANIFEST = "edgeport-mcu.json"
_STATIC = ("ep_kernels.c", "ep_kernels.h", "ep_main.c", "ep_startup.c", "ep_size_main.c")
_QUANT_FIX = "the MCU path needs a full-integer int8 model: edgeport quantize MODEL --precision int8"
_TFLM_FIX = "run it with TFLite Micro instead (edgeport fit MODEL --device D plans its arena)"


@dataclass(frozen=True)
class McuCpu:
    """A Cortex-M core: its gcc flags and the QEMU machine that emulates it."""

    name: str
    flags: str
    qemu_machine: str
    qemu_hz: int  # the QEMU machine's CPU clock (SysTick with the processor clock)
    qemu_flash: tuple[int, int]  # (origin, length) of the code memory
    qemu_ram: tuple[int, int]


_CPUS = {
    "cortex-m4": McuCpu("cortex-m4", "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16", "mps2-an386",
                        25_000_000, (0x0, 0x400000), (0x20000000, 0x400000)),
    "cortex-m7": McuCpu("cortex-m7", "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16", "mps2-an500",
                        25_000_000, (0x0, 0x400000), (0x20000000, 0x400000)),
    "cortex-m55": McuCpu("cortex-m55", "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard", "mps3-an547",
                         32_000_000, (0x0, 0x80000), (0x21000000, 0x400000)),
}


def cpu_for(target: Target) -> McuCpu:
    """The Cortex-M core of a device profile (from its CPU name), or ``UnsupportedError``."""
    text = f"{target.cpu.name} {target.name}".lower()
    for key in ("cortex-m55", "cortex-m7", "cortex-m4"):
        if key in text.replace(" ", "-"):
            return _CPUS[key]
    raise UnsupportedError(f"{target.id} has no Arm Cortex-M4/M7/M55 core ({target.cpu.name})",
                           fix="pick a Cortex-M device: stm32f446, stm32f746, stm32h743, alif-e7")


def _without_shape_arithmetic(graph: Graph) -> Graph:
    """``graph`` without the nodes that only compute a RESHAPE's target shape (SHAPE → STRIDED_SLICE → PACK, as
    Keras' Flatten exports with a dynamic batch): with every shape static, the target is the output's shape."""
    shape_only: set[str] = set()
    for node in reversed(graph.nodes):
        users = [(c, c.inputs.index(o)) for o in node.outputs for c in graph.consumers.get(o, [])]
        if node.op_type in _SHAPE_OPS and users and all(
                (c.op_type == "RESHAPE" and i == 1) or c.name in shape_only for c, i in users):
            shape_only.add(node.name)
    if not shape_only:
        return graph
    return dataclasses.replace(graph, nodes=[n for n in graph.nodes if n.name not in shape_only])


_SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "GATHER", "SLICE"}


def _float_io(graph: Graph) -> set[str]:
    """The float32 tensors the kernels accept: a model input only QUANTIZE reads, a model output DEQUANTIZE
    writes (a full-integer model converted with float I/O)."""
    producers = {o: n for n in graph.nodes for o in n.outputs}
    ok = {x for x in graph.inputs if graph.consumers.get(x) and all(c.op_type == "QUANTIZE"
                                                                     for c in graph.consumers[x])}
    ok |= {y for y in graph.outputs if y in producers and producers[y].op_type == "DEQUANTIZE"}
    return {t for t in ok if graph.tensors[t].dtype == "float32"}


def _check_model(graph: Graph) -> None:
    unsupported = sorted({n.op_type for n in graph.nodes if n.op_type not in SUPPORTED_OPS or n.domain})
    float_io = _float_io(graph)
    if any(graph.tensors[n].dtype not in ("int8",) and n not in float_io for n in (*graph.inputs, *graph.outputs)) \
            or any(t.dtype in ("float32", "float16") and t.name not in float_io for t in graph.tensors.values()):
        raise UnsupportedError(f"{graph.name} is not a full-integer int8 model (float tensors inside the graph)",
                               fix=_QUANT_FIX + " (int8 kernels throughout; int8 or float32 inputs and outputs)")
    if unsupported:
        raise UnsupportedError(f"{graph.name} uses op(s) the MCU C kernels do not implement: "
                               f"{', '.join(unsupported)} (implemented: {', '.join(SUPPORTED_OPS)})",
                               fix=_TFLM_FIX)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedError(f"{graph.name} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                               "model_invoke takes one of each", fix=_TFLM_FIX)


_WINDOWED = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"}
_ELEMENTWISE = {"ADD", "MUL", "QUANTIZE", "LOGISTIC", "HARD_SWISH", "SOFTMAX"}


@dataclass(frozen=True)
class _Window:
    """A windowed op's geometry (NHWC)."""

    n: int
    ih: int
    iw: int
    ic: int
    oh: int
    ow: int
    oc: int
    kh: int  # the dilated window height
    sh: int
    sw: int
    ph: int
    pw: int


def _window(graph: Graph, node: Any) -> _Window | None:
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if len(x.shape or ()) != 4 or len(y.shape or ()) != 4:
        return None
    dims = [tuple(d if isinstance(d, int) and d > 0 else 1 for d in t.shape) for t in (x, y)]
    (n, ih, iw, ic), (_, oh, ow, oc) = dims
    a = node.attrs
    if node.op_type in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh, kw = (graph.tensors[node.inputs[1]].shape or (1, 1, 1))[1:3]
        dh, dw = int(a.get("dilation_h_factor", 1)), int(a.get("dilation_w_factor", 1))
    else:
        kh, kw, dh, dw = int(a["filter_height"]), int(a["filter_width"]), 1, 1
    sh, sw = int(a.get("stride_h", 1)), int(a.get("stride_w", 1))
    same = a.get("padding") == "SAME"
    ph = max((oh - 1) * sh + (int(kh) - 1) * dh + 1 - ih, 0) // 2 if same else 0
    pw = max((ow - 1) * sw + (int(kw) - 1) * dw + 1 - iw, 0) // 2 if same else 0
    return _Window(n, ih, iw, ic, oh, ow, oc, (int(kh) - 1) * dh + 1, sh, sw, ph, pw)


def _window_gap(graph: Graph, node: Any) -> int | None:
    """How far below its input a windowed kernel's output may start: the kernels write output pixels in
    address order, all channels of a pixel after reading its window, so after pixel ``p`` the output reaches
    ``(p + 1) · C_out`` bytes and must stay below the lowest input byte any pixel from ``p`` on still reads."""
    g = _window(graph, node)
    if g is None:
        return None
    b, oy, ox = np.meshgrid(np.arange(g.n), np.arange(g.oh), np.arange(g.ow), indexing="ij")
    iy = np.clip(oy * g.sh - g.ph, 0, g.ih - 1)
    ix = np.clip(ox * g.sw - g.pw, 0, g.iw - 1)
    lowest = (((b * g.ih + iy) * g.iw + ix) * g.ic).reshape(-1)  # lowest input byte each output pixel reads
    still_read = np.minimum.accumulate(lowest[::-1])[::-1]
    written = (np.arange(lowest.size) + 1) * g.oc
    return int(np.max(written - still_read))


@dataclass(frozen=True)
class _Fusion:
    """Two windowed ops run row-interleaved: the producer ``a`` writes its output (``tensor``) into a line
    buffer of ``ring`` rows, from which the consumer ``b`` computes each output row as soon as the rows its
    window needs exist. Before ``b``'s row ``r``, ``a`` has produced rows up to ``r·stride - pad + window``."""

    a: int
    b: int
    tensor: str
    ring: int
    rows: int  # the producer's output rows
    out_rows: int  # the consumer's
    stride: int
    pad: int
    gap: int  # how far below the producer's input the consumer's output may start


def _fusions(graph: Graph) -> list[_Fusion]:
    """Adjacent windowed pairs whose intermediate is the largest of the three tensors (the arena's peak):
    a line buffer replaces it (what TinyEngine/MCUNetV2-style schedules do; TFLite Micro holds it whole)."""
    out: list[_Fusion] = []
    i = 0
    while i + 1 < len(graph.nodes):
        a, b = graph.nodes[i], graph.nodes[i + 1]
        ga = _window(graph, a) if a.op_type in _WINDOWED else None
        gb = _window(graph, b) if b.op_type in _WINDOWED else None
        t = a.outputs[0] if a.outputs else ""
        if ga is None or gb is None or ga.n != 1 or b.inputs[0] != t or t in graph.outputs or \
                [c.name for c in graph.consumers.get(t, [])] != [b.name] or \
                ga.oh * ga.ow * ga.oc <= max(ga.ih * ga.iw * ga.ic, gb.oh * gb.ow * gb.oc) or gb.kh >= ga.oh:
            i += 1
            continue
        # the consumer's output row r is written once the producer has consumed input up to its row next(r)
        gap = -ga.ih * ga.iw * ga.ic
        for r in range(gb.oh):
            nxt = min(r * gb.sh - gb.ph + gb.kh, ga.oh)
            if nxt >= ga.oh:
                break
            gap = max(gap, (r + 1) * gb.ow * gb.oc - max(0, nxt * ga.sh - ga.ph) * ga.iw * ga.ic)
        out.append(_Fusion(i, i + 1, t, gb.kh, ga.oh, gb.oh, gb.sh, gb.ph, gap))
        i += 2
    return out


def _overlaps(graph: Graph, bufs: list[TensorLifetime]) -> dict[tuple[str, str], int]:
    """The (input, output) buffer pairs whose kernel may write its output over the input it consumes last:
    windowed ops (CONV_2D, DEPTHWISE_CONV_2D, pools) with the gap ``_window_gap`` computes, same-shape
    elementwise ops in place (gap 0). TFLite Micro's greedy arena never overlaps two live tensors."""
    by_name = {b.name: b for b in bufs}
    root = {b.name: (b.alias_of or b.name) for b in bufs}
    out: dict[tuple[str, str], int] = {}
    for i, node in enumerate(graph.nodes):
        if node.op_type not in _WINDOWED | _ELEMENTWISE or not node.outputs or node.outputs[0] not in root:
            continue
        y = root[node.outputs[0]]
        if y != node.outputs[0]:
            continue
        for name in node.inputs[:2] if node.op_type in ("ADD", "MUL") else node.inputs[:1]:
            if name not in root or by_name[root[name]].last != i or name in graph.outputs:
                continue
            if node.op_type in _WINDOWED:
                gap = _window_gap(graph, node)
            else:
                gap = 0 if graph.tensors[name].shape == graph.tensors[node.outputs[0]].shape and \
                    graph.tensors[name].dtype == graph.tensors[node.outputs[0]].dtype else None
            if gap is not None:
                out[root[name], y] = gap
                break
    return out


def _plan(graph: Graph, scratch: dict[int, int],
          fusions: list[_Fusion]) -> tuple[dict[str, TensorLifetime], int]:
    bufs = lifetimes(graph, inplace=True)
    bufs += [TensorLifetime(f"scratch:{i}", size, i, i) for i, size in scratch.items()]
    by_name = {b.name: b for b in bufs}
    fused_pairs: dict[tuple[str, str], int] = {}
    for f in fusions:  # the pair runs as one step: its input and output live through both nodes
        a, b = graph.nodes[f.a], graph.nodes[f.b]
        x = by_name[by_name[a.inputs[0]].alias_of or a.inputs[0]]
        y, t = by_name[b.outputs[0]], by_name[f.tensor]
        dims = graph.tensors[f.tensor].shape or ()
        t.nbytes = f.ring * int(np.prod([d if isinstance(d, int) and d > 0 else 1 for d in dims[2:]]))
        if x.last == f.a and a.inputs[0] not in graph.outputs:
            fused_pairs[x.name, y.name] = f.gap
        x.last, y.first = max(x.last, f.b), min(y.first, f.a)
    overlaps = {k: v for k, v in _overlaps(graph, bufs).items() if not {k[0], k[1]} & {f.tensor for f in fusions}}
    plan = plan_arena(bufs, {**overlaps, **fused_pairs})
    return {b.name: b for b in plan.buffers}, max(plan.activation_bytes, 16)


def _ctype(graph: Graph, name: str) -> str:
    return "float" if graph.tensors[name].dtype == "float32" else "int8_t"


def _io_defines(graph: Graph, lower: Lowering, kind: str, name: str) -> str:
    shape = ", ".join(str(d) for d in lower.dims(name))
    lines = [f"#define MODEL_{kind}_SIZE {lower.numel(name)}", f"#define MODEL_{kind}_SHAPE {{{shape}}}",
             f"typedef {_ctype(graph, name)} model_{kind.lower()}_t;"]
    if graph.tensors[name].dtype == "int8":
        scale, zp = lower.qp(name)
        lines += [f"#define MODEL_{kind}_SCALE {float(np.float32(scale))!r}f", f"#define MODEL_{kind}_ZERO_POINT {zp}"]
    return "\n".join(lines)


def _header(graph: Graph, lower: Lowering) -> str:
    x, y = graph.inputs[0], graph.outputs[0]
    kinds = f"{graph.tensors[x].dtype} in, {graph.tensors[y].dtype} out"
    return f"""/* Generated by edgeport from {graph.name}.tflite: {kinds}. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

{_io_defines(graph, lower, "INPUT", x)}
{_io_defines(graph, lower, "OUTPUT", y)}

/* int8 tensors: real value = scale * (q - zero_point). Returns 0. Not re-entrant: one static arena. */
int model_invoke(const {_ctype(graph, x)} *in, {_ctype(graph, y)} *out);

/* Without I/O buffers of your own: write the input at model_input() (the arena), call model_run(), read
 * the output at model_output(). The arena is reused during the run: the input is gone afterwards, and the
 * output is valid until the next run. */
{_ctype(graph, x)} *model_input(void);
const {_ctype(graph, y)} *model_output(void);
int model_run(void);

#endif
"""


def _makefile(cpu: McuCpu, target: Target) -> str:
    return f"""# Generated by edgeport for {target.id} ({cpu.name}).
#   make host   - host gcc build of the harness (verification against TFLite)
#   make qemu   - {cpu.name} build for qemu-system-arm -M {cpu.qemu_machine} (semihosting I/O)
#   make size   - the firmware-shaped ELF for {target.id}; arm-none-eabi-size measures it
#   make lib    - libmodel.a to link into your firmware (model_invoke)
BUILD ?= build
CC ?= gcc
ARM_CC ?= arm-none-eabi-gcc
ARM_AR ?= arm-none-eabi-ar
CPU_FLAGS = {cpu.flags}
COMMON = -std=c99 -O2 -Wall -ffp-contract=off -ffunction-sections -fdata-sections
SRC = model.c ep_kernels.c

.PHONY: host qemu size lib clean
host: $(BUILD)/host/model_host
qemu: $(BUILD)/qemu/model_qemu.elf
size: $(BUILD)/device/model.elf
lib: $(BUILD)/device/libmodel.a

$(BUILD)/host/model_host: $(SRC) ep_main.c model.h ep_kernels.h
\tmkdir -p $(@D) && $(CC) $(COMMON) -o $@ $(SRC) ep_main.c

$(BUILD)/qemu/model_qemu.elf: $(SRC) ep_main.c ep_startup.c qemu.ld model.h ep_kernels.h
\tmkdir -p $(@D) && $(ARM_CC) $(CPU_FLAGS) $(COMMON) -DEP_CORTEX_M -DEP_SEMIHOSTING --specs=rdimon.specs \\
\t\t-nostartfiles -T qemu.ld -Wl,--gc-sections -o $@ $(SRC) ep_main.c ep_startup.c

$(BUILD)/device/model.elf: $(SRC) ep_size_main.c ep_startup.c device.ld model.h ep_kernels.h
\tmkdir -p $(@D) && cd $(@D) && $(ARM_CC) $(CPU_FLAGS) $(COMMON) -fstack-usage --specs=nano.specs -nostartfiles \\
\t\t-T $(CURDIR)/device.ld -Wl,--gc-sections -I$(CURDIR) -o model.elf \\
\t\t$(addprefix $(CURDIR)/,$(SRC) ep_size_main.c ep_startup.c)

$(BUILD)/device/libmodel.a: $(SRC) model.h ep_kernels.h
\tmkdir -p $(@D) && cd $(@D) && $(ARM_CC) $(CPU_FLAGS) $(COMMON) -c $(addprefix $(CURDIR)/,$(SRC)) \\
\t\t&& $(ARM_AR) rcs libmodel.a model.o ep_kernels.o

clean:
\trm -rf $(BUILD)
"""


def _linker(flash: tuple[int, int], ram: tuple[int, int], heap: int, stack: int) -> str:
    return f"""/* Generated by edgeport. */
MEMORY
{{
  FLASH (rx) : ORIGIN = {flash[0]:#x}, LENGTH = {flash[1]:#x}
  RAM (rwx) : ORIGIN = {ram[0]:#x}, LENGTH = {ram[1]:#x}
}}
ENTRY(Reset_Handler)
SECTIONS
{{
  .vectors : {{ KEEP(*(.vectors)) }} > FLASH
  .text : {{ *(.text*) *(.rodata*) KEEP(*(.init)) KEEP(*(.fini)) . = ALIGN(4); }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  __data_load = LOADADDR(.data);
  .data : {{ __data_start = .; *(.data*) . = ALIGN(4); __data_end = .; }} > RAM AT > FLASH
  .bss (NOLOAD) : {{ __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; }} > RAM
  .heap (NOLOAD) : {{ . = ALIGN(8); end = .; __end__ = .; . += {heap:#x}; __heap_limit = .; }} > RAM
  .stack (NOLOAD) : {{ . = ALIGN(8); . += {stack:#x}; __stack_top = .; }} > RAM
}}
"""


def _fused(f: _Fusion, calls: list[Any]) -> list[str]:
    a, b = calls[f.a], calls[f.b]
    return [f"    /* {a.node} + {b.node}, row by row through a {f.ring}-row line buffer */",
            f"    for (int r = 0, done = 0; r < {f.out_rows}; ++r) {{",
            f"        int need = r * {f.stride} - {f.pad} + {f.ring};",
            f"        if (need > {f.rows}) need = {f.rows};",
            f"        if (need > done) {{ {a.rows_statement.format(lo='done', hi='need')} done = need; }}",
            f"        {b.rows_statement.format(lo='r', hi='r + 1')}",
            "    }"]


def _model_c(graph: Graph, calls: list[Any], offsets: dict[str, TensorLifetime], arena: int,
             scratch_names: dict[str, str], fusions: list[_Fusion]) -> str:
    x, y = graph.inputs[0], graph.outputs[0]
    lines = [f"/* Generated by edgeport from {graph.name}.tflite: {len(calls)} ops, {arena}-byte arena. */",
             '#include <stddef.h>', '#include <string.h>', '', '#include "ep_kernels.h"', '#include "model.h"', '',
             f"static int8_t ep_arena[{arena}] __attribute__((aligned(16)));", '']
    for key, buf in scratch_names.items():
        lines.append(f"#define SCRATCH_{key} ((int32_t *)(void *)(ep_arena + {offsets[buf].offset}))")
    for call in calls:
        lines.append(f"/* {call.node}: {call.op} */")
        lines.extend(call.decls)
    lines += ["", "model_input_t *model_input(void) {",
              f"    return (model_input_t *)(void *)(ep_arena + {offsets[x].offset});", "}", "",
              "const model_output_t *model_output(void) {",
              f"    return (const model_output_t *)(const void *)(ep_arena + {offsets[y].offset});", "}", "",
              "int model_run(void) {"]
    fused = {f.a: f for f in fusions}
    skip = {f.b for f in fusions}
    for i, c in enumerate(calls):
        if i in fused:
            lines += _fused(fused[i], calls)
        elif i not in skip:
            lines.append(f"    {c.statement}")
    lines += ["    return 0;", "}", "",
              "int model_invoke(const model_input_t *in, model_output_t *out) {",
              "    memcpy(model_input(), in, sizeof(model_input_t) * MODEL_INPUT_SIZE);",
              "    model_run();",
              "    memcpy(out, model_output(), sizeof(model_output_t) * MODEL_OUTPUT_SIZE);",
              "    return 0;", "}", ""]
    return "\n".join(lines)


def write_project(graph: Graph, constants: dict[str, np.ndarray], target: Target, out: Path,
                  source_name: str, io: dict[str, Any]) -> dict[str, Any]:
    """Write the project into the new directory ``out``; returns its manifest (``io``: the I/O specs the
    runtime reads back, merged into it). Refuses (``UnsupportedError``)
    float models, ops without a kernel and arenas larger than the device's SRAM."""
    graph = _without_shape_arithmetic(graph)
    _check_model(graph)
    cpu = cpu_for(target)
    offsets: dict[str, TensorLifetime] = {}

    def ref(name: str) -> str:
        if name in constants:
            return f"(const int8_t *)c_{_ident(name)}"
        if graph.tensors[name].dtype == "float32":
            return f"(float *)(void *)(ep_arena + {offsets[name].offset})"
        return f"ep_arena + {offsets[name].offset}"

    fusions = _fusions(graph)
    lower = Lowering(graph, constants, ref, {f.tensor: f.ring for f in fusions})
    # first pass: scratch sizes (MEAN) — the plan needs them before any pointer is named
    probe = Lowering(graph, constants, lambda n: "0")
    scratch = {i: c.scratch_bytes for i, n in enumerate(graph.nodes) if (c := probe.lower(i, n)).scratch_bytes}
    offsets, arena = _plan(graph, scratch, fusions)
    calls = [lower.lower(i, n) for i, n in enumerate(graph.nodes)]
    scratch_names = {f"n{i}": f"scratch:{i}" for i in scratch}
    used_consts = sorted({i for n in graph.nodes if n.op_type in ("ADD", "MUL", "CONCATENATION")
                          for i in n.inputs if i in constants})
    const_decls = []
    for name in used_consts:
        const_decls.append(carray("int8_t", f"c_{_ident(name)}", constants[name]))
    sram = target.memory.sram_bytes
    if sram is not None and arena > sram:
        raise UnsupportedError(f"{graph.name}'s arena needs {arena} bytes but {target.id} has {sram} bytes of SRAM: "
                               f"short by {arena - sram} bytes",
                               fix="reduce the input resolution or the widest layers, or pick a larger part")
    out.mkdir(parents=True)
    src = resources.files("edgeport.convert").joinpath("_mcu_c")
    for name in _STATIC:
        with resources.as_file(src.joinpath(name)) as path:
            shutil.copyfile(path, out / name)
    (out / "model.h").write_text(_header(graph, lower))
    model_c = _model_c(graph, calls, offsets, arena, scratch_names, fusions)
    if const_decls:
        head, sep, rest = model_c.partition("static int8_t ep_arena")
        model_c = head + "\n".join(const_decls) + "\n" + sep + rest
    (out / "model.c").write_text(model_c)
    (out / "Makefile").write_text(_makefile(cpu, target))
    (out / "qemu.ld").write_text(_linker(cpu.qemu_flash, cpu.qemu_ram, 0x10000, 0x8000))
    (out / "device.ld").write_text(_linker((0x08000000, target.memory.flash_bytes or 0x100000),
                                           (0x20000000, sram or 0x40000), 0, 0))
    x, y = graph.inputs[0], graph.outputs[0]

    def quant(name: str) -> dict[str, Any]:
        if graph.tensors[name].dtype != "int8":
            return {"dtype": graph.tensors[name].dtype}
        scale, zp = lower.qp(name)
        return {"dtype": "int8", "scale": scale, "zero_point": zp}

    ops: dict[str, int] = {}
    for n in graph.nodes:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    manifest = {
        "schema": 1, "model": graph.name, "source": source_name, "device": target.id, "cpu": cpu.name,
        "qemu_machine": cpu.qemu_machine, "qemu_hz": cpu.qemu_hz, "arena_bytes": arena,
        "weight_bytes": int(sum(constants[n].nbytes for n in constants)), "ops": ops,
        "input": {"tensor": x, "shape": list(lower.dims(x)), **quant(x)},
        "output": {"tensor": y, "shape": list(lower.dims(y)), **quant(y)}, **io,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
