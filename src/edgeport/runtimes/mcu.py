"""A generated MCU C project (``Format.MCU_C``) run as a runtime: host-built, or cross-built under QEMU.

``target="host"`` builds the project's harness with the host ``gcc``: the same C, for checking
against TFLite's reference kernels. ``target="qemu"`` builds it with ``arm-none-eabi-gcc`` for the
project's core and runs it on ``qemu-system-arm`` (mps2-an386 = Cortex-M4, mps2-an500 = M7,
mps3-an547 = M55) with semihosting file I/O: every sample of a batch in one launch, bounded in
time (a run past its limit is killed and reported). Under ``-icount shift=0`` each instruction
advances QEMU's virtual clock by 1 ns, so SysTick ticks give an instruction count — instructions,
not cycles: QEMU models no pipeline or memory timing.

``elf_sizes`` measures the firmware-shaped ELF (``make size``) with ``arm-none-eabi-size``: flash =
.vectors + .text + .ARM.exidx + .data, RAM = .data + .bss + stack (gcc ``-fstack-usage`` along
start-up → main → model_run → the deepest kernels).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec, spec_from_dict
from edgeport.errors import BackendError, ConfigError, MissingDependencyError, ModelFileError
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import Runtime, RuntimeOptions

__all__ = ["ElfSizes", "McuOptions", "McuRuntime", "build", "elf_sizes", "read_io", "read_manifest", "require_tools"]

MANIFEST = "edgeport-mcu.json"
TOOLS_FIX = "make mcu-tools (installs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm)"
_TOOLS = {"host": ("make", "gcc"), "qemu": ("make", "arm-none-eabi-gcc", "qemu-system-arm"),
          "size": ("make", "arm-none-eabi-gcc", "arm-none-eabi-size")}
_STATS = re.compile(r"edgeport: samples (\d+) first_ticks (\d+) mean_ticks (\d+)")


def read_manifest(path: Path) -> dict[str, Any]:
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise ModelFileError(f"{path}: no {MANIFEST} (not an edgeport MCU C project)",
                             fix="generate one: edgeport convert model.tflite --to mcu-c --device stm32h743 -o DIR")
    data: dict[str, Any] = json.loads(file.read_text())
    return data


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O reader for ``Format.MCU_C`` (the project's manifest)."""
    data = read_manifest(path)
    ins = tuple(spec_from_dict(s) for s in data["inputs"])
    outs = tuple(spec_from_dict(s) for s in data["outputs"])
    return ins, outs, {k: data[k] for k in ("device", "cpu", "qemu_machine", "arena_bytes") if k in data}


def require_tools(kind: str) -> None:
    """``MissingDependencyError`` naming the make target when a tool ``kind`` builds with is missing."""
    for tool in _TOOLS[kind]:
        if shutil.which(tool) is None:
            raise MissingDependencyError(f"building the MCU C project ({kind})", tool, "mcu", fix=TOOLS_FIX)


def build(project: Path, kind: str, build_dir: Path, *, timeout_s: float = 300.0) -> Path:
    """Run the project's ``make <kind>`` into ``build_dir``; returns the built file."""
    require_tools(kind)
    goal = {"host": "host/model_host", "qemu": "qemu/model_qemu.elf", "size": "device/model.elf"}[kind]
    try:
        proc = subprocess.run(["make", "-s", "-C", str(project), f"BUILD={build_dir}", kind], capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BackendError(f"building {project.name} ({kind}) took over {timeout_s:.0f} s",
                           fix="check the toolchain; a large model's weight arrays compile slowly") from None
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])[:600]
        raise BackendError(f"building {project.name} ({kind}) failed: {tail}",
                           fix="the generated project did not compile or link (see the message)")
    return build_dir / goal


@dataclass(frozen=True)
class ElfSizes:
    """Sizes measured from the linked ELF (``arm-none-eabi-size -A``) and gcc's stack usage."""

    flash_bytes: int
    ram_bytes: int
    text_bytes: int
    rodata_in_text: bool
    data_bytes: int
    bss_bytes: int
    stack_bytes: int
    elf: str
    source: str = "measured: arm-none-eabi-size on the linked ELF + gcc -fstack-usage"


def _stack_usage(folder: Path) -> int:
    frames: dict[str, int] = {}
    for su in folder.glob("*.su"):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                frames[parts[0].rsplit(":", 1)[-1]] = max(frames.get(parts[0].rsplit(":", 1)[-1], 0), int(parts[1]))
    # a kernel calls at most two levels of helpers (ep_softmax -> ep_exp_negative -> ep_exp_quarter; a wrapper ->
    # its row kernel): the three deepest kernel frames bound the chain
    kernels = sum(sorted((v for k, v in frames.items() if k.startswith("ep_")), reverse=True)[:3])
    return frames.get("Reset_Handler", 0) + frames.get("main", 0) + frames.get("model_run", 0) + kernels


def elf_sizes(project: Path, build_dir: Path, *, timeout_s: float = 300.0) -> ElfSizes:
    """Build the firmware-shaped ELF and measure it."""
    elf = build(project, "size", build_dir, timeout_s=timeout_s)
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)\s+\d+", out, re.M)}
    text = sum(sections.get(s, 0) for s in (".vectors", ".text", ".ARM.exidx"))
    data, bss = sections.get(".data", 0), sections.get(".bss", 0)
    stack = _stack_usage(elf.parent)
    return ElfSizes(flash_bytes=text + data, ram_bytes=data + bss + stack, text_bytes=text, rodata_in_text=True,
                    data_bytes=data, bss_bytes=bss, stack_bytes=stack, elf=str(elf))


@dataclass(frozen=True)
class McuOptions(RuntimeOptions):
    target: str = "host"  # host: gcc on this machine | qemu: the project's Cortex-M core under qemu-system-arm
    timeout_s: float = 300.0  # per launch (one launch runs a whole batch)


@RUNTIMES.register
class McuRuntime(Runtime):
    name = "mcu"
    formats = frozenset({Format.MCU_C})
    io_readers = {Format.MCU_C: "edgeport.runtimes.mcu:read_io"}
    Options = McuOptions
    priority = 50
    description = "generated MCU C project: host gcc build, or Cortex-M build under qemu-system-arm"
    options: McuOptions

    def _load(self) -> None:
        if self.options.target not in ("host", "qemu"):
            raise ConfigError(f"mcu target {self.options.target!r} is not host or qemu",
                              fix="use target='host' or target='qemu'")
        self._project = Path(self.artifact.path)
        self._manifest = read_manifest(self._project)
        self._tmp = tempfile.TemporaryDirectory(prefix="edgeport-mcu-")
        self._work = Path(self._tmp.name)
        self._exe = build(self._project, self.options.target, self._work / "build")
        self.last_stats: dict[str, Any] = {}

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        ins, outs, _ = read_io(self._project)
        return ins, outs

    def _command(self) -> list[str]:
        if self.options.target == "host":
            return [str(self._exe)]
        return ["qemu-system-arm", "-M", str(self._manifest["qemu_machine"]), "-nographic", "-monitor", "none",
                "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(self._exe)]

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        (x,) = feeds.values()
        spec_out = self._outputs[0]
        n = int(x.shape[0]) if x.ndim else 1
        in_dtype = np.dtype(self._manifest["input"].get("dtype", "int8"))
        out_dtype = np.dtype(self._manifest["output"].get("dtype", "int8"))
        (self._work / "input.bin").write_bytes(np.ascontiguousarray(x, dtype=in_dtype).tobytes())
        out_file = self._work / "output.bin"
        out_file.unlink(missing_ok=True)
        try:
            proc = subprocess.run(self._command(), cwd=self._work, capture_output=True, text=True,
                                  timeout=self.options.timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BackendError(f"{self._project.name} ({self.options.target}) ran past its {self.options.timeout_s:g} s "
                               f"limit on {n} samples and was killed",
                               fix="raise McuOptions.timeout_s or run fewer samples per batch") from None
        match = _STATS.search(proc.stdout or "")
        if proc.returncode != 0 or match is None or int(match.group(1)) != n:
            tail = " | ".join(((proc.stdout or "") + (proc.stderr or "")).strip().splitlines()[-3:])[:400]
            raise BackendError(f"{self._project.name} ({self.options.target}) failed (exit {proc.returncode}): {tail}",
                               fix="the generated program faulted or could not read its input")
        per = int(np.prod([d for d in self._manifest["output"]["shape"]], dtype=np.int64))
        raw = np.frombuffer(out_file.read_bytes(), dtype=out_dtype)
        shape = tuple(int(d) if isinstance(d, int) else n for d in spec_out.shape)
        out = raw.reshape(n, per).reshape((n, *shape[1:])) if shape else raw.reshape(n, per)
        self.last_stats = {"samples": n, "ticks_first": int(match.group(2)), "ticks_mean": int(match.group(3))}
        if self.options.target == "qemu":
            ns_per_tick = 1e9 / float(self._manifest["qemu_hz"])
            self.last_stats["instructions_per_invoke"] = int(round(int(match.group(3)) * ns_per_tick))
        return {spec_out.name: out}

    def _release(self) -> None:
        self._tmp.cleanup()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(target=self.options.target, device=getattr(self, "_manifest", {}).get("device"),
                    qemu_machine=getattr(self, "_manifest", {}).get("qemu_machine") if self.options.target == "qemu"
                    else None)
        return info
