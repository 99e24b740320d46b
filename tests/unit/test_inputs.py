"""Input plans (``--shape``/``--input``), spec-respecting synthetic feeds and the Dataset feeding rules.

The model is made by hand with ``onnx.helper`` so nothing depends on the zoo: ``x`` [n, 4], a
recurrent ``state`` [2, n, 4] (batch in dim 1, the ONNX RNN layout) and a rank-0 int64 ``k`` that the
graph compares with 3 (``flag = Equal(k, 3)``), as silero VAD does with its sample rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app
from edgeport.core.artifact import load_artifact
from edgeport.core.inputs import InputPlan, apply_plan, batch_axes, synthetic_feeds, unknown_dims_note
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.data.synthetic import feed_plan, synthetic_data
from edgeport.errors import ConfigError, DatasetError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def stateful(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Constant", [], ["axes"], value=helper.make_tensor("a", TensorProto.INT64, [1], [0])),
        helper.make_node("ReduceSum", ["state", "axes"], ["summed"], keepdims=0),
        helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["summed", "kf"], ["scaled"]),
        helper.make_node("Add", ["x", "scaled"], ["y"]),
        helper.make_node("Identity", ["state"], ["state_out"]),
        helper.make_node("Constant", [], ["three"], value=helper.make_tensor("t", TensorProto.INT64, [], [3])),
        helper.make_node("Equal", ["k", "three"], ["flag"]),
    ]
    graph = helper.make_graph(
        nodes, "stateful",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4]),
         helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "n", 4]),
         helper.make_tensor_value_info("k", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4]),
         helper.make_tensor_value_info("state_out", TensorProto.FLOAT, [2, "n", 4]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("inputs") / "stateful.onnx"
    onnx.save(model, str(path))
    return path


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ---- parsing -------------------------------------------------------------------------------------
def test_parse_shapes_and_values() -> None:
    plan = InputPlan.parse(["x=1x3x640x640", "y=2,5", "z=scalar"], ["sr=16000", "s=st.npy", "u=uniform(0, 1)",
                                                                    "g=normal(0,0.5)", "b=true"], batch=4)
    assert plan.shapes == {"x": (1, 3, 640, 640), "y": (2, 5), "z": ()}
    assert [(v.kind, v.args) for v in plan.values.values()] == [
        ("literal", (16000.0,)), ("file", ()), ("uniform", (0.0, 1.0)), ("normal", (0.0, 0.5)), ("literal", (1.0,))]
    assert plan.batch == 4 and not plan.empty and InputPlan().empty
    assert InputPlan.parse(["1x4"]).shapes == {"": (1, 4)}  # positional: the model's only input
    assert InputPlan.parse({"x": (1, 4)}, {"sr": 16000}).to_dict() == {
        "shapes": {"x": [1, 4]}, "values": {"sr": "16000"}, "batch": None}
    assert InputPlan.from_dict(plan.to_dict()) == plan


@pytest.mark.parametrize(("shapes", "inputs", "needle"), [
    (["x=1xAx3"], [], "not a shape"),
    (["x=1x2", "x=1x3"], [], "given twice"),
    ([], ["x=banana"], "'banana' is not a number"),
    ([], ["x=uniform(2,1)"], "LO < HI"),
    ([], ["x=normal(0,0)"], "STD > 0"),
])
def test_parse_errors_are_one_line(shapes: list[str], inputs: list[str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")) as err:
        InputPlan.parse(shapes, inputs)
    assert "\n" not in str(err.value)


# ---- applying a plan to the declared specs ---------------------------------------------------------
@pytest.mark.parametrize(("shape", "needle"), [
    ("w=1x4", "no input 'w' (its inputs: x [n, 4], state [2, n, 4], k [])"),
    ("x=1x4x1", "'x' (declared [n, 4] float32) has rank 3, the model's is 2"),
    ("x=0x4", "'x' (declared [n, 4] float32): dim 0 is 0, not positive"),
    ("x=1x5", "'x' (declared [n, 4] float32): dim 1 is fixed at 4, not 5"),
    ("1x4", "without a name, but the model has 3 inputs"),
])
def test_bad_shape_names_the_input_and_its_declared_shape(stateful: Path, shape: str, needle: str) -> None:
    art = load_artifact(stateful)
    with pytest.raises(ConfigError) as err:
        art.with_inputs(InputPlan.parse([shape]))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_npy_values_are_checked_against_dtype_and_shape(stateful: Path, tmp_path: Path) -> None:
    art = load_artifact(stateful)
    np.save(tmp_path / "f64.npy", np.zeros((2, 1, 4)))
    np.save(tmp_path / "wide.npy", np.zeros((2, 1, 5), np.float32))
    np.save(tmp_path / "ok.npy", np.ones((2, 3, 4), np.float32))
    with pytest.raises(ConfigError, match=r"dtype float64, input 'state' \(declared \[2, n, 4\] float32\)"):
        art.with_inputs(InputPlan.parse([], [f"state={tmp_path / 'f64.npy'}"]))
    with pytest.raises(ConfigError, match=r"shape \(2, 1, 5\), input 'state' \(declared \[2, n, 4\] float32\)"):
        art.with_inputs(InputPlan.parse([], [f"state={tmp_path / 'wide.npy'}"]))
    with pytest.raises(ConfigError, match="no such file"):
        art.with_inputs(InputPlan.parse([], [f"state={tmp_path / 'missing.npy'}"]))
    shaped = art.with_inputs(InputPlan.parse(["x=3x4"], [f"state={tmp_path / 'ok.npy'}"]))
    assert shaped.input("state").shape == (2, 3, 4) and shaped.input("x").shape == (3, 4)  # the file fixes n
    assert shaped.metadata["input_plan"]["shapes"] == {"x": [3, 4]}
    data = synthetic_feeds(shaped.inputs, 2, plan=shaped.input_plan)
    assert data.inputs["state"].shape == (2, 2, 3, 4) and float(data.inputs["state"].min()) == 1.0


def test_batch_axes_and_the_unknown_dims_note() -> None:
    specs = (TensorSpec("x", "float32", ("b", 3, None, None)), TensorSpec("state", "float32", (2, None, 128)),
             TensorSpec("ids", "int64", (1, "b")))
    assert batch_axes(specs) == {"x": (0,), "state": (1,), "ids": (1,)}  # ids shares x's batch symbol
    note = unknown_dims_note(specs)
    assert note is not None and "\n" not in note
    assert "x [b, 3, ?, ?] (dims 2, 3)" in note and "--shape x=1x3xHxW" in note
    assert unknown_dims_note(apply_plan(specs, InputPlan.parse(["x=1x3x32x32"]))) is None


# ---- synthetic feeds through a real runtime ----------------------------------------------------
def test_synthetic_feeds_keep_ranks_and_run(stateful: Path) -> None:
    from edgeport.runtimes.base import open_runtime, run_dataset

    art = load_artifact(stateful)
    assert feed_plan(art).values["k"].text == "3"  # the graph compares k with 3
    data = synthetic_data(art, count=3)
    assert data.inputs["x"].shape == (3, 1, 4) and data.inputs["state"].shape == (3, 2, 1, 4)
    assert data.inputs["k"].shape == (3,) and data.inputs["k"].dtype == np.int64
    assert not data.inputs["state"].any()  # recurrent state starts at zeros
    feeds = list(data.batches(art.inputs, 8))  # a whole-fed input: one sample per feed whatever is asked
    assert len(feeds) == 3
    assert {k: v.shape for k, v in feeds[0].items()} == {"x": (1, 4), "state": (2, 1, 4), "k": ()}
    with open_runtime(art, "onnxruntime") as rt:
        out = rt.run(feeds[0])
        assert out["flag"].shape == () and bool(out["flag"])
        assert out["state_out"].shape == (2, 1, 4)
        np.testing.assert_allclose(out["y"], feeds[0]["x"])  # zero state adds nothing
        outs = run_dataset(rt, data)  # whole feeds: one output per sample, stacked
        assert outs["y"].shape == (3, 1, 4) and outs["flag"].shape == (3,) and outs["flag"].all()
    batched = synthetic_data(art, count=2, plan=InputPlan.parse([], ["k=2"], batch=5))
    with open_runtime(art, "onnxruntime") as rt:
        feed = next(batched.batches(rt.input_specs(), 1))
        assert feed["x"].shape == (5, 4) and feed["state"].shape == (2, 5, 4) and int(feed["k"]) == 2
        assert not bool(rt.run(feed)["flag"])


def test_runtime_specs_follow_the_recorded_plan(stateful: Path) -> None:
    from edgeport.runtimes.base import open_runtime

    art = load_artifact(stateful).with_inputs(InputPlan.parse(["x=6x4"]))
    with open_runtime(art, "onnxruntime") as rt:
        assert rt.input_specs()[0].shape == (6, 4)


# ---- the Dataset feeding rules -------------------------------------------------------------------
def test_batches_clamp_to_a_fixed_batch_and_check_sample_shapes() -> None:
    data = Dataset("d", {"x": np.zeros((5, 3), np.float32)})
    fixed = (TensorSpec("x", "float32", (2, 3)),)
    assert [f["x"].shape for f in data.batches(fixed, 8)] == [(2, 3), (2, 3), (1, 3)]
    dynamic = (TensorSpec("x", "float32", ("batch", 3)),)
    assert [f["x"].shape for f in data.batches(dynamic, 4)] == [(4, 3), (1, 3)]
    whole = Dataset("w", {"x": np.zeros((3, 2, 3), np.float32)})
    assert [f["x"].shape for f in whole.batches(fixed, 8)] == [(2, 3)] * 3  # samples shaped like the spec
    with pytest.raises(DatasetError, match=r"sample shape \(4,\) does not match model input 'x' \[2, 3\]"):
        Dataset("bad", {"x": np.zeros((3, 4), np.float32)}).bind(fixed)


# ---- through the CLI: exit 2, one line, nothing written --------------------------------------------
def test_cli_bad_shape_is_one_line_exit_2(stateful: Path) -> None:
    one_line_error(invoke("profile", stateful, "--shape", "x=1x5"), "'x'", "[n, 4]", "fixed at 4")
    one_line_error(invoke("fit", stateful, "--shape", "nope=1x4"), "no input 'nope'", "x [n, 4]")
    one_line_error(invoke("check", stateful, "--shape", "state=2x1"), "'state'", "[2, n, 4]", "rank 2")
    one_line_error(invoke("bench", stateful, "--shape", "x=-1x4"), "'x'", "[n, 4]", "not positive")


def test_cli_bad_npy_is_one_line_exit_2_and_writes_nothing(stateful: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.zeros((2, 1, 4), np.int32))
    out = tmp_path / "never.onnx"
    one_line_error(invoke("convert", stateful, "--to", "onnx", "-o", out, "--input", f"state={tmp_path / 's.npy'}"),
                   "dtype int32", "'state'", "[2, n, 4]")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]
    one_line_error(invoke("verify", stateful, stateful, "--input", f"state={tmp_path / 's.npy'}"), "dtype int32")


def test_cli_profile_takes_a_shape(stateful: Path) -> None:
    import json

    without = invoke("profile", stateful, "--json")
    assert without.exit_code == 0, without.output
    assert json.loads(without.stdout)["data"]["inputs"][0]["shape"] == ["n", 4]
    result = invoke("profile", stateful, "--shape", "x=8x4", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    assert [i["shape"] for i in data["inputs"]] == [[8, 4], [2, 8, 4], []]  # n is one size everywhere
    assert data["inputs"][0]["bytes"] == 8 * 4 * 4


def test_recipe_inputs_table_and_flags_over_it(tmp_path: Path) -> None:
    from edgeport.cli.optimize import study_options
    from edgeport.study.options import load_recipe

    recipe = tmp_path / "r.toml"
    recipe.write_text('[study]\nmodel = "m.onnx"\n[inputs]\nshape = {x = "1x3x640x640"}\nvalue = {sr = 16000}\n')
    assert load_recipe(recipe).inputs == InputPlan.parse(["x=1x3x640x640"], ["sr=16000"])
    merged = study_options(str(recipe), shapes=["x=1x3x320x320"], inputs=None)
    assert merged.inputs.shapes == {"x": (1, 3, 320, 320)} and merged.inputs.values["sr"].text == "16000"
    recipe.write_text('[study]\n[inputs]\nshapes = {x = "1x3"}\n')
    with pytest.raises(ConfigError, match=r"\[inputs\]: unknown field\(s\) \['shapes'\]"):
        load_recipe(recipe)
