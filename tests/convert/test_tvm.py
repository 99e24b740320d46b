"""ONNX → TVM on the real digits model: compile, run through the Relax VM, verify on the test split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport._optional import is_available
from edgeport.convert.api import convert
from edgeport.core.formats import Format
from edgeport.errors import ConfigError, FeedError, ModelFileError, UnsupportedError

pytestmark = pytest.mark.skipif(not is_available("tvm"), reason="needs edgeport[tvm]")


@pytest.fixture(scope="module")
def digits_tvm(tmp_path_factory: pytest.TempPathFactory, digits_onnx, digits_data):
    out = tmp_path_factory.mktemp("tvm") / "digits.tvm"
    return convert(digits_onnx, "tvm", out=out, data=digits_data, options={"use_cached_tuning": False})


def test_untuned_module_matches_onnx_on_test_split(digits_tvm, digits_data) -> None:
    result = digits_tvm
    assert result.passed, result.verification.failures()
    assert result.verified_on == "dataset:digits"
    v = result.verification
    assert v.samples == len(digits_data.split("test").labels) == 360
    (out,) = v.outputs
    assert out.top1_agreement == 1.0
    assert out.max_abs <= 1e-4
    assert v.test_accuracy == pytest.approx(v.reference_accuracy)
    assert v.test_accuracy > 0.95
    assert v.test_runtime == "tvm"


def test_artifact_is_a_directory_with_module_and_manifest(digits_tvm) -> None:
    path = digits_tvm.artifact.path
    assert path.is_dir() and (path / "module.so").is_file() and (path / "manifest.json").is_file()
    loaded = load_artifact(path)
    assert loaded.format is Format.TVM
    (inp,) = loaded.inputs
    assert inp.name == "input" and inp.shape == (1, 1, 8, 8)  # batch fixed to 1 and recorded
    assert loaded.outputs[0].shape == (1, 10)
    assert loaded.metadata["target"]["kind"] == "llvm" and loaded.metadata["target"]["mcpu"]
    assert loaded.metadata["tuning"]["tuned"] is False
    assert any("untuned" in w for w in loaded.metadata["warnings"])
    assert not list(path.parent.glob("edgeport-convert-*"))  # no half-written leftovers


def test_runtime_runs_one_sample_and_describes_itself(digits_tvm, digits_data) -> None:
    from edgeport.runtimes.base import open_runtime
    from edgeport.runtimes.tvm import TvmOptions

    art = load_artifact(digits_tvm.artifact.path)
    x = digits_data.split("test").inputs["x"][:1]
    with open_runtime(art, None, TvmOptions(threads=1)) as rt:
        assert rt.name == "tvm"
        (logits,) = rt.run({"input": x}).values()
        info = rt.describe()
        with pytest.raises(FeedError):
            rt.run({"input": np.concatenate([x, x])})  # static batch 1
    with open_runtime(digits_tvm.artifact.parent, "onnxruntime") as ort:
        (ref,) = ort.run({"input": x}).values()
    np.testing.assert_allclose(logits, ref, atol=1e-4, rtol=1e-3)
    assert info["threads_actual"] == 1
    assert info["tuned"] is False and "untuned" in info["warning"]


def test_broken_module_directory_is_reported(tmp_path: Path, digits_tvm) -> None:
    bad = tmp_path / "bad.tvm"
    shutil.copytree(digits_tvm.artifact.path, bad)
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="manifest"):
        load_artifact(bad)
    (bad / "manifest.json").write_text(json.dumps({"version": 1}))
    with pytest.raises(ModelFileError, match="inputs"):
        load_artifact(bad)


def test_bad_batch_option_is_a_config_error(tmp_path: Path, digits_onnx) -> None:
    from edgeport.convert.onnx_to_tvm import OnnxToTvm, OnnxToTvmOptions

    with pytest.raises(ConfigError, match="batch"):
        OnnxToTvm().convert(digits_onnx, tmp_path / "x.tvm", OnnxToTvmOptions(batch=0))


def test_unsupported_op_names_the_op_and_the_stack(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from edgeport.convert.onnx_to_tvm import OnnxToTvm, OnnxToTvmOptions

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Det", ["x"], ["y"])], "det", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10),
              tmp_path / "det.onnx")
    with pytest.raises(UnsupportedError, match=r"TVM's ONNX importer .*: Det"):
        OnnxToTvm().convert(load_artifact(tmp_path / "det.onnx"), tmp_path / "det.tvm", OnnxToTvmOptions())
    assert not (tmp_path / "det.tvm").exists()


@pytest.mark.slow
def test_tiny_tuning_budget_writes_and_reuses_the_record_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               digits_onnx, digits_data) -> None:
    monkeypatch.setenv("EDGEPORT_CACHE", str(tmp_path / "cache"))
    first = convert(digits_onnx, "tvm", out=tmp_path / "tuned.tvm", data=digits_data,
                    options={"tune_seconds": 3.0, "trials_per_round": 2, "max_trials_per_task": 4})
    assert first.passed, first.verification.failures()
    assert first.verification.outputs[0].top1_agreement == 1.0
    tuning = first.artifact.metadata["tuning"]
    cache = Path(tuning["cache_dir"])
    assert cache.parent == tmp_path / "cache" / "tvm-tuning"
    assert (cache / "database_tuning_record.json").is_file()
    assert tuning["trials"] > 0 and tuning["records_after"] > 0 and tuning["tuned"] is True
    assert tuning["records_before"] == 0
    if tuning["budget_exhausted"]:  # the budget is tiny: the best-so-far module comes with a note
        assert any("ran out" in n for n in first.artifact.metadata["warnings"])

    second = convert(digits_onnx, "tvm", out=tmp_path / "reused.tvm", data=digits_data,
                     options={"tune_seconds": 0.0}, verify_result=False)
    again = second.artifact.metadata["tuning"]
    assert again["cache_dir"] == tuning["cache_dir"]
    assert again["records_before"] == tuning["records_after"]  # reused, nothing new measured
    assert again["trials"] == 0 and again["tuned"] is True
    assert any("reused" in n for n in second.artifact.metadata["warnings"])
