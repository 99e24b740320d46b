"""End to end through a real agent on loopback: bench, verify, fidelity and the study run and time there; bad
tokens, oversize and malformed bodies are refused before any work; a killed agent is one line; a restarted
agent keeps its files; two clients' timing windows never overlap."""

from __future__ import annotations

import http.client
import io
import json
import threading
from dataclasses import asdict

import numpy as np
import pytest

from edgeport.bench.harness import BenchmarkConfig, benchmark
from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.errors import DeviceError, FeedError, UnknownNameError, UnsupportedError
from edgeport.runtimes.base import RunPolicy, device_runtime
from edgeport.runtimes.remote import RemoteOptions, RemoteRuntime, encode


TOKEN = "test-token-0123456789abcdef"  # the agent fixture's token (conftest)
TINY = BenchmarkConfig(warmup_runs=2, warmup_min_s=0.0, min_runs=20, min_duration_s=0.0, max_runs=20)


def _raw(agent, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
         token: str | None = TOKEN) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=hdrs)
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, (json.loads(data) if data else {})
    finally:
        conn.close()


def test_bench_runs_and_times_on_the_device(agent, with_token, digits_onnx, digits_data):
    from edgeport.bench.matrix import bench_matrix

    (row,) = bench_matrix(digits_onnx, threads=[1], data=digits_data, config=TINY, device=agent.address).rows
    assert row.device == agent.address and row.runtime == "remote" and row.runs == 20
    assert row.device_conditions["usable_cores"] == 1  # the agent's own record: it is pinned to one core
    assert row.runtime_info["on_device"]["runtime"] == "onnxruntime" and row.latency_ms.median > 0
    assert row.warmup_runs == 2 and row.rss_method.startswith("agent process")
    bench = [j for j in agent.get("/v1/jobs")["jobs"] if j["job"] == "bench"]
    assert bench and bench[-1]["end"] - bench[-1]["start"] >= sum(row.samples_ms) / 1e3


def test_bench_cli_on_the_device(agent, token_file, digits_onnx, monkeypatch):
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    monkeypatch.delenv("EDGEPORT_AGENT_TOKEN", raising=False)
    monkeypatch.delenv("EDGEPORT_AGENT_TOKEN_FILE", raising=False)
    r = CliRunner().invoke(app, ["bench", str(digits_onnx.path), "--device", agent.address, "--token-file",
                                 str(token_file), "--runs", "10", "--warmup", "1", "--json"])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output)["data"]["rows"]
    assert row["device"] == agent.address and row["device_conditions"]["usable_cores"] == 1


def test_verify_on_the_device_gives_the_local_verdicts(agent, with_token, digits_pt2, digits_onnx, digits_data):
    from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions
    from edgeport.verify.compare import verify
    from edgeport.verify.tolerance import ToleranceOverrides

    strict = ToleranceOverrides(atol=1e-9, rtol=0.0)
    for overrides in (None, strict):  # one verdict that passes, one that fails
        kw = dict(max_samples=128, overrides=overrides)
        local = verify(digits_pt2, digits_onnx, digits_data, test_runtime="onnxruntime",
                       test_options=OnnxRuntimeOptions(threads=1), **kw)
        remote = verify(digits_pt2, digits_onnx, digits_data, test_runtime="remote",
                        test_options=RemoteOptions(threads=1, device=agent.address), **kw)
        assert remote.test_runtime == "remote" and remote.passed is local.passed
        assert remote.failures() == local.failures()
        assert [asdict(o) for o in remote.outputs] == [asdict(o) for o in local.outputs]  # bit for bit
        assert remote.test_accuracy == local.test_accuracy
    assert not remote.passed and local.failures()


def test_fidelity_on_the_device(agent, with_token, digits_pt2, digits_onnx, digits_data):
    from edgeport.verify.fidelity import fidelity

    matrix = fidelity(digits_pt2, [digits_onnx], digits_data, max_samples=64, device=agent.address)
    (row,) = matrix.rows
    assert row.runtime == "remote" and row.passed and not row.error


def test_describe_names_the_device_and_its_runtimes(agent):
    doc = agent.get("/v1/describe")
    assert doc["conditions"]["usable_cores"] == 1 and doc["conditions"]["cpu_model"]
    assert doc["memory"]["total_bytes"] > 0 and isinstance(doc["thermal_zones"], list)
    runtimes = {r["name"]: r for r in doc["runtimes"]}
    assert runtimes["onnxruntime"]["available"] and runtimes["onnxruntime"]["version"]
    assert not runtimes["openvino"]["available"] and "remote" not in runtimes


def test_a_runtime_the_device_lacks_is_named_with_its_extra(agent, with_token, digits_onnx):
    with pytest.raises(UnsupportedError, match=r"lacks .*openvino.* on the device: pip install \"edgeport\[agent,"
                                               r"openvino\]\""):
        RemoteRuntime(digits_onnx, RemoteOptions(device=agent.address, runtime="openvino")).open()
    with pytest.raises(UnknownNameError, match="nosuch"):
        RemoteRuntime(digits_onnx, RemoteOptions(device=agent.address, runtime="nosuch")).open()


def test_bad_feeds_are_checked_on_the_device_too(agent, with_token, digits_onnx):
    with RemoteRuntime(digits_onnx, RemoteOptions(device=agent.address)) as rt:
        with pytest.raises(FeedError, match=rf"on {agent.address}: input 'input': got rank 2"):
            rt.run_prepared({"input": np.zeros((1, 64), np.float32)})  # past this side's checks


def test_a_wrong_or_missing_token_is_refused_and_its_source_named(agent, digits_onnx, tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEPORT_AGENT_TOKEN", raising=False)
    monkeypatch.delenv("EDGEPORT_AGENT_TOKEN_FILE", raising=False)
    assert _raw(agent, "GET", "/v1/describe", token=None)[0] == 401
    assert _raw(agent, "GET", "/v1/describe", token=TOKEN + "x")[0] == 401
    assert _raw(agent, "GET", "/v1/health", token=None)[0] == 200  # reachability needs no token
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    with pytest.raises(DeviceError, match=rf"refused the token \(--token-file {wrong}\) with 401") as err:
        RemoteRuntime(digits_onnx, RemoteOptions(device=agent.address, token_file=str(wrong))).open()
    assert "\n" not in str(err.value)
    with pytest.raises(DeviceError, match=r"refused the token \(no token: neither \$EDGEPORT_AGENT_TOKEN"):
        RemoteRuntime(digits_onnx, RemoteOptions(device=agent.address)).open()


def test_oversize_is_refused_before_the_upload(agent, with_token, tmp_path):
    status, doc = _raw(agent, "PUT", "/v1/artifacts/" + "0" * 64,
                       headers={"Content-Length": str(2 << 20), "Content-Type": "application/octet-stream"})
    assert status == 413 and "over the agent's limit" in doc["message"]  # answered with no body sent
    big = tmp_path / "big.onnx"
    big.write_bytes(np.random.default_rng(0).bytes(2 << 20))
    uploads = len(agent.get("/v1/jobs")["uploads"])
    with pytest.raises(UnsupportedError, match=r"big.onnx is 2.0 MiB, over the agent's limit of 1.0 MiB"):
        RemoteRuntime(Artifact(big, Format.ONNX, (), ()), RemoteOptions(device=agent.address)).open()
    assert len(agent.get("/v1/jobs")["uploads"]) == uploads


def test_malformed_bodies_are_400(agent):
    json_hdr = {"Content-Type": "application/json"}
    status, doc = _raw(agent, "POST", "/v1/open", json.dumps({"files": [], "format": "onnx", "evil": 1}).encode(),
                       json_hdr)
    assert status == 400 and "unknown field(s) ['evil']" in doc["message"]
    assert _raw(agent, "POST", "/v1/open", b"{not json", json_hdr)[0] == 400
    npz = {"Content-Type": "application/x-npz"}
    assert _raw(agent, "POST", "/v1/run", b"PK not a zip", npz)[0] == 400
    pickled = io.BytesIO()
    np.savez(pickled, __meta__=np.array(json.dumps({"meta": {"session": "x"}, "names": [["x"]]})),
             a0=np.array([{"a": 1}], dtype=object))  # an object array: loading it would need pickle
    status, doc = _raw(agent, "POST", "/v1/run", pickled.getvalue(), npz)
    assert status == 400 and "pickle" in doc["message"].lower()
    body = encode({"session": "x", "policy": {"warmup_runs": "many"}}, [{"x": np.zeros(1)}])
    assert _raw(agent, "POST", "/v1/bench", body, npz)[0] == 400


def test_two_clients_are_timed_one_after_the_other(agent, with_token, digits_onnx):
    feeds = [{"input": np.zeros((1, 1, 8, 8), np.float32)}]
    policy = RunPolicy(warmup_runs=1, warmup_min_s=0.0, min_runs=10, min_duration_s=0.3, max_runs=100_000,
                       max_duration_s=5.0)
    results: list = []
    errors: list = []
    clients = [RemoteRuntime(digits_onnx, RemoteOptions(threads=1, device=agent.address)).open() for _ in range(2)]

    def bench(rt: RemoteRuntime) -> None:
        try:
            results.append(rt.time_on_device([rt.prepare(f) for f in feeds], policy))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=bench, args=(rt,)) for rt in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for rt in clients:
        rt.close()
    assert not errors and len(results) == 2
    windows = sorted((j["start"], j["end"]) for j in agent.get("/v1/jobs")["jobs"] if j["job"] == "bench")[-2:]
    assert windows[0][1] <= windows[1][0]  # the second timing loop began after the first ended


def test_a_killed_agent_is_one_line_and_a_restarted_one_keeps_its_files(tmp_path, digits_onnx, monkeypatch,
                                                                       start_agent):
    cache = tmp_path / "cache"
    first = start_agent(cache)
    printed = next(line for line in first.lines if "new agent token" in line)
    token = (cache / "token").read_text().strip()
    assert token in printed and (cache / "token").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("EDGEPORT_AGENT_TOKEN", token)
    rt = RemoteRuntime(digits_onnx, RemoteOptions(threads=1, device=first.address)).open()
    feeds = [rt.prepare({"input": np.zeros((1, 1, 8, 8), np.float32)})]
    policy = RunPolicy(warmup_runs=1, warmup_min_s=0.0, min_runs=10, min_duration_s=60.0, max_runs=10**7,
                       max_duration_s=60.0)
    failure: list[BaseException] = []
    bench = threading.Thread(target=lambda: _capture(failure, rt.time_on_device, feeds, policy))
    bench.start()
    for _ in range(400):  # bounded: until the agent reports the bench running
        if (first.get("/v1/jobs", token).get("running") or {}).get("job") == "bench":
            break
        bench.join(timeout=0.025)
    first.kill()
    bench.join(timeout=30)
    assert len(failure) == 1 and isinstance(failure[0], DeviceError)
    message = str(failure[0])
    assert "went away during the bench job" in message and "\n" not in message
    rt.close()  # the agent is gone: closing says nothing

    second = start_agent(cache)
    assert not any("new agent token" in line for line in second.lines)  # the kept token is used again
    with RemoteRuntime(digits_onnx, RemoteOptions(threads=1, device=second.address)) as again:
        out = again.run({"input": np.zeros((1, 1, 8, 8), np.float32)})
    assert next(iter(out.values())).shape == (1, 10)
    assert second.get("/v1/jobs", token)["uploads"] == []  # the file survived the restart: not sent again


def _capture(into: list[BaseException], fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # handed to the test thread
        into.append(exc)


def test_device_runtime_is_the_remote_runtime_for_agent_addresses():
    cls, options = device_runtime("agent://10.0.0.2:8787", runtime="litert", threads=2)
    assert cls is RemoteRuntime and options == RemoteOptions(threads=2, device="agent://10.0.0.2:8787",
                                                             runtime="litert")


def test_benchmark_through_the_harness_matches_the_policy(agent, with_token, digits_onnx, digits_data):
    cls, options = device_runtime(agent.address, threads=1)
    result = benchmark(digits_onnx, cls.name, options, digits_data, TINY)
    assert result.runs == 20 and result.load_ms > 0 and result.first_run_ms > 0
    assert result.device_conditions["threads"] == 1
