"""``Target``: a device profile parsed from TOML (``edgeport/targets/*.toml`` and user directories).

Every value in a profile carries its source: each TOML table holds a ``source`` string (a datasheet,
spec sheet or measurement; ``estimate: …`` when the number is an estimate), and a ``sources`` table may
override it per field. ``host`` is filled from this machine at load time.

User profiles come from ``$EDGEPORT_TARGETS`` (``os.pathsep``-separated directories) and ``--targets-dir``;
a user file with the same ``id`` as a shipped one replaces it. Malformed files raise ``ConfigError``
naming the file, the line (TOML syntax) or the field (validation).
"""

from __future__ import annotations

import os
import platform
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgeport.errors import ConfigError, UnknownNameError

__all__ = [
    "Accelerator",
    "Cpu",
    "EXECUTION_PATHS",
    "Memory",
    "Power",
    "PredictorPrior",
    "Target",
    "get_target",
    "list_targets",
    "load_target_file",
    "targets_dirs",
]

# Execution paths a target may offer (rule tables live in ``edgeport/targets/rules``); "cpu" is the
# reference CPU kernels every target has as the last resort.
EXECUTION_PATHS = (
    "tflite-gpu", "nnapi", "coreml-nn", "coreml-mlprogram", "coreml-ane", "qnn-htp", "edgetpu",
    "xnnpack", "ethos-u", "tflm", "openvino-cpu", "tensorrt", "wasm", "cpu",
)
_KINDS = ("mcu", "sbc", "phone", "laptop", "accelerator", "browser", "host", "embedded-gpu")
_DTYPES = ("float32", "float16", "bfloat16", "int8", "int16", "int4")


@dataclass(frozen=True)
class Cpu:
    name: str
    arch: str
    cores: int
    freq_mhz: float
    isa: tuple[str, ...]
    peak_macs: dict[str, float]  # dtype -> MAC/s, all cores together
    source: str


@dataclass(frozen=True)
class Accelerator:
    name: str
    kind: str  # "gpu", "npu", "dsp", "tpu"
    paths: tuple[str, ...]  # execution paths that run on it
    peak_macs: dict[str, float]
    boundary_overhead_us: float  # fixed cost of one CPU<->accelerator hand-over (estimate)
    source: str


@dataclass(frozen=True)
class Memory:
    ram_bytes: int | None
    sram_bytes: int | None
    flash_bytes: int | None
    bandwidth_gbs: float | None  # main-memory bandwidth, GB/s
    app_limit_bytes: int | None  # what one app may use before the OS kills it
    source: str
    # the cache one core's working set stays in: its private L2 (host: read from sysfs at load time); None: unknown
    cache_bytes: int | None = None

    @property
    def activation_budget(self) -> int | None:
        """Bytes available to activations: the app limit, else SRAM on an MCU, else RAM."""
        return self.app_limit_bytes or self.sram_bytes or self.ram_bytes


@dataclass(frozen=True)
class Power:
    active_w: float | None
    idle_w: float | None
    accelerator_tops_per_w: float | None
    source: str


# Op classes the latency predictor (``edgeport.predict``) fits an efficiency and an overhead for.
OP_CLASSES = ("conv", "depthwise_conv", "matmul", "elementwise", "activation", "transcendental", "strided_softmax",
              "pool_reduce", "data_movement", "control_flow", "other")


@dataclass(frozen=True)
class PredictorPrior:
    """The uncalibrated cost model of one device (``[predictor]``; ``[predictor.path.<name>]`` per path).

    ``efficiency`` is the fraction of the unit's peak MAC/s an op class reaches (its compute is MACs,
    or FLOPs for MAC-free classes); ``memory_efficiency`` the fraction of ``memory.bandwidth_gbs`` its
    bytes move at; ``op_overhead_us`` the fixed cost of one node; ``invoke_floor_us`` the least one
    inference ever takes; ``within_factor`` how far (×) an uncalibrated estimate is expected to be off;
    ``narrow_penalty`` the time per unit of the work a convolution's SIMD channel tiles leave empty, as a
    fraction of what that work would cost at peak (``predict.costmodel``); ``io_copy`` how many passes over the
    model's inputs and outputs at memory bandwidth one inference costs outside its kernels (binding and copying
    them in and out); ``int8_efficiency`` the fraction of its ``efficiency`` a convolution or matrix product keeps
    against the int8 peak (quantize/dequantize steps, requantized outputs and kernels that reach less of the int8
    peak than their float counterparts do of theirs).
    """

    efficiency: dict[str, float]
    op_overhead_us: dict[str, float]
    memory_efficiency: float
    invoke_floor_us: float
    within_factor: float
    source: str
    paths: dict[str, PredictorPrior] = field(default_factory=dict)
    narrow_penalty: float = 0.3  # the Zen5 VM fit (0.27); an AVX2 fit put it into the per-convolution overhead
    io_copy: float = 0.5  # passes over the model's inputs and outputs at memory bandwidth, per inference
    int8_efficiency: float = 1.0  # share of ``efficiency`` the MAC classes keep at int8, against the int8 peak
    far_memory: float = 0.0  # seconds per second (at bandwidth) of a node's bytes beyond ``memory.cache_bytes``

    def for_path(self, path: str) -> PredictorPrior:
        return self.paths.get(path, self)


# A profile without a [predictor] table gets these: mid-range figures for optimised CPU kernels (XNNPACK/MLAS
# reach 30-70 % of peak on convolutions and GEMMs, depthwise convolutions ~10 %), said to be within ~5×.
DEFAULT_PRIOR = PredictorPrior(
    efficiency={"conv": 0.4, "depthwise_conv": 0.08, "matmul": 0.4, "elementwise": 0.05, "activation": 0.05,
                "transcendental": 0.01, "strided_softmax": 0.002, "pool_reduce": 0.05, "data_movement": 0.05, "control_flow": 0.05, "other": 0.05},
    op_overhead_us={k: 2.0 for k in OP_CLASSES}, memory_efficiency=0.5, invoke_floor_us=10.0, within_factor=5.0,
    source="built-in default (no [predictor] table in this profile): generic optimised-CPU-kernel figures")


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    paths: tuple[str, ...]  # execution paths in order of preference; "cpu" is implied last
    runtimes: tuple[str, ...]
    cpu: Cpu
    accelerators: tuple[Accelerator, ...]
    memory: Memory
    power: Power
    predictor: PredictorPrior = DEFAULT_PRIOR
    cpu_fallback: bool = True  # False where nothing runs outside ``paths`` (an MCU with only TFLite Micro)
    sources: dict[str, str] = field(default_factory=dict)  # per-field overrides, "table.field" -> source
    notes: str = ""
    file: str = ""
    # the device address that measures this target ("agent://HOST:PORT", "browser"); "" = not measured
    # (estimated), except ``host``, which is measured in process
    measured_by: str = ""

    @property
    def is_mcu(self) -> bool:
        return self.kind == "mcu"

    def peak_macs(self, dtype: str, path: str = "cpu") -> float | None:
        """MAC/s for ``dtype`` on the unit that runs ``path`` (accelerator or CPU); None if unknown."""
        for acc in self.accelerators:
            if path in acc.paths:
                return _peak(acc.peak_macs, dtype)
        return _peak(self.cpu.peak_macs, dtype)

    def accelerator_for(self, path: str) -> Accelerator | None:
        return next((a for a in self.accelerators if path in a.paths), None)

    def source_of(self, dotted: str) -> str:
        """The source of a field such as ``memory.sram_bytes`` (per-field override, else its table's)."""
        if dotted in self.sources:
            return self.sources[dotted]
        table = dotted.split(".", 1)[0]
        obj = getattr(self, table, None)
        return str(getattr(obj, "source", "")) if obj is not None else ""


def _peak(table: dict[str, float], dtype: str) -> float | None:
    if dtype in table:
        return table[dtype]
    fallback = {"uint8": "int8", "float16": "float32", "bfloat16": "float16", "int16": "int8", "int4": "int8"}
    return table.get(fallback.get(dtype, ""), None)


# ---------------------------------------------------------------- parsing

class _Fields:
    """Typed reads of one TOML table that name the file and the field on error."""

    def __init__(self, data: dict[str, Any], where: str, prefix: str) -> None:
        self.data, self.where, self.prefix = data, where, prefix

    def _fail(self, key: str, problem: str) -> ConfigError:
        name = f"{self.prefix}{key}"
        return ConfigError(f"{self.where}: field '{name}' {problem}",
                           fix="fix the device profile (see the shipped profiles in edgeport/targets)")

    def str(self, key: str, default: str | None = None) -> str:
        v = self.data.get(key, default)
        if not isinstance(v, str) or (default is None and not v):
            raise self._fail(key, "must be a non-empty string" if key in self.data else "is missing")
        return v

    def num(self, key: str, *, required: bool = False) -> float | None:
        v = self.data.get(key)
        if v is None:
            if required:
                raise self._fail(key, "is missing")
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise self._fail(key, f"must be a non-negative number, got {v!r}")
        return float(v)

    def int(self, key: str, *, required: bool = False) -> int | None:
        v = self.num(key, required=required)
        return None if v is None else int(v)

    def strs(self, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        v = self.data.get(key, [])
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self._fail(key, "must be a list of strings")
        if allowed is not None:
            bad = [s for s in v if s not in allowed]
            if bad:
                raise self._fail(key, f"has unknown value(s) {bad}; known: {', '.join(allowed)}")
        return tuple(v)

    def table(self, key: str, *, required: bool = True) -> _Fields:
        v = self.data.get(key)
        if v is None and not required:
            return _Fields({}, self.where, f"{self.prefix}{key}.")
        if not isinstance(v, dict):
            raise self._fail(key, "must be a table" if key in self.data else "is missing")
        return _Fields(v, self.where, f"{self.prefix}{key}.")

    def macs(self, key: str = "peak_macs") -> dict[str, float]:
        t = self.table(key, required=False)
        out: dict[str, float] = {}
        for dtype, value in t.data.items():
            if dtype in ("source", "sources"):
                continue
            if dtype not in _DTYPES:
                raise t._fail(dtype, f"is not a dtype; known: {', '.join(_DTYPES)}")
            out[dtype] = float(t.num(dtype, required=True) or 0.0)
        return out

    def source(self) -> str:
        return self.str("source")

    def field_sources(self) -> dict[str, str]:
        v = self.data.get("sources", {})
        if not isinstance(v, dict) or not all(isinstance(s, str) for s in v.values()):
            raise self._fail("sources", "must be a table of strings")
        return {f"{self.prefix}{k}": s for k, s in v.items()}


def parse_target(data: dict[str, Any], where: str) -> Target:
    top = _Fields(data, where, "")
    sources: dict[str, str] = {}
    cpu_t = top.table("cpu")
    cpu = Cpu(name=cpu_t.str("name"), arch=cpu_t.str("arch"), cores=cpu_t.int("cores", required=True) or 1,
              freq_mhz=cpu_t.num("freq_mhz", required=True) or 0.0, isa=cpu_t.strs("isa"),
              peak_macs=cpu_t.macs(), source=cpu_t.source())
    sources.update(cpu_t.field_sources())
    accs = []
    raw_accs = data.get("accelerators", [])
    if not isinstance(raw_accs, list):
        raise top._fail("accelerators", "must be an array of tables ([[accelerators]])")
    for i, raw in enumerate(raw_accs):
        a = _Fields(raw, where, f"accelerators[{i}].")
        accs.append(Accelerator(name=a.str("name"), kind=a.str("kind"), paths=a.strs("paths", EXECUTION_PATHS),
                                peak_macs=a.macs(), boundary_overhead_us=a.num("boundary_overhead_us") or 0.0,
                                source=a.source()))
        sources.update(a.field_sources())
    mem_t = top.table("memory")
    memory = Memory(ram_bytes=mem_t.int("ram_bytes"), sram_bytes=mem_t.int("sram_bytes"),
                    flash_bytes=mem_t.int("flash_bytes"), bandwidth_gbs=mem_t.num("bandwidth_gbs"),
                    app_limit_bytes=mem_t.int("app_limit_bytes"), source=mem_t.source(),
                    cache_bytes=mem_t.int("cache_bytes"))
    if memory.ram_bytes is None and memory.sram_bytes is None:
        raise mem_t._fail("ram_bytes", "or 'memory.sram_bytes' must be given")
    sources.update(mem_t.field_sources())
    pw_t = top.table("power")
    power = Power(active_w=pw_t.num("active_w"), idle_w=pw_t.num("idle_w"),
                  accelerator_tops_per_w=pw_t.num("accelerator_tops_per_w"), source=pw_t.source())
    sources.update(pw_t.field_sources())
    predictor = _predictor(top, DEFAULT_PRIOR) if "predictor" in data else DEFAULT_PRIOR
    fallback = data.get("cpu_fallback", True)
    if not isinstance(fallback, bool):
        raise top._fail("cpu_fallback", f"must be true or false, got {fallback!r}")
    kind = top.str("kind")
    if kind not in _KINDS:
        raise top._fail("kind", f"must be one of {', '.join(_KINDS)}, got {kind!r}")
    return Target(id=top.str("id"), name=top.str("name"), kind=kind, aliases=top.strs("aliases"),
                  paths=top.strs("paths", EXECUTION_PATHS), runtimes=top.strs("runtimes"), cpu=cpu,
                  accelerators=tuple(accs), memory=memory, power=power, predictor=predictor, cpu_fallback=fallback, sources=sources,
                  notes=str(data.get("notes", "")), file=where, measured_by=_measured_by(top))


def _measured_by(top: _Fields) -> str:
    """The profile's measuring device: ``agent = "http://HOST:PORT"`` (an edgeport agent) or
    ``measure = "browser"`` (any device address); at most one of them."""
    agent, measure = top.data.get("agent"), top.data.get("measure")
    if agent is not None and measure is not None:
        raise top._fail("agent", "and 'measure' are both given: keep one")
    if agent is not None:
        url = top.str("agent")
        host = url.removeprefix("http://").rstrip("/")
        if host == url or not host or "/" in host:
            raise top._fail("agent", f"must be 'http://HOST:PORT', got {url!r}")
        return f"agent://{host}"
    return "" if measure is None else top.str("measure")


def _class_table(t: _Fields, key: str, base: dict[str, float], *, fraction: bool) -> dict[str, float]:
    sub = t.table(key, required=False)
    out = dict(base)
    for name in sub.data:
        if name in ("source", "sources"):
            continue
        if name not in OP_CLASSES:
            raise sub._fail(name, f"is not an op class; known: {', '.join(OP_CLASSES)}")
        v = float(sub.num(name, required=True) or 0.0)
        if fraction and not 0 < v <= 1:
            raise sub._fail(name, f"must be a fraction of peak in (0, 1], got {v}")
        out[name] = v
    return out


def _predictor(top: _Fields, base: PredictorPrior, key: str = "predictor") -> PredictorPrior:
    """``[predictor]`` over ``base``: every field optional, so a path table overrides only what it names."""
    t = top.table(key)
    eff = _class_table(t, "efficiency", base.efficiency, fraction=True)
    if isinstance(t.data.get("op_overhead_us"), (int, float)):  # one figure for every class
        overhead = {k: float(t.num("op_overhead_us") or 0.0) for k in OP_CLASSES}
    else:
        overhead = _class_table(t, "op_overhead_us", base.op_overhead_us, fraction=False)
    mem = t.num("memory_efficiency")
    if mem is not None and not 0 < mem <= 1:
        raise t._fail("memory_efficiency", f"must be in (0, 1], got {mem}")
    within = t.num("within_factor")
    if within is not None and within < 1:
        raise t._fail("within_factor", f"must be ≥ 1, got {within}")
    narrow = t.num("narrow_penalty")
    if narrow is not None and narrow < 0:
        raise t._fail("narrow_penalty", f"must be ≥ 0, got {narrow}")
    io_copy = t.num("io_copy")
    if io_copy is not None and io_copy < 0:
        raise t._fail("io_copy", f"must be ≥ 0, got {io_copy}")
    far = t.num("far_memory")
    if far is not None and far < 0:
        raise t._fail("far_memory", f"must be ≥ 0, got {far}")
    int8 = t.num("int8_efficiency")
    if int8 is not None and not 0 < int8 <= 1:
        raise t._fail("int8_efficiency", f"must be a fraction in (0, 1], got {int8}")
    prior = PredictorPrior(efficiency=eff, op_overhead_us=overhead,
                           memory_efficiency=base.memory_efficiency if mem is None else mem,
                           invoke_floor_us=base.invoke_floor_us if t.num("invoke_floor_us") is None
                           else float(t.num("invoke_floor_us") or 0.0),
                           within_factor=base.within_factor if within is None else within,
                           source=t.str("source", base.source),
                           narrow_penalty=base.narrow_penalty if narrow is None else narrow,
                           io_copy=base.io_copy if io_copy is None else io_copy,
                           int8_efficiency=base.int8_efficiency if int8 is None else int8,
                           far_memory=base.far_memory if far is None else far)
    raw_paths = t.data.get("path", {})
    if key == "predictor" and raw_paths:
        if not isinstance(raw_paths, dict):
            raise t._fail("path", "must be a table of execution paths")
        sub = t.table("path")
        paths = {}
        for name in raw_paths:
            if name not in EXECUTION_PATHS:
                raise sub._fail(name, f"is not an execution path; known: {', '.join(EXECUTION_PATHS)}")
            paths[name] = _predictor(sub, prior, name)
        prior = PredictorPrior(prior.efficiency, prior.op_overhead_us, prior.memory_efficiency,
                               prior.invoke_floor_us, prior.within_factor, prior.source, paths, prior.narrow_penalty,
                               prior.io_copy, prior.int8_efficiency, prior.far_memory)
    return prior


def load_target_file(path: Path) -> Target:
    """Parse one profile; ``ConfigError`` with the file and line (syntax) or field (validation)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})", fix="check the path") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", fix="fix the syntax at that line") from None
    target = parse_target(data, str(path))
    if target.id == "host":
        target = _fill_host(target)
    return target


# ---------------------------------------------------------------- the host

def _cpu_flags() -> tuple[str, ...]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                keep = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni",
                        "amx_int8", "asimd", "asimddp", "sve", "i8mm", "bf16")
                return tuple(f for f in keep if f in flags)
    except OSError:
        pass
    return (platform.machine(),)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_mhz() -> float | None:
    """The highest clock the OS reports: cpufreq's maximum, else /proc/cpuinfo's ``cpu MHz`` (None: unknown)."""
    try:
        return int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1e3
    except (OSError, ValueError):
        pass
    try:
        mhz = [float(ln.split(":", 1)[1]) for ln in Path("/proc/cpuinfo").read_text().splitlines()
               if ln.startswith("cpu MHz")]
    except (OSError, ValueError):
        return None
    return max(mhz) if mhz else None


def _full_width_avx512() -> bool:
    """Does this CPU execute AVX-512 FMAs on two full 512-bit pipes (32 fp32 FMAs per cycle)?

    AMD from Zen5 (family 0x1A) does; Zen4 (0x19) splits each into two 256-bit halves, as fast as AVX2. Intel
    server cores with AMX (Sapphire Rapids and later) do; older and client AVX-512 cores may have one pipe, so
    they are not credited with two."""
    try:
        info = dict(ln.split(":", 1) for ln in Path("/proc/cpuinfo").read_text().splitlines()[:40] if ":" in ln)
    except OSError:
        return False
    info = {k.strip(): v.strip() for k, v in info.items()}
    flags = set(info.get("flags", "").split())
    if "avx512f" not in flags:
        return False
    if info.get("vendor_id") == "AuthenticAMD":
        try:
            return int(info.get("cpu family", "0")) >= 26
        except ValueError:
            return False
    return info.get("vendor_id") == "GenuineIntel" and "amx_tile" in flags


# MACs per cycle per core by ISA, for the dtypes the host template names. fp32: two FMA pipes of 8 lanes
# (AVX2+FMA; Zen4's double-pumped AVX-512 reaches the same), of 16 lanes where AVX-512 runs full width
# (``_full_width_avx512``: Zen5, Sapphire Rapids), 8 without FMA, 4 on SSE; Arm: two 128-bit FMA pipes.
# int8: VNNI dot products (vpdpbusd) 4× the fp32 rate, AVX2's vpmaddubsw/vpmaddwd pair 2×; Arm dot
# product (sdot) 4×, i8mm 8×. bf16: 2× fp32 only with native bf16 dot products, else fp32's (emulated).
# On the project's reference machine (Zen4, 3.7 GHz) these give 59 G fp32 and 237 G int8 MAC/s per core,
# within 2 % of what the template says was measured there.
def _isa_macs_per_cycle(flags: tuple[str, ...], *, full_width_avx512: bool = False) -> dict[str, float] | None:
    f = set(flags)
    if f & {"asimd", "sve"}:
        fp32 = 8.0
        int8 = fp32 * (8 if "i8mm" in f else 4 if "asimddp" in f else 2)
        bf16 = fp32 * (2 if "bf16" in f else 1)
    elif "avx" in f:
        fp32 = 32.0 if full_width_avx512 and "avx512f" in f else 16.0 if "fma" in f else 8.0
        int8 = fp32 * (4 if f & {"avx512_vnni", "avx_vnni", "amx_int8"} else 2 if "avx2" in f else 1)
        bf16 = fp32 * (2 if f & {"avx512_bf16", "amx_bf16"} else 1)
    elif "sse4_2" in f:
        fp32, int8, bf16 = 4.0, 8.0, 4.0
    else:
        return None
    return {"float32": fp32, "int8": int8, "bfloat16": bf16}


def _cpu_set(text: str) -> set[int]:
    """The CPUs a sysfs CPU list names ("0-1,4" -> {0, 1, 4})."""
    out: set[int] = set()
    for part in filter(None, text.strip().split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _core_cache_bytes(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int | None:
    """The largest data cache core 0 has to itself (shared by no CPU but its own hardware threads; on x86 its L2),
    from sysfs; None where sysfs does not say."""
    try:
        own = _cpu_set((root.parent / "topology" / "thread_siblings_list").read_text())
    except (OSError, ValueError):
        own = {0}
    best = None
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            shared = _cpu_set((index / "shared_cpu_list").read_text())
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction" or not shared <= own | {0}:
            continue
        scale = {"K": 1024, "M": 1024 ** 2}.get(size[-1:].upper(), 1)
        digits = size.rstrip("KkMm")
        if digits.isdigit():
            best = max(best or 0, int(digits) * scale)
    return best


def _fill_host(t: Target) -> Target:
    """Replace the host template's placeholders with this machine's cores, ISA flags, clock and RAM.

    The per-core peaks come from the ISA's MACs per cycle × the reported clock when both are known (so
    an AVX2 machine is not credited with the reference machine's VNNI int8 rate), else the template's.
    """
    from dataclasses import replace

    cores = os.cpu_count() or 1
    flags = _cpu_flags()
    per_core = dict(t.cpu.peak_macs)  # the template holds per-core figures
    mhz, rates = _cpu_mhz(), _isa_macs_per_cycle(flags, full_width_avx512=_full_width_avx512())
    if mhz and rates:
        per_core.update({k: v * mhz * 1e6 for k, v in rates.items() if k in per_core})
        peak_source = (f"ISA ({', '.join(flags)}) MACs per cycle × {mhz:.0f} MHz reported clock, per core; "
                       "a VM may report its base clock, so tuned kernels can exceed it by the boost")
    else:
        peak_source = f"per-core peak: {t.cpu.source} (clock or ISA unknown here)"
    cpu = replace(t.cpu, name=_cpu_name(), arch=platform.machine(), cores=cores, isa=flags, freq_mhz=mhz or 0.0,
                  peak_macs={k: v * cores for k, v in per_core.items()},
                  source=f"measured at load time (cores, ISA flags, clock); {peak_source}")
    ram, cache = _ram_bytes(), _core_cache_bytes()
    memory = replace(t.memory, ram_bytes=ram, cache_bytes=cache or t.memory.cache_bytes,
                     source=f"measured at load time (RAM{', per-core cache' if cache else ''}); {t.memory.source}")
    return replace(t, cpu=cpu, memory=memory)


# ---------------------------------------------------------------- the catalog

def targets_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Shipped profiles first, then ``$EDGEPORT_TARGETS`` directories, then ``extra`` (later wins)."""
    dirs = [Path(__file__).resolve().parent.parent / "targets"]
    env = os.environ.get("EDGEPORT_TARGETS", "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path(p) for p in (extra or [])]
    return dirs


def _load_dir(directory: Path) -> dict[str, Target]:
    if not directory.is_dir():
        raise ConfigError(f"{directory}: targets directory not found",
                          fix="point $EDGEPORT_TARGETS / --targets-dir at a directory of .toml profiles")
    out: dict[str, Target] = {}
    for path in sorted(directory.glob("*.toml")):
        t = load_target_file(path)
        out[t.id] = t
    return out


@lru_cache(maxsize=8)
def _catalog(key: tuple[str, ...]) -> dict[str, Target]:
    merged: dict[str, Target] = {}
    for d in key:
        merged.update(_load_dir(Path(d)))
    return merged


def list_targets(extra_dirs: list[Path] | None = None) -> list[Target]:
    """Every known target (shipped and user), sorted by id."""
    cat = _catalog(tuple(str(d) for d in targets_dirs(extra_dirs)))
    return [cat[k] for k in sorted(cat)]


def get_target(name: str | Target, extra_dirs: list[Path] | None = None) -> Target:
    """A target by id or alias (case-insensitive); ``UnknownNameError`` lists the known ones."""
    if isinstance(name, Target):
        return name
    key = name.strip().lower()
    targets = list_targets(extra_dirs)
    for t in targets:
        if t.id == key:
            return t
    for t in targets:
        if key in t.aliases:
            return t
    known = ", ".join(t.id for t in targets)
    aliases = ", ".join(f"{a}→{t.id}" for t in targets for a in t.aliases)
    raise UnknownNameError(f"unknown target {name!r}",
                           fix=f"use one of: {known}" + (f" (aliases: {aliases})" if aliases else ""))
