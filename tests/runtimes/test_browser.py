"""The browser runtime in a real headless Chromium: ONNX Runtime Web verified against the source, WASM threads
only in a cross-origin isolated page, the browser's own error for a model it cannot run, a hung page ended
on its deadline, and a study whose browser-wasm target is measured there (one Chromium for the module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser]
pytest.importorskip("playwright.sync_api")

TINY = dict(warmup_runs=2, warmup_min_s=0.0, min_runs=10, min_duration_s=0.05, max_runs=200, max_duration_s=5.0)


@pytest.fixture(scope="module", autouse=True)
def chromium():
    """Chromium and the npm dist present (CI fails without them: make test installs both); the process's
    shared Chromium is ended when the module is done."""
    from edgeport.runtimes import browser

    missing = [what for what, ok in (("chromium (make browser)", browser.chromium_path() is not None),
                                     ("onnxruntime-web (make web)", browser.BrowserRuntime.available()))
               if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing: {', '.join(missing)}")
        pytest.skip(f"missing: {', '.join(missing)}")
    yield
    browser._close_shared()


def test_digits_through_the_browser_verifies_against_the_source(digits_onnx, digits_data) -> None:
    from edgeport.runtimes.browser import BrowserRuntime
    from edgeport.runtimes.onnxruntime import OnnxRuntime
    from edgeport.verify.compare import verify

    result = verify(digits_onnx, digits_onnx, digits_data, test_runtime="browser", max_samples=64)
    assert result.passed, result.failures()
    (out,) = result.outputs
    assert out.top1_agreement == 1.0 and out.max_abs < 1e-4
    (x,) = digits_data.split("test").inputs.values()
    feeds = {digits_onnx.inputs[0].name: np.asarray(x[:3], "float32")}
    with BrowserRuntime(digits_onnx) as web, OnnxRuntime(digits_onnx) as native:
        got, want = web.run(feeds), native.run(feeds)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], atol=1e-5)


def test_two_threads_run_only_cross_origin_isolated_and_time_in_the_page(digits_onnx, digits_data) -> None:
    from edgeport.bench.harness import BenchmarkConfig, benchmark
    from edgeport.runtimes.browser import BrowserOptions

    result = benchmark(digits_onnx, runtime="browser", options=BrowserOptions(threads=2), data=digits_data.split("test"),
                       config=BenchmarkConfig(**TINY))
    cond = result.device_conditions
    assert result.device == "browser" and result.runtime_info["cross_origin_isolated"] is True
    assert cond["cross_origin_isolated"] is True and cond["threads"] == 2
    assert cond["timer_resolution_ms"] <= 0.02  # isolated pages get the fine timer (5 us in Chromium)
    assert cond["engine"].startswith("onnxruntime-web ")
    assert 10 <= result.runs <= 200 and result.warmup_runs >= 2
    assert 0 < result.latency_ms.median < 100 and result.load_ms > 0 and result.first_run_ms > 0


def test_an_operator_onnx_runtime_web_lacks_is_one_line_quoting_the_browser(tmp_path: Path) -> None:
    """Cast to FLOAT4E2M1 (opset 23): ONNX Runtime Web registers no kernel for it."""
    import onnx
    from onnx import TensorProto, helper

    from edgeport import load_artifact
    from edgeport.errors import UnsupportedError
    from edgeport.runtimes.browser import BrowserRuntime

    nodes = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT4E2M1),
             helper.make_node("Cast", ["h"], ["y"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(nodes, "fp4", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "fp4.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=10), path)
    with pytest.raises(UnsupportedError) as err:
        BrowserRuntime(load_artifact(path)).open()
    text = str(err.value)
    assert "\n" not in text and text.startswith("ONNX Runtime Web in the browser cannot load fp4.onnx")
    assert "Could not find an implementation for Cast(23)" in text


def test_a_hung_page_ends_chromium_on_its_deadline_and_the_next_runtime_starts_a_new_one(digits_onnx) -> None:
    from edgeport.errors import DeviceError
    from edgeport.runtimes.browser import BrowserRuntime

    with BrowserRuntime(digits_onnx) as rt:
        chromium = rt._chromium
        with pytest.raises(DeviceError, match="did not answer within 1 s; Chromium was ended"):
            rt._call("() => { while (true) {} }", None, 1.0)
    assert chromium.proc.poll() is not None  # the process was ended and reaped
    with BrowserRuntime(digits_onnx) as again:
        assert again._chromium is not chromium and again.input_specs()


def test_a_study_measures_the_browser_target_in_the_browser_and_reports_it(tmp_path: Path, digits_onnx) -> None:
    from edgeport.store import Store
    from edgeport.study.options import BenchSettings, StudyOptions
    from edgeport.study.study import run_study

    options = StudyOptions(model=str(digits_onnx.path), data="digits", targets=("host", "browser-wasm"),
                           threads=(1,), formats=("onnx",), precisions=("fp32",), runtimes=("onnxruntime",),
                           bench=BenchSettings(warmup_runs=2, min_runs=10, min_seconds=0.05, max_runs=100,
                                               max_seconds=2.0),
                           max_verify_samples=64, out_dir=str(tmp_path / "out"), resume=False)
    result = run_study(options, store=Store(tmp_path / "s.db"))
    (cand,) = [c for c in result.candidates if c.status == "ok"]
    fit = cand.targets["browser-wasm"]
    m = fit.measured
    assert m is not None and m.error is None, fit.verdict
    assert m.device == "browser" and m.runtime == "browser" and m.verified and m.agreement == 1.0
    assert m.latency_ms.median and m.conditions["cross_origin_isolated"] is True
    assert fit.ok and fit.verdict.startswith("measured on browser (browser)")
    doc = json.loads(Path(result.report_json).read_text())
    assert doc["data"]["targets"]["browser-wasm"]["measured_by"] == "browser"
    html = Path(result.report_html).read_text()
    assert f"measured {m.latency_ms.median:.4g} ms median on browser vs {cand.latency_ms.median:.4g} ms native" in html


def test_calibration_in_the_browser_is_filed_under_the_browser_profile(tmp_path: Path) -> None:
    """``calibrate --device browser``: the page times the family networks with ONNX Runtime Web; the fit is
    the browser-wasm profile's, and ``check`` labels that target's estimate calibrated."""
    from edgeport.analysis.check import check
    from edgeport.bench.harness import BenchmarkConfig
    from edgeport.errors import ConfigError
    from edgeport.predict.calibrate import calibrate, resolve_device
    from edgeport.predict.calibration import load_calibrations
    from edgeport.predict.family import build_family
    from edgeport.store import Store

    names = ("conv-c8-s32-d2", "conv-c32-s16-d2", "mlp-w64-d2", "mlp-w256-d3", "eltwise-c16-s32-d4")
    nets = build_family(tmp_path / "nets", keep=lambda s: s.name in names)
    store = Store(tmp_path / "s.db")
    config = BenchmarkConfig(warmup_runs=2, warmup_min_s=0.0, min_runs=5, min_duration_s=0.01, max_duration_s=1.0,
                             distinct_inputs=1)
    result = calibrate("browser", None, nets, family=False, config=config, store=store)
    assert result.measured == len(names) and not result.failed
    (cal,) = result.calibrations
    assert cal.key == "browser-wasm/onnxruntime-web/fp32" and cal.conditions["measured_on"] == "browser"
    assert all(v > 0 for v in cal.measured_ms.values())
    est = check(nets[0], ["browser-wasm"], calibrations=load_calibrations(store)).targets[0].compat.estimate
    assert est.calibrated and est.label.startswith("calibrated on 5 models")
    with pytest.raises(ConfigError, match="runs only onnxruntime-web"):
        resolve_device("browser", "openvino")
