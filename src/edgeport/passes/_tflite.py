"""What the ``ai_edge_quantizer`` passes share: a model it can read, its recipes, a quiet run.

``ai_edge_quantizer`` reads three things that many real ``.tflite`` files lack, so the float model is
rewritten (in a temporary copy) before it is quantised:

- Operator codes: files written with an old schema keep the op in ``deprecated_builtin_code`` and
  leave ``builtin_code`` at 0 (ADD); the quantizer reads only ``builtin_code`` and would treat every
  conv as an ADD. Both fields are made to agree.
- fp16 weights: models shipped with float16 constants feed each through a ``DEQUANTIZE`` op; the
  quantizer then sees the weights as activations (asymmetric, per-tensor: rejected by the int8
  conv kernel). Each such constant is expanded to float32 in place and its ``DEQUANTIZE`` dropped.
- A signature: calibration is addressed by signature; a file without one gets ``serving_default``
  over the subgraph's inputs and outputs under their tensor names (the names edgeport feeds it by).

Recipes keep float inputs and outputs (the graph's INPUT/OUTPUT are not quantised; the quantizer
adds QUANTIZE/DEQUANTIZE at the boundary), so the result is fed like its parent.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError, ModelFileError

__all__ = ["SIGNATURE", "calibration_samples", "check_runs", "prepare_float_model", "quantize_tflite", "recipe"]

SIGNATURE = "serving_default"
_FLOAT_IO = [{"regex": ".*", "operation": op, "algorithm_key": "no_quantize"} for op in ("INPUT", "OUTPUT")]


def recipe(kind: str) -> list[dict[str, Any]]:
    """The ``ai_edge_quantizer`` recipe for ``kind`` (static int8 / int16x8, dynamic int8, fp16 weights)."""
    from ai_edge_quantizer import recipe as recipes

    if kind == "static_wi8_ai8":
        return [*recipes.static_wi8_ai8(), *_FLOAT_IO]
    if kind == "static_wi8_ai16":
        return [*recipes.static_wi8_ai16(), *_FLOAT_IO]
    if kind == "dynamic_wi8_afp32":
        return list(recipes.dynamic_wi8_afp32())
    if kind == "weight_only_wi8_afp32":
        return list(recipes.weight_only_wi8_afp32())
    if kind == "fp16_weights":
        return [{"regex": ".*", "operation": "*", "algorithm_key": "float_casting",
                 "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                               "compute_precision": "FLOAT", "explicit_dequantize": True}}]
    raise ValueError(f"unknown recipe {kind!r}")  # callers pass only the names their options allow


def prepare_float_model(src: Path, dst: Path) -> dict[str, int]:
    """Write ``src`` as the quantizer reads it (see the module docstring); returns what was changed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    buf = src.read_bytes()
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    if any(b.offset > 1 for b in model.buffers or []):
        raise ModelFileError(f"{src.name}: weights stored outside the flatbuffer (>2 GB model)",
                             fix="the TFLite quantizer reads models whose weights are inside the file")
    codes = 0
    for code in model.operatorCodes or []:
        real = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        if code.builtinCode != real:
            code.builtinCode, codes = real, codes + 1
    dequantize = {i for i, c in enumerate(model.operatorCodes or [])
                  if c.builtinCode == schema.BuiltinOperator.DEQUANTIZE}
    folded = 0
    for sub in model.subgraphs:
        kept = []
        for op in sub.operators or []:
            if op.opcodeIndex in dequantize and _fold_fp16(model, sub, op, schema):
                folded += 1
                continue
            kept.append(op)
        sub.operators = kept
    signature = 0
    if not model.signatureDefs:
        model.signatureDefs = [_default_signature(model.subgraphs[0], schema)]
        signature = 1
    if folded:
        for index, sub in enumerate(model.subgraphs):
            _drop_unused_tensors(sub, [s for s in model.signatureDefs if s.subgraphIndex == index])
    builder = flatbuffers.Builder(2 * len(buf) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return {"opcodes_fixed": codes, "fp16_weights_expanded": folded, "signature_added": signature}


def _fold_fp16(model: Any, sub: Any, op: Any, schema: Any) -> bool:
    """Expand a ``DEQUANTIZE`` of a float16 constant into a float32 constant (in the fp16 buffer)."""
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        return False
    src, out = sub.tensors[op.inputs[0]], sub.tensors[op.outputs[0]]
    buffer = model.buffers[src.buffer] if src.buffer else None
    if (src.type != schema.TensorType.FLOAT16 or out.type != schema.TensorType.FLOAT32 or buffer is None
            or buffer.data is None or not len(buffer.data)):
        return False
    if sum(1 for t in sub.tensors if t.buffer == src.buffer) > 1:
        return False  # shared with another tensor: leave it as it is
    values = np.frombuffer(bytes(np.asarray(buffer.data, dtype=np.uint8)), dtype=np.float16).astype(np.float32)
    buffer.data = np.frombuffer(values.tobytes(), dtype=np.uint8).copy()
    out.buffer, src.buffer = src.buffer, 0
    return True


def _drop_unused_tensors(sub: Any, signatures: list[Any]) -> None:
    """Remove tensors nothing reads or writes (the fp16 constants left behind by folding), renumbering the rest.

    The quantizer's calibration reads every tensor of the graph; one with neither data nor producer fails it.
    """
    def refs(op: Any) -> list[int]:
        return [int(i) for i in (*op.inputs, *op.outputs, *(op.intermediates if op.intermediates is not None else ()))]

    used = {i for op in sub.operators for i in refs(op) if i >= 0}
    used |= {int(i) for i in (*sub.inputs, *sub.outputs)}
    used |= {int(m.tensorIndex) for sig in signatures for m in (*(sig.inputs or []), *(sig.outputs or []))}
    order = sorted(used)
    new = {old: i for i, old in enumerate(order)}
    sub.tensors = [sub.tensors[i] for i in order]
    for op in sub.operators:
        op.inputs = [new[int(i)] if i >= 0 else int(i) for i in op.inputs]
        op.outputs = [new[int(i)] if i >= 0 else int(i) for i in op.outputs]
        if op.intermediates is not None:
            op.intermediates = [new[int(i)] for i in op.intermediates]
    sub.inputs = [new[int(i)] for i in sub.inputs]
    sub.outputs = [new[int(i)] for i in sub.outputs]
    for sig in signatures:
        for m in (*(sig.inputs or []), *(sig.outputs or [])):
            m.tensorIndex = new[int(m.tensorIndex)]


def _default_signature(sub: Any, schema: Any) -> Any:
    def tensor_map(index: int) -> Any:
        entry = schema.TensorMapT()
        name = sub.tensors[index].name
        entry.name = name.decode("utf-8") if isinstance(name, bytes) else str(name)
        entry.tensorIndex = int(index)
        return entry

    sig = schema.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = SIGNATURE, 0
    sig.inputs = [tensor_map(i) for i in sub.inputs]
    sig.outputs = [tensor_map(i) for i in sub.outputs]
    return sig


def calibration_samples(artifact: Artifact, data: Dataset, limit: int) -> list[dict[str, np.ndarray]]:
    """Up to ``limit`` calibration samples, one dict of batch-1 arrays per sample, keyed by input name."""
    mapping = data.bind(artifact.inputs)
    count = min(limit, data.count)
    samples = []
    for i in range(count):
        sample = {}
        for spec in artifact.inputs:
            value = np.asarray(data.inputs[mapping[spec.name]][i:i + 1]).astype(spec.dtype, copy=False)
            sample[spec.name] = value
        samples.append(sample)
    return samples


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The quantizer's tqdm bars on stderr, and the interpreter warning its calibration always raises."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.filterwarnings("ignore", message=r"(?s).*experimental_preserve_all_tensors")
        yield


def quantize_tflite(prepared: Path, out: Path, recipe_rows: list[dict[str, Any]],
                    calibration: list[dict[str, np.ndarray]] | None, pass_name: str) -> None:
    """Quantise the prepared model with ``recipe_rows`` (calibrated when the recipe needs it) into ``out``."""
    from ai_edge_quantizer import quantizer

    try:
        with _quiet():
            q = quantizer.Quantizer(str(prepared), recipe_rows)
            result = None
            if q.need_calibration:
                assert calibration is not None  # the static pass requires data before it gets here
                threads = max(1, min(4, os.cpu_count() or 1))
                result = q.calibrate({SIGNATURE: calibration}, num_threads=threads)
            quantized = q.quantize(result, enable_progress_bar=False, enable_progress_report=False)
    except (ValueError, RuntimeError, KeyError, NotImplementedError) as exc:  # the quantizer's refusals
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ConversionError(f"ai_edge_quantizer failed: {first}", converter=pass_name, stage="quantize",
                              fix="try another precision, or quantise while converting (edgeport convert "
                                  "--precision int8 from the source model)") from exc
    out.write_bytes(bytes(quantized.quantized_model))


def check_runs(path: Path, pass_name: str) -> None:
    """The written model loads and allocates in LiteRT (a kernel refusing its quantisation fails here)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_path=str(path)).allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        first = " ".join(str(exc).split())[:300]
        raise ConversionError(f"the quantised model does not load in LiteRT: {first}", converter=pass_name,
                              stage="post-check", fix="try another precision") from exc
