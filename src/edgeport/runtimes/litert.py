"""LiteRT (TFLite) interpreter from ``ai-edge-litert``: threads, XNNPACK on/off, signatures.

XNNPACK is LiteRT's default CPU delegate; ``xnnpack=False`` loads the model with the
``BUILTIN_WITHOUT_DEFAULT_DELEGATES`` op resolver so every op runs on the builtin kernels;
``reference_kernels=True`` selects ``BUILTIN_REF``, TFLite's reference kernels (the integer ground
truth that generated MCU code is checked against bit for bit).
int8/uint8 inputs and outputs carry their scale/zero-point in ``TensorSpec.quant``, so
``Runtime.run`` quantises float feeds and dequantises outputs (``run(..., raw=True)`` skips it).
Models with signatures are fed by signature input names (the default signature, or the one named
in ``LiteRTOptions.signature``); models without are fed by tensor names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._quiet import native_output
from edgeport.core.formats import Format
from edgeport.core.tensors import QuantParams, TensorSpec
from edgeport.errors import BackendError, ConfigError, EdgeportError, ModelFileError, UnsupportedError
from edgeport.graph.tflite_reader import read_io
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes._isolated import load_in_child_first
from edgeport.runtimes.base import DeviceSupport, Runtime, RuntimeOptions

__all__ = ["LiteRTOptions", "LiteRTRuntime", "probe_load"]

_UNRESOLVED_CUSTOM = re.compile(r"unresolved custom op: ([A-Za-z0-9_.\-]+?)\.?(?:\s|$)")


@dataclass(frozen=True)
class LiteRTOptions(RuntimeOptions):
    xnnpack: bool = True  # False: builtin kernels only (no default delegate)
    signature: str | None = None  # signature key; None: "serving_default" or the only one
    reference_kernels: bool = False  # True: TFLite's reference kernels (BUILTIN_REF), the integer ground truth


def _details_spec(name: str, d: dict[str, Any], layout: str | None) -> TensorSpec:
    shape = [int(x) for x in d["shape"]]
    sig = [int(x) for x in d.get("shape_signature", shape)]
    dims: tuple[int | str | None, ...] = tuple(
        (("batch" if i == 0 else f"d{i}") if s < 0 else v) for i, (v, s) in enumerate(zip(shape, sig)))
    dtype = np.dtype(d["dtype"]).name
    qp = d.get("quantization_parameters") or {}
    scales = np.asarray(qp.get("scales", []), dtype=np.float64)
    quant = None
    if scales.size and np.dtype(dtype).kind in "iu":
        zps = np.asarray(qp.get("zero_points", []), dtype=np.int64)
        if zps.size != scales.size:
            zps = np.zeros(scales.size, dtype=np.int64)
        axis = int(qp.get("quantized_dimension", 0)) if scales.size > 1 else None
        quant = QuantParams(tuple(float(s) for s in scales), tuple(int(z) for z in zps), axis)
    return TensorSpec(name, dtype, dims, layout, quant)


def _resolver(tfl: Any, xnnpack: bool, reference: bool = False) -> Any:
    if reference:
        return tfl.OpResolverType.BUILTIN_REF
    return tfl.OpResolverType.BUILTIN if xnnpack else tfl.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


def probe_load(path: Path, variant: str) -> None:
    """Create the interpreter and allocate its tensors, nothing else: the child-process first load."""
    from ai_edge_litert import interpreter as tfl

    interp = tfl.Interpreter(model_path=str(path), experimental_op_resolver_type=_resolver(tfl, variant == "xnnpack"))
    interp.allocate_tensors()


def _load_error(path: Path, text: str, custom_ops: list[str]) -> EdgeportError:
    """The one-line error for LiteRT refusing to load ``path`` with message ``text``."""
    text = " ".join(text.split())[:400]
    if "Flex" in text or "Select TensorFlow op" in text:
        return BackendError(f"{path.name} needs TensorFlow Select (Flex) ops, which LiteRT here cannot run: {text}",
                            fix="re-convert without SELECT_TF_OPS or replace those ops")
    match = _UNRESOLVED_CUSTOM.search(text)
    if match is not None:
        op = match.group(1)
        others = [o for o in custom_ops if o != op]
        also = f" (the model also uses custom op{'s' if len(others) > 1 else ''} {', '.join(others)})" if others else ""
        return UnsupportedError(f"{path.name}: {op} is a TFLite custom op with no kernel in LiteRT{also}",
                                fix="register its kernel with the interpreter (the app's op resolver; in Python "
                                    "Interpreter(custom_op_registerers=...)) or convert the model with builtin ops "
                                    "only / replace the op")
    return ModelFileError(f"{path}: LiteRT cannot load the model ({text})",
                          fix="re-convert the model; the file may be truncated")


@RUNTIMES.register
class LiteRTRuntime(Runtime):
    name = "litert"
    formats = frozenset({Format.TFLITE})
    requires = ("ai_edge_litert",)
    extra = "tflite"
    io_readers = {Format.TFLITE: "edgeport.graph.tflite_reader:read_io"}
    device = DeviceSupport(profile_names=("litert", "tflite-micro"),
                           modules=("ai_edge_litert", "tflite_runtime", "tensorflow"))
    Options = LiteRTOptions
    loads_from_memory = True
    priority = 10
    description = "LiteRT (TFLite) interpreter, XNNPACK CPU delegate by default"
    options: LiteRTOptions

    def _load(self) -> None:
        from ai_edge_litert import interpreter as tfl

        path = Path(self.artifact.path)
        threads = self.options.threads
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be ≥ 1, got {threads}", fix="pass threads=1 or more")
        custom_ops: list[str] = []
        source: dict[str, Any] = {"model_path": str(path)}
        if self.model_bytes is not None:  # decrypted from a package (GCM-authenticated): loaded from memory
            source = {"model_content": bytes(self.model_bytes["model"])}
        else:
            if not path.is_file():
                raise ModelFileError(f"{path}: no such file", fix="check the path")
            _, _, info = read_io(path)  # the bounds-checked reader: a corrupt file fails here, in one line
            custom_ops = list(info.get("custom_ops", []))
            if self.artifact.step is None:  # not a file edgeport's own converter or pass just wrote (see _isolated)
                load_in_child_first("LiteRT", self.version(), path, "edgeport.runtimes.litert:probe_load",
                                    "xnnpack" if self.options.xnnpack else "builtin",
                                    lambda text: _load_error(path, text, custom_ops))
        try:
            with native_output():  # "INFO: Created TensorFlow Lite XNNPACK delegate" goes to fd 2
                self._interp = tfl.Interpreter(**source, num_threads=threads,
                                               experimental_op_resolver_type=_resolver(tfl, self.options.xnnpack,
                                                                                       self.options.reference_kernels))
                self._interp.allocate_tensors()  # applies the delegate now, not in the first run
        except (ValueError, RuntimeError) as exc:
            raise _load_error(path, str(exc), custom_ops) from exc
        signatures = self._interp.get_signature_list()
        self._runner: Any = None
        self._signature: str | None = None
        want = self.options.signature
        if want is not None and want not in signatures:
            raise ConfigError(f"{path.name} has no signature {want!r}",
                              fix=f"use one of: {', '.join(signatures) or '(none: omit the signature)'}")
        if signatures:
            key = want or ("serving_default" if "serving_default" in signatures else next(iter(signatures)))
            self._signature = key
            self._runner = self._interp.get_signature_runner(key)
            ins = self._runner.get_input_details()
            outs = self._runner.get_output_details()
            self._in_details = list(ins.items())
            self._out_details = list(outs.items())
        else:
            self._interp.allocate_tensors()
            self._in_details = [(d["name"], d) for d in self._interp.get_input_details()]
            self._out_details = [(d["name"], d) for d in self._interp.get_output_details()]
            self._shapes: dict[int, tuple[int, ...]] = {d["index"]: tuple(int(x) for x in d["shape"])
                                                        for _, d in self._in_details}

    def signatures(self) -> list[str]:
        self._check_open()
        return list(self._interp.get_signature_list())

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        known = {s.name: s for s in (*self.artifact.inputs, *self.artifact.outputs)}

        def layout(name: str) -> str | None:
            spec = known.get(name)
            return spec.layout if spec is not None else None

        ins = tuple(_details_spec(n, d, layout(n)) for n, d in self._in_details)
        outs = tuple(_details_spec(n, d, layout(n)) for n, d in self._out_details)
        return ins, outs

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            if self._runner is not None:
                return dict(self._runner(**feeds))
            interp = self._interp
            resized = False
            for name, d in self._in_details:
                shape = tuple(feeds[name].shape)
                if self._shapes[d["index"]] != shape:
                    interp.resize_tensor_input(d["index"], list(shape))
                    self._shapes[d["index"]] = shape
                    resized = True
            if resized:
                interp.allocate_tensors()
            for name, d in self._in_details:
                interp.set_tensor(d["index"], feeds[name])
            interp.invoke()
            return {name: interp.get_tensor(d["index"]) for name, d in self._out_details}
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"LiteRT failed running {self.artifact.path.name}: {' '.join(str(exc).split())[:300]}",
                               fix="check the input shapes and data") from exc

    def _release(self) -> None:
        self._runner = None
        self._interp = None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(xnnpack=self.options.xnnpack, signature=getattr(self, "_signature", self.options.signature),
                    op_resolver="BUILTIN_REF" if self.options.reference_kernels else
                    "BUILTIN" if self.options.xnnpack else "BUILTIN_WITHOUT_DEFAULT_DELEGATES")
        return info
