"""ONNX → TFLite with ``onnx2tf``: fp32, fp16, dynamic-range int8, full-integer int8.

onnx2tf rewrites the model channels-last: an NCHW input becomes NHWC (NCW → NWC, NCDHW → NDHWC),
and so do rank ≥ 3 outputs. The written artifact records that on its specs (``layout="NHWC"``)
and in its metadata (``layout_map``: input name → [source layout, TFLite layout]) and inside the
``.tflite`` itself, so verification and benchmarks transpose the data they feed.

Full-integer int8 is calibrated on the dataset's calibration split, passed to onnx2tf explicitly
as channels-last ``.npy`` files with mean 0 / std 1 (the data is used as is). onnx2tf otherwise
downloads a sample image file for 3-channel inputs; edgeport replaces that download with its
own data (or seeded random data when there is none), so no conversion ever reaches the network.

The ONNX file is prepared first (``_onnx_prepare``): onnx2tf compiles fixed shapes, so an unknown
non-batch dim fails before it runs, naming ``--shape``. A failure quotes onnx2tf's own error line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.convert import CONVERTERS
from edgeport.convert._onnx_prepare import prepare_for
from edgeport.convert._tflite_common import calibration_arrays, check_calibration, finish_tflite
from edgeport.convert.base import ConvertOptions, Converter
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, raised_in
from edgeport.verify.tolerance import Tolerance

_BACKEND = raised_in("onnx2tf", "tensorflow", "keras", "tf_keras", "onnx", "onnx_graphsurgeon", "sng4onnx")

__all__ = ["OnnxToTflite", "OnnxToTfliteOptions", "channels_last", "onnx2tf_error"]

_CHANNELS_LAST = {3: ("NCW", "NWC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}
_FILES = {"fp32": "_float32", "fp16": "_float16", "int8-dynamic": "_dynamic_range_quant",
          "int8": "_full_integer_quant"}


@dataclass(frozen=True)
class OnnxToTfliteOptions(ConvertOptions):
    io_dtype: str = "int8"  # int8 precision: int8 | uint8 I/O, or float32 (quantise inside the model)
    per_channel: bool = True
    calibration_samples: int = 256
    keep_layout: bool = False  # True: keep inputs channels-first (adds transposes inside the model)
    allow_flex: bool = False  # True: accept TensorFlow Select (Flex) ops in the result (most devices cannot run them)


def channels_last(rank: int) -> tuple[int, ...]:
    """The axis permutation onnx2tf applies to a channels-first tensor of ``rank``."""
    return (0, *range(2, rank), 1)


def _layouts(spec: TensorSpec, tfl_shape: tuple[Any, ...], keep: bool) -> tuple[str | None, str | None]:
    """(source layout, TFLite layout) for one tensor, checked against the shapes actually written."""
    rank = len(spec.shape)
    if rank not in _CHANNELS_LAST:
        return spec.layout, spec.layout
    first, last = _CHANNELS_LAST[rank]
    src = spec.layout or first
    if keep or src != first:
        return src, src
    permuted = tuple(spec.shape[i] for i in channels_last(rank))
    same = all(not isinstance(a, int) or not isinstance(b, int) or a == b for a, b in zip(permuted, tfl_shape))
    return (src, last) if same else (src, None)


@CONVERTERS.register
class OnnxToTflite(Converter):
    name = "onnx-to-tflite"
    source = Format.ONNX
    target = Format.TFLITE
    requires = ("onnx2tf", "tensorflow", "onnx", "ai_edge_litert")
    extra = "tflite"
    Options = OnnxToTfliteOptions
    precisions = ("fp32", "fp16", "int8-dynamic", "int8")
    needs_data = ("int8",)
    default_tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    priority = 20
    description = "onnx2tf: fp32, fp16, dynamic-range int8, full-integer int8 (NCHW inputs become NHWC)"

    def _convert(self, artifact: Artifact, out: Path, options: ConvertOptions,
                 calibration: Dataset | None) -> Artifact:
        assert isinstance(options, OnnxToTfliteOptions)
        if options.precision not in self.precisions:
            raise ConfigError(f"{self.name} does not produce {options.precision}",
                              fix=f"use one of: {', '.join(self.precisions)}")
        if options.io_dtype not in ("int8", "uint8", "float32"):
            raise ConfigError(f"io_dtype {options.io_dtype!r} is not int8, uint8 or float32",
                              fix="use io_dtype='int8' (default), 'uint8' or 'float32'")
        work = Path(tempfile.mkdtemp(prefix="onnx2tf-", dir=out.parent))
        try:
            source, prepared = prepare_for(artifact, work, backend="onnx2tf",
                                           batch=None if options.dynamic_batch else 1)
            check_calibration(self.name, options.precision, self.needs_data, calibration, source.inputs)
            produced = self._run_onnx2tf(source, work, options, calibration)
            shutil.move(str(produced), str(out))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return dataclasses.replace(self._finish(source, out, options, prepared), parent=artifact)

    def _run_onnx2tf(self, artifact: Artifact, work: Path, options: OnnxToTfliteOptions,
                     calibration: Dataset | None) -> Path:
        import onnx2tf
        import onnx2tf.onnx2tf as o2t_main
        import onnx2tf.utils.common_functions as o2t_common

        specs = artifact.inputs
        perm_of = {s.name: (channels_last(len(s.shape)) if len(s.shape) in _CHANNELS_LAST and
                            not options.keep_layout and (s.layout or _CHANNELS_LAST[len(s.shape)][0])
                            == _CHANNELS_LAST[len(s.shape)][0] else None) for s in specs}
        calib_args = None
        sample: np.ndarray | None = None
        if options.precision == "int8":
            assert calibration is not None
            arrays = calibration_arrays(calibration, specs, options.calibration_samples)
            calib_args = []
            for spec in specs:
                arr = arrays[spec.name].astype(np.float32)
                perm = perm_of[spec.name]
                if perm is not None:
                    arr = np.ascontiguousarray(arr.transpose(perm))
                path = work / f"calibration_{len(calib_args)}.npy"
                np.save(path, arr)
                ones = np.ones((1,) * arr.ndim, dtype=np.float32)
                calib_args.append([spec.name, str(path), ones * 0.0, ones])
                if sample is None:
                    sample = arr
        elif calibration is not None and specs:
            arr = calibration_arrays(calibration, specs[:1], 20)[specs[0].name].astype(np.float32)
            perm = perm_of[specs[0].name]
            sample = np.ascontiguousarray(arr.transpose(perm)) if perm is not None else arr
        no_download = _sample_data(specs, perm_of, sample)
        saved = (o2t_main.download_test_image_data, o2t_common.download_test_image_data)
        o2t_main.download_test_image_data = no_download
        o2t_common.download_test_image_data = no_download
        keep = [s.name for s in specs] if options.keep_layout else None
        log = io.StringIO()  # onnx2tf prints its errors (then often calls sys.exit): keep them to quote
        try:
            with contextlib.redirect_stdout(log):
                onnx2tf.convert(
                    input_onnx_file_path=str(artifact.path), output_folder_path=str(work / "saved_model"),
                    copy_onnx_input_output_names_to_tflite=True, non_verbose=True, verbosity="error",
                    output_dynamic_range_quantized_tflite=options.precision == "int8-dynamic",
                    output_integer_quantized_tflite=options.precision == "int8",
                    quant_type="per-channel" if options.per_channel else "per-tensor",
                    custom_input_op_name_np_data_path=calib_args,
                    input_quant_dtype=options.io_dtype if options.io_dtype != "float32" else "int8",
                    output_quant_dtype=options.io_dtype if options.io_dtype != "float32" else "int8",
                    keep_ncw_or_nchw_or_ncdhw_input_names=keep)
        except SystemExit as exc:  # onnx2tf calls sys.exit(1) after logging an unsupported graph
            said = onnx2tf_error(log.getvalue()) or f"exit status {exc.code}, no error line printed"
            raise ConversionError(f"onnx2tf failed: {said}", converter=self.name, stage="onnx2tf",
                                  fix="the quoted line is onnx2tf's; try --via another path or --to openvino") from None
        except ConversionError:
            raise
        except Exception as exc:  # onnx2tf raises many types for unsupported graphs
            if not _BACKEND(exc):
                raise  # not the backend's failure: a bug keeps its traceback
            said = onnx2tf_error(log.getvalue(), exc)
            raise ConversionError(f"onnx2tf failed: {said}", converter=self.name, stage="onnx2tf",
                                  fix="the quoted line is onnx2tf's; try --via another path or --to openvino") from exc
        finally:
            o2t_main.download_test_image_data, o2t_common.download_test_image_data = saved
        suffix = _FILES[options.precision]
        if options.precision == "int8" and options.io_dtype == "float32":
            suffix = "_integer_quant"
        found = sorted((work / "saved_model").glob(f"*{suffix}.tflite"))
        if not found:
            raise ConversionError(f"onnx2tf wrote no *{suffix}.tflite", converter=self.name, stage="convert",
                                  fix="run onnx2tf by hand on the model to see its log")
        return found[0]

    def _finish(self, artifact: Artifact, out: Path, options: OnnxToTfliteOptions,
                prepared: dict[str, Any]) -> Artifact:
        from edgeport.graph.tflite_reader import read_io

        tfl_ins, tfl_outs, info = read_io(out)
        if info["flex_ops"] and not options.allow_flex:
            out.unlink(missing_ok=True)
            raise ConversionError(f"onnx2tf kept TensorFlow op(s) as Flex ops {info['flex_ops']}: most devices and "
                                  "the plain LiteRT runtime cannot run them", converter=self.name, stage="convert",
                                  fix="replace those ops in the model, or pass allow_flex=True to keep them")
        in_layouts, layout_map = [], {}
        for spec, tfl in zip(artifact.inputs, tfl_ins):
            src, dst = _layouts(spec, tfl.shape, options.keep_layout)
            in_layouts.append(dst)
            if src and dst:
                layout_map[tfl.name] = [src, dst]
        out_layouts = []
        for spec, tfl in zip(artifact.outputs, tfl_outs):
            src, dst = _layouts(spec, tfl.shape, options.keep_layout)
            out_layouts.append(dst)
            if src and dst:
                layout_map[tfl.name] = [src, dst]
        return finish_tflite(artifact, out, input_layouts=in_layouts, output_layouts=out_layouts,
                             step_name=self.name, source_names=True,
                             metadata={**prepared, "precision": options.precision, "converter": "onnx2tf",
                                       "layout_map": layout_map,
                                       "io_dtype": options.io_dtype if options.precision == "int8" else "float32"})


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ADVICE = ("the trace log is below", "read this and deal with it", "alternatively, if the input op",
           "if the input op of onnx", "also, for models that include", "input_onnx_file_path:")


def onnx2tf_error(log: str, exc: BaseException | None = None, limit: int = 360) -> str:
    """onnx2tf's own words on one line: the exception's cause (or its first printed error) and the node.

    onnx2tf prints ``ERROR:`` lines — a banner, the traceback, ``onnx_op_name: <node>``, then advice —
    and raises or exits. Keras wraps the TensorFlow cause in "Exception encountered when calling layer…"
    with the cause on the next lines and the call arguments after: the cause is kept, the arguments not.
    """
    printed = [_ANSI.sub("", ln).strip() for ln in log.splitlines()]
    errors = [ln[len("ERROR:"):].strip() for ln in printed if ln.startswith("ERROR:")]
    node = next((e.split(":", 1)[1].strip() for e in errors if e.startswith("onnx_op_name:")), "")
    said: list[str] = []
    for ln in (ln.strip() for ln in str(exc or "").splitlines()):
        if ln.startswith("Call arguments received"):
            break
        if ln:
            said.append(ln)
    missing = re.match(r"No module named 'onnx2tf\.ops\.(\w+)'", str(exc or ""))
    if missing:  # onnx2tf imports one module per ONNX op type: this is its "no converter for this op"
        said = [f"onnx2tf has no converter for ONNX op {missing.group(1)} ({said[0]})"]
    elif exc is not None:
        said = [f"{type(exc).__name__}: {said[0]}", *said[1:]] if said else [type(exc).__name__]
    else:
        said = [e for e in errors if e and not e.lower().startswith(_ADVICE) and not e.startswith("onnx_op_name:")][:1]
    text = " ".join(said)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return f"{text} (at node {node})" if node else text


def _sample_data(specs: tuple[TensorSpec, ...], perm_of: dict[str, tuple[int, ...] | None],
                 sample: np.ndarray | None) -> Any:
    """A stand-in for onnx2tf's sample-image download: our data, or seeded random data, never the network."""
    def no_download() -> np.ndarray:
        if sample is not None and len(sample) >= 1:
            reps = -(-20 // len(sample))
            return np.concatenate([sample] * reps)[:20].astype(np.float32)
        spec = specs[0] if specs else None
        shape: tuple[int, ...] = (128, 128, 3)
        if spec is not None and len(spec.shape) == 4:
            dims = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
            perm = perm_of.get(spec.name)
            dims = [dims[i] for i in perm] if perm is not None else dims
            shape = tuple(dims[1:])
        return np.random.default_rng(0).random((20, *shape), dtype=np.float32)

    return no_download
