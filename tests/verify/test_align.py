"""Alignment and task-aware tolerances on plain arrays (no backend needed)."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.core.tensors import QuantParams, TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import DatasetError, InputError
from edgeport.verify.align import align_inputs, match_outputs, quant_lines
from edgeport.verify.tolerance import Tolerance, ToleranceOverrides, infer_output_kind


def _data(shape: tuple[int, ...]) -> Dataset:
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    return Dataset(name="t", inputs={"x": x}, labels=np.zeros(shape[0], dtype=np.int64))


def test_layout_driven_transpose_is_reported():
    data = _data((4, 3, 5, 7))
    spec = TensorSpec("in", "float32", ("batch", 5, 7, 3), layout="NHWC")
    aligned = align_inputs(data, [spec], "test", data_layout="NCHW")
    got = aligned.dataset.inputs["x"]
    assert got.shape == (4, 5, 7, 3)
    np.testing.assert_array_equal(got, data.inputs["x"].transpose(0, 2, 3, 1))
    assert aligned.perms == {"in": (0, 2, 3, 1)}
    assert aligned.lines == ["test input 'in': dataset NCHW → NHWC (input layout NHWC), (3, 5, 7) → (5, 7, 3)"]


def test_unknown_layout_inferred_from_shapes_and_said_so():
    data = _data((2, 3, 5, 7))
    aligned = align_inputs(data, [TensorSpec("in", "float32", (None, 5, 7, 3))], "test")
    assert aligned.dataset.inputs["x"].shape == (2, 5, 7, 3)
    assert "inferred from shapes" in aligned.lines[0]


def test_square_images_take_the_standard_permutation():
    data = _data((2, 1, 8, 8))
    aligned = align_inputs(data, [TensorSpec("in", "float32", (None, 8, 8, 1))], "test")
    np.testing.assert_array_equal(aligned.dataset.inputs["x"], data.inputs["x"].transpose(0, 2, 3, 1))
    assert "standard one was taken" in aligned.lines[0]


def test_no_alignment_when_shapes_fit():
    data = _data((2, 3, 5, 7))
    aligned = align_inputs(data, [TensorSpec("in", "float32", (None, 3, 5, 7), layout="NCHW")], "reference")
    assert aligned.dataset is data and not aligned.lines


def test_incompatible_input_is_a_clear_error():
    with pytest.raises(DatasetError, match=r"wants \[\?, 4, 4\] but the dataset sample shape is \(3, 5, 7\)"):
        align_inputs(_data((2, 3, 5, 7)), [TensorSpec("in", "float32", (None, 4, 4))], "test")


def test_quantised_io_is_reported_with_scale_and_zero_point():
    q = QuantParams((0.0039,), (-128,))
    lines = quant_lines("test", [TensorSpec("in", "int8", (1, 8, 8, 1), quant=q)],
                        [TensorSpec("out", "uint8", (1, 10), quant=QuantParams((0.1,), (3,))),
                         TensorSpec("idx", "int64", (1,))])
    assert lines == ["test input 'in' is int8: float data quantised with scale=0.0039, zero_point=-128",
                     "test output 'out' is uint8: dequantised to float with scale=0.1, zero_point=3"]


def test_outputs_matched_by_name_then_shape_and_layout():
    ref = {"logits": np.zeros((2, 10)), "feat": np.zeros((2, 16, 4, 6))}
    test = {"logits": np.zeros((2, 10)), "Identity_1": np.zeros((2, 4, 6, 16))}
    specs = [TensorSpec("Identity_1", "float32", (2, 4, 6, 16), layout="NHWC")]
    ref_specs = [TensorSpec("feat", "float32", (2, 16, 4, 6), layout="NCHW")]
    pairs, lines = match_outputs(ref, test, ref_specs, specs)
    assert [(p.reference, p.test, p.perm, p.how) for p in pairs] == [
        ("logits", "logits", None, "name"), ("feat", "Identity_1", (0, 3, 1, 2), "shape")]
    assert lines == ["ref 'feat' ↔ test 'Identity_1': paired by shape, the only output of shape (2, 16, 4, 6) "
                     "on both sides",
                     "test output 'Identity_1': transposed NHWC → NCHW, (2, 4, 6, 16) → (2, 16, 4, 6)"]
    np.testing.assert_array_equal(test["Identity_1"].transpose(pairs[1].perm), ref["feat"])


def test_incompatible_outputs_list_both_sides():
    with pytest.raises(InputError, match=r"reference \{'a': \(2, 10\)\}, test \{'b': \(2, 7\)\}"):
        match_outputs({"a": np.zeros((2, 10))}, {"b": np.zeros((2, 7))})


def test_task_aware_default_tolerances():
    assert infer_output_kind((32, 10), "classification") == "logits"
    assert infer_output_kind((32, 128), "embedding") == "embedding"
    assert infer_output_kind((32, 1), "regression") == "dense"
    assert infer_output_kind((32, 3, 64, 64), "classification") == "dense"
    logits = Tolerance.for_output_kind("logits")
    assert logits.min_top1_agreement == 1.0
    emb = Tolerance.for_output_kind("embedding", "int8")
    assert emb.min_cosine == 0.98 and emb.atol is None and emb.min_top1_agreement is None
    dense = Tolerance.for_output_kind("dense")
    assert dense.rtol == 1e-3 and dense.min_cosine is None
    assert Tolerance.for_output_kind("logits", "int8").max_accuracy_drop == 0.02
    over = ToleranceOverrides(atol=0.5, min_top1_agreement=0.9).apply(logits)
    assert (over.atol, over.rtol, over.min_top1_agreement) == (0.5, logits.rtol, 0.9)
    assert logits.layer_snr_floor("fp32") > logits.layer_snr_floor("int8")


def test_dataset_layout_seen_from_a_transposed_side():
    from edgeport.verify.compare import SideRun

    nhwc = (TensorSpec("in", "float32", (None, 8, 8, 3), layout="NHWC"),)
    assert SideRun({}, "rt", nhwc, (), [], transposed=True).data_layout() == "NCHW"
    assert SideRun({}, "rt", nhwc, (), []).data_layout() == "NHWC"
