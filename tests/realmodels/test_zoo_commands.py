"""profile, check, fit and bench on every zoo model, with the shapes a user would pass.

Fast commands only (seconds per model); conversions are in ``test_zoo_convert.py``.
"""

from __future__ import annotations

import pytest
from zoo import load_manifest, zoo_model

MODELS = load_manifest()
RUNNABLE = sorted(i for i in MODELS if i != "face-landmark-attention")  # that one needs a custom op kernel


def _dims(shape_flag: str) -> tuple[str, list[int]]:
    name, dims = shape_flag.split("=")
    return name, [int(d) for d in dims.split("x")]


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_profile_counts_the_model_at_the_given_shapes(cli, model_id):
    path, model = zoo_model(model_id)
    data = cli.json("profile", path, *model.cli_args())
    # silero's VAD is the smallest (0.43 M MACs once its If on the sample rate is folded; LSTM not counted)
    assert data["macs"] > 300_000 and data["params"] > 10_000, data["macs"]
    assert data["symbolic_dims"] == [] and data["assumed_dims"] == {}  # nothing guessed: the shapes were given
    shapes = {i["name"]: i["shape"] for i in data["inputs"]}
    for flag in model.shapes:
        name, dims = _dims(flag)
        assert shapes[name] == dims, (name, shapes)
    assert all(all(isinstance(d, int) and d > 0 for d in s) for s in shapes.values()), shapes


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_check_and_fit_answer_for_each_target(cli, model_id):
    path, model = zoo_model(model_id)
    check = cli.json("check", path, "--target", "pixel-8,stm32h743", *model.cli_args())
    assert [t["target"] for t in check["targets"]] == ["pixel-8", "stm32h743"]
    for target in check["targets"]:
        assert target["compat"]["total_nodes"] > 10
        assert target["fit"]["arena_bytes"] > 0
    fit = cli.json("fit", path, "--device", "stm32h743", *model.cli_args(), codes=(0, 1))  # 1: does not fit
    assert isinstance(fit["fits"], bool) and fit["arena_bytes"] > 0 and fit["verdict"]
    if not fit["fits"]:  # every zoo model is larger than an MCU's SRAM or flash: the answer says what to change
        assert fit["suggestions"], fit["verdict"]


@pytest.mark.parametrize("model_id", RUNNABLE)
def test_bench_one_thread(cli, model_id):
    path, model = zoo_model(model_id)
    data = cli.json("bench", path, "--threads", "1", "--runs", "5", "--warmup", "1", *model.cli_args())
    (row,) = data["rows"]
    assert row["runtime"] == {".onnx": "onnxruntime", ".tflite": "litert"}[model.suffix]
    assert row["threads"] == 1 and row["runs"] == 5
    assert 0 < row["latency_ms"]["median"] < 10_000


def test_bench_names_the_custom_op_a_runtime_lacks(cli):
    path, _ = zoo_model("face-landmark-attention")
    line = cli.error("bench", path, "--threads", "1", "--runs", "5", "--warmup", "1", code=2)
    assert "custom op" in line and "register its kernel" in line and "Landmarks2TransformMatrix" in line, line
