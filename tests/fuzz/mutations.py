"""Tiny models made on the spot and seeded mutations of model files, for the reader fuzz tests.

The models are built directly (ONNX with ``onnx.helper``, TFLite with the flatbuffer schema's object
API), so no converter runs and every byte of the file is a table, vector or weight a reader walks.
Mutations are deterministic for a seed: the same files every run, so a failure is reproducible by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Mutant", "cli_problem", "huge_dim_onnx", "huge_dim_tflite", "mutants", "tiny_onnx", "tiny_tflite"]


@dataclass(frozen=True)
class Mutant:
    name: str  # what was done, e.g. "truncate@120" or "flip@37x3"
    data: bytes


def tiny_onnx(path: Path) -> Path:
    """Conv → Relu → GlobalAveragePool → Flatten → Gemm on a 1×3×8×8 input (a few hundred bytes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    g = numpy_helper.from_array(rng.standard_normal((2, 4)).astype(np.float32), "g")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "g"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w, g])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_tflite(path: Path, custom_op: str | None = None, op: str = "FULLY_CONNECTED") -> Path:
    """FULLY_CONNECTED (4 → 3) with a ``serving_default`` signature; with ``custom_op``, a TFLite custom
    operator of that name follows it (no runtime has a kernel for it). ``op`` names another builtin to
    put in FULLY_CONNECTED's place, with the same tensors and no options (a structurally valid file
    whose operator does not fit its inputs)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(0)

    def buffer(values: np.ndarray | None) -> s.BufferT:
        b = s.BufferT()
        if values is not None:
            b.data = np.frombuffer(values.tobytes(), dtype=np.uint8).copy()
        return b

    def tensor(name: str, shape: list[int], buf: int = 0) -> s.TensorT:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, shape, s.TensorType.FLOAT32, buf
        return t

    def opcode(builtin: int, custom: str | None = None) -> s.OperatorCodeT:
        c = s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.customCode = builtin, min(builtin, 127), custom
        return c

    def tensor_map(name: str, index: int) -> s.TensorMapT:
        m = s.TensorMapT()
        m.name, m.tensorIndex = name, index
        return m

    model = s.ModelT()
    model.version = 3
    model.buffers = [buffer(None), buffer(rng.standard_normal((3, 4)).astype(np.float32)),
                     buffer(rng.standard_normal(3).astype(np.float32))]
    sub = s.SubGraphT()
    sub.tensors = [tensor("x", [1, 4]), tensor("w", [3, 4], 1), tensor("b", [3], 2), tensor("fc", [1, 3])]
    fc = s.OperatorT()
    fc.opcodeIndex, fc.inputs, fc.outputs = 0, [0, 1, 2], [3]
    if op == "FULLY_CONNECTED":
        fc.builtinOptionsType, fc.builtinOptions = s.BuiltinOptions.FullyConnectedOptions, s.FullyConnectedOptionsT()
    sub.operators = [fc]
    model.operatorCodes = [opcode(getattr(s.BuiltinOperator, op))]
    out = 3
    if custom_op is not None:
        sub.tensors.append(tensor("y", [1, 3]))
        op = s.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = 1, [3], [4]
        sub.operators.append(op)
        model.operatorCodes.append(opcode(s.BuiltinOperator.CUSTOM, custom_op))
        out = 4
    sub.inputs, sub.outputs, sub.name = [0], [out], "main"
    model.subgraphs = [sub]
    sig = s.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = "serving_default", 0
    sig.inputs, sig.outputs = [tensor_map("x", 0)], [tensor_map("y", out)]
    model.signatureDefs = [sig]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def huge_dim_onnx(valid: Path, dim: int = 1 << 40) -> list[Mutant]:
    """The valid ONNX model with a huge dimension declared on its input, on its output, and on a weight
    (whose stored data no longer matches the declared size)."""
    import onnx

    out: list[Mutant] = []
    for where in ("input", "output", "initializer"):
        m = onnx.load(str(valid))
        if where == "input":
            m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = dim
        elif where == "output":
            m.graph.output[0].type.tensor_type.shape.dim[1].dim_value = dim
        else:
            m.graph.initializer[0].dims[0] = dim
        out.append(Mutant(f"huge-dim-{where}", m.SerializeToString()))
    return out


def huge_dim_tflite(valid: Path, dim: int = 2**31 - 1) -> list[Mutant]:
    """The valid TFLite model with the largest int32 dimension on its (first) input, on its first weight,
    and on every tensor."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    buf = valid.read_bytes()
    out: list[Mutant] = []
    for where in ("input", "weight", "all"):
        model = s.ModelT.InitFromPackedBuf(buf, 0)
        sub = model.subgraphs[0]
        tensors = sub.tensors
        weight = next(i for i, t in enumerate(tensors) if t.buffer > 0 and model.buffers[t.buffer].data is not None
                      and len(model.buffers[t.buffer].data))
        targets = {"input": [int(sub.inputs[0])], "weight": [weight], "all": range(len(tensors))}[where]
        for i in targets:
            shape = list(tensors[i].shape if tensors[i].shape is not None else [])
            tensors[i].shape = shape[:-1] + [dim] if shape else [dim]
        builder = flatbuffers.Builder(len(buf) + 1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        out.append(Mutant(f"huge-dim-{where}", bytes(builder.Output())))
    return out


def mutants(data: bytes, seed: int, *, truncations: int = 8, flips: int = 16, randoms: int = 4,
            magic: tuple[int, bytes] | None = None) -> Iterator[Mutant]:
    """Seeded mutations of ``data``: empty, truncations spread over the file, byte flips (1–4 bytes
    each), random bodies behind the real header, and (``magic`` = (offset, bytes)) a wrong magic."""
    rng = np.random.default_rng(seed)
    n = len(data)
    yield Mutant("empty", b"")
    cuts = sorted({int(c) for c in np.linspace(1, n - 1, truncations)})
    for cut in cuts:
        yield Mutant(f"truncate@{cut}", data[:cut])
    for _ in range(flips):
        body = bytearray(data)
        count = int(rng.integers(1, 5))
        where = [int(p) for p in rng.integers(0, n, count)]
        for p in where:
            body[p] ^= int(rng.integers(1, 256))
        yield Mutant(f"flip@{'+'.join(map(str, where))}", bytes(body))
    for i in range(randoms):
        head = 8 if i % 2 == 0 else 0
        body = data[:head] + rng.integers(0, 256, n - head, dtype=np.uint8).tobytes()
        yield Mutant(f"random{'-keep-header' if head else ''}#{i}", body)
    if magic is not None:
        offset, wrong = magic
        yield Mutant("wrong-magic", data[:offset] + wrong + data[offset + len(wrong):])


def cli_problem(command: str, exit_code: int, output: str) -> str | None:
    """What is wrong with one run's ending (``None``: a clean success or one clean error line)."""
    if "Traceback" in output:
        return "printed a traceback"
    if exit_code not in (0, 1, 2, 3):
        return f"exit code {exit_code}"
    errors = [ln for ln in output.splitlines() if ln.startswith("error:")]
    if exit_code == 0:
        return f"succeeded but printed {errors[0]!r}" if errors else None
    if exit_code == 1 and command == "fit" and not errors:
        return None  # "does not fit": the verdict is the table, not an error
    if len(errors) != 1:
        return f"exit {exit_code} with {len(errors)} error lines"
    return None
