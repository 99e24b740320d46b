"""Input plans on real third-party models: silero VAD's state and scalar, PP-OCRv4 det's dynamic H×W.

Models are found under ``$EDGEPORT_ZOO_DIR/<wheel>/<member>`` (the zoo cache layout); the test skips
when they are not there, and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app

pytest.importorskip("onnxruntime")

SILERO = "silero_vad/silero_vad/data/silero_vad.onnx"
PPOCR_DET = "rapidocr_onnxruntime/rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"


def zoo(member: str) -> Path:
    root = os.environ.get("EDGEPORT_ZOO_DIR")
    path = Path(root) / member if root else None
    if path is None or not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real model {member} missing: set EDGEPORT_ZOO_DIR to the fetched zoo")
        pytest.skip(f"real model {member} not fetched (set EDGEPORT_ZOO_DIR)")
    return path


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_silero_synthetic_feeds_have_the_declared_ranks_and_run() -> None:
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import InputPlan
    from edgeport.data.synthetic import synthetic_data
    from edgeport.runtimes.base import open_runtime

    art = load_artifact(zoo(SILERO)).with_inputs(InputPlan.parse(["input=1x512"]))
    data = synthetic_data(art, count=2)
    feed = next(data.batches(art.inputs, 16))
    assert {k: (v.shape, v.dtype.name) for k, v in feed.items()} == {
        "input": ((1, 512), "float32"), "state": ((2, 1, 128), "float32"), "sr": ((), "int64")}
    assert int(feed["sr"]) == 16000  # read off the graph's Equal(sr, 16000)
    with open_runtime(art, "onnxruntime") as rt:
        out = rt.run(feed)
    assert out["output"].shape == (1, 1) and 0.0 <= out["output"].item() <= 1.0
    assert out["stateN"].shape == (2, 1, 128) and np.isfinite(out["stateN"]).all()


def test_bench_silero_with_no_flags_runs() -> None:
    result = invoke("bench", zoo(SILERO), "--runs", "3", "--warmup", "1", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["data"]["rows"][0]
    assert "fed as 256" in json.dumps(row) and "--shape input=1x256" in json.dumps(row)


def test_ppocr_det_profile_notes_the_unknown_dims_and_scales_with_the_shape() -> None:
    det = zoo(PPOCR_DET)
    plain = invoke("profile", det, "--top", "0")
    assert plain.exit_code == 0, plain.output
    assert "unknown input dims" in plain.output and "--shape x=1x3xHxW" in plain.output.replace("\n", "")
    macs = {}
    for side in (320, 640):
        result = invoke("profile", det, "--shape", f"x=1x3x{side}x{side}", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)["data"]
        assert not any("unknown input dims" in n for n in data["notes"])
        macs[side] = data["macs"]
    assert 3.8 < macs[640] / macs[320] < 4.2, macs
    assert macs[640] > 1e9  # a real detector at 640² is giga-MAC scale, not the ~1-pixel count


def test_ppocr_det_fit_at_a_shape_and_without() -> None:
    det = zoo(PPOCR_DET)
    plain = invoke("fit", det, "--device", "pixel-8", "--json")
    shaped = invoke("fit", det, "--device", "pixel-8", "--shape", "x=1x3x640x640", "--json")
    for result in (plain, shaped):
        assert result.exit_code in (0, 1), result.output
    plain_est = json.loads(plain.stdout)["data"]["estimate"]
    shaped_est = json.loads(shaped.stdout)["data"]["estimate"]
    assert any("--shape x=" in n for n in plain_est["notes"])
    assert not any("unknown input dims" in n for n in shaped_est["notes"])
    assert shaped_est["activation_bytes"] > 1000 * plain_est["activation_bytes"]
