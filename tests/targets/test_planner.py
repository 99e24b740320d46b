"""Arena planner invariants on hand-built graphs (no optional dependencies)."""

from __future__ import annotations

import pytest

from edgeport.analysis.memory import estimate_memory, fit, lifetimes, plan_arena
from edgeport.core.formats import Format
from edgeport.graph.ir import Graph, Node, TensorInfo


def _graph(sizes: list[int], ops: list[str], *, skip: bool = False, fmt: Format = Format.TFLITE) -> Graph:
    """x -> op0 -> ... with int8 tensors of the given sizes; ``skip`` adds x to the last node's inputs."""
    tensors = {"x": TensorInfo("x", "int8", (1, sizes[0]))}
    nodes = []
    prev = "x"
    for i, (size, op) in enumerate(zip(sizes[1:], ops)):
        out = f"t{i}"
        tensors[out] = TensorInfo(out, "int8", (1, size))
        ins = [prev] + (["x"] if skip and i == len(ops) - 1 else [])
        nodes.append(Node(f"n{i}", op, ins, [out]))
        prev = out
    return Graph("g", fmt, nodes, tensors, ["x"], [prev])


def _no_overlap(bufs) -> None:
    roots = [b for b in bufs if b.alias_of is None]
    for a in roots:
        for b in roots:
            if a is b or a.last < b.first or b.last < a.first:
                continue
            assert a.offset + a.nbytes <= b.offset or b.offset + b.nbytes <= a.offset, (a, b)


def test_chain_reuses_memory_and_meets_lower_bound():
    g = _graph([1000, 3000, 2000, 500], ["RELU", "RELU", "RELU"])
    plan = plan_arena(lifetimes(g))
    _no_overlap(plan.buffers)
    assert plan.lower_bound == max(1008 + 3008, 3008 + 2000, 2000 + 512)  # sizes aligned to 16 bytes
    assert plan.activation_bytes == plan.lower_bound  # a chain is planned optimally
    assert plan.peak_step == 1


def test_skip_connection_keeps_input_alive():
    g = _graph([1024, 1024, 1024, 1024], ["RELU", "RELU", "ADD"], skip=True)
    lts = {b.name: b for b in lifetimes(g)}
    assert (lts["x"].first, lts["x"].last) == (0, 2)
    plan = plan_arena(list(lts.values()))
    _no_overlap(plan.buffers)
    assert plan.activation_bytes >= plan.lower_bound == 3 * 1024


@pytest.mark.parametrize("fmt,op", [(Format.TFLITE, "RESHAPE"), (Format.ONNX, "Squeeze")])
def test_inplace_reshape_aliases(fmt: Format, op: str):
    relu, add = ("RELU", "ADD") if fmt == Format.TFLITE else ("Relu", "Add")
    g = _graph([4096, 4096, 4096, 16], [relu, op, add], skip=True, fmt=fmt)  # x stays alive to the end
    copy = plan_arena(lifetimes(g))
    alias = plan_arena(lifetimes(g, inplace=True))
    assert copy.activation_bytes == 3 * 4096  # x, t0 and its reshaped copy t1
    assert alias.activation_bytes == 2 * 4096 + 16
    assert next(b for b in alias.buffers if b.name == "t1").alias_of == "t0"


def test_estimate_and_fit_on_a_graph():
    g = _graph([16384, 65536, 65536, 1000], ["CONV_2D", "RELU", "FULLY_CONNECTED"])
    est = estimate_memory(g)
    assert est.activation_bytes == 2 * 65536
    assert est.arena_bytes > est.activation_bytes + est.runtime_overhead_bytes - 1
    assert est.code_bytes > 30 * 1024 and est.flash_bytes == est.weight_bytes + est.code_bytes
    assert fit(g, "stm32h743").fits
    small = fit(g, "stm32f446")  # 128 KB SRAM < 128 KB activations + overhead
    assert not small.fits and small.ram_margin_bytes < 0 and "short by" in small.verdict
    assert any("input resolution" in s for s in small.suggestions)
