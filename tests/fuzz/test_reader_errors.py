"""What the readers say about a broken file: the file, what is wrong, where, and the fix — in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutations import huge_dim_onnx, huge_dim_tflite, tiny_onnx, tiny_tflite

from edgeport.errors import ModelFileError

pytest.importorskip("ai_edge_litert")
pytest.importorskip("onnx")


def _huge(tmp_path: Path, where: str) -> bytes:
    return next(m.data for m in huge_dim_tflite(tiny_tflite(tmp_path / "m.tflite")) if m.name == f"huge-dim-{where}")


def test_a_truncated_tflite_names_the_byte_the_file_ends_at(tmp_path: Path) -> None:
    from edgeport.graph.tflite_reader import read_graph, read_io

    data = tiny_tflite(tmp_path / "m.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(data[:300])
    for read in (read_graph, read_io):
        with pytest.raises(ModelFileError) as err:
            read(cut)
        text = str(err.value)
        assert text.startswith(f"{cut}: the file is truncated or corrupt: reading ") and "\n" not in text
        assert "but the file ends at byte 300" in text and err.value.fix.startswith("re-export the model")


def test_a_weight_whose_shape_outgrows_its_buffer_is_corrupt(tmp_path: Path) -> None:
    from edgeport.graph.tflite_reader import read_graph

    path = tmp_path / "w.tflite"
    path.write_bytes(_huge(tmp_path, "weight"))
    with pytest.raises(ModelFileError, match=r"reading tensor 1 \('w'\), it declares shape 3×2147483647 float32 "
                                             r"\(25769803764 bytes\) but its buffer holds 48 bytes"):
        read_graph(path)


def test_a_huge_input_is_profiled_but_refused_before_anything_allocates_it(tmp_path: Path) -> None:
    from edgeport import load_artifact, profile

    path = tmp_path / "x.tflite"
    path.write_bytes(_huge(tmp_path, "input"))
    assert profile(path).inputs[0].shape == [1, 2**31 - 1]  # analysis only counts: no allocation
    with pytest.raises(ModelFileError, match=r"'x' declares shape 1×2147483647 float32 = 8\.0 GiB for one sample"):
        load_artifact(path)  # what bench/verify/convert start from


def test_onnx_dims_beyond_int32_and_non_text_names_are_refused(tmp_path: Path) -> None:
    from edgeport import load_artifact, profile

    valid = tiny_onnx(tmp_path / "m.onnx")
    for mutant in huge_dim_onnx(valid):
        path = tmp_path / f"{mutant.name}.onnx"
        path.write_bytes(mutant.data)
        with pytest.raises(ModelFileError, match=r"declares dimension 1099511627776 .*dimensions are 0\.\.2147483647"):
            profile(path)
    data = valid.read_bytes()
    at = data.index(b"Conv")
    bad = tmp_path / "bad-op.onnx"
    bad.write_bytes(data[:at] + b"\x95" + data[at + 1:])
    with pytest.raises(ModelFileError, match="node 0's op_type is not valid UTF-8 text"):
        load_artifact(bad)
