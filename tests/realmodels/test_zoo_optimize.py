"""``edgeport optimize`` on a real third-party model, with ``--shape`` and unlabelled data.

The PP-OCR direction classifier has dynamic H×W, so the study needs the user's shape; its data is a
``.npz`` of crops without labels, so quality is agreement with the source model, and the report
has to say so rather than call it accuracy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from zoo import zoo_model


def test_optimize_builds_verifies_and_recommends_on_unlabelled_real_model(cli, tmp_path):
    path, model = zoo_model("ppocr-cls")
    src = tmp_path / path.name
    shutil.copy2(path, src)
    crops = np.random.default_rng(0).uniform(-1, 1, (24, 3, 48, 192)).astype(np.float32)  # PP-OCR normalises to ±1
    np.savez(tmp_path / "crops.npz", x=crops)
    data = cli.json("optimize", src, "--data", tmp_path / "crops.npz", "--target", "host", "--threads", "1",
                    "--formats", "onnx,openvino", "--precisions", "fp32,int8", "--quick", "-o", tmp_path / "out",
                    *model.cli_args())
    assert data["data_note"] == "the dataset has no labels: quality is top-1 agreement with the source"
    ok = [c for c in data["candidates"] if c["status"] == "ok"]
    assert {c["format"] for c in ok} == {"onnx", "openvino"}, [(c["key"], c["error"]) for c in data["candidates"]]
    for cand in ok:
        assert cand["verified"] and cand["accuracy"] is None and 0.5 <= cand["agreement"] <= 1.0, cand["key"]
        assert cand["latency_ms"]["median"] > 0
    (rec,) = [r for r in data["recommendations"] if r["target"] == "host"]
    assert rec["key"] in {c["key"] for c in ok} and rec["measured"], rec
    report = Path(data["report_html"]).read_text()
    assert "agreement with the source" in report
