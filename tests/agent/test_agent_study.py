"""A study with a target whose profile names an agent: that target is verified and timed on the agent, a
device fault is recorded and measured again on the next (resumed) run, and the report says where."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from edgeport.store import Store
from edgeport.study.options import BenchSettings, StudyOptions
from edgeport.study.study import run_study

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "edgeport" / "targets" / "rpi5.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _devices(targets: Path) -> dict:
    from typer.testing import CliRunner

    from edgeport.cli.main import app

    r = CliRunner().invoke(app, ["devices", "--targets-dir", str(targets), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["data"]["agents"]


def test_a_target_with_an_agent_is_measured_there(tmp_path, monkeypatch, digits_onnx, start_agent, token_file,
                                                  agent_token):
    port = _free_port()
    profile = SHIPPED.read_text().replace('id = "rpi5"', 'id = "pi-agent"').replace(
        'aliases = ["raspberry-pi-5"]\n', "")
    targets = tmp_path / "targets"
    targets.mkdir()
    (targets / "pi-agent.toml").write_text(f'agent = "http://127.0.0.1:{port}"\n' + profile)
    monkeypatch.setenv("EDGEPORT_TARGETS", str(targets))
    monkeypatch.setenv("EDGEPORT_AGENT_TOKEN", agent_token)
    options = StudyOptions(model=str(digits_onnx.path), data="digits", targets=("host", "pi-agent"), threads=(1,),
                           formats=("onnx",), precisions=("fp32",), runtimes=("onnxruntime",), max_verify_samples=64,
                           bench=BenchSettings(warmup_runs=1, min_runs=10, min_seconds=0.0, max_runs=10,
                                               max_seconds=5.0), out_dir=str(tmp_path / "out"))
    store = Store(tmp_path / "store.db")

    assert _devices(targets)["pi-agent"]["reachable"] is False
    down = run_study(options, store=store)  # nothing listens there yet: a device fault, not the model's
    fit = down.candidates[0].targets["pi-agent"]
    assert fit.measured.device_fault and "cannot reach the agent" in fit.measured.error and not fit.ok

    agent = start_agent(tmp_path / "cache", port=port, token_file=token_file)
    assert _devices(targets)["pi-agent"]["reachable"] is True
    up = run_study(options, store=store)  # resumed: only the faulted measurement is taken again
    assert up.resumed == len(up.candidates)
    (cand,) = [c for c in up.candidates if c.status == "ok"]
    m = cand.targets["pi-agent"].measured
    assert m.error is None and m.verified and m.device == agent.address and m.latency_ms.median > 0
    assert m.conditions["usable_cores"] == 1  # the agent's record, not this host's
    rec = next(r for r in up.recommendations if r.target == "pi-agent")
    assert rec.measured and rec.key == cand.key and agent.address in rec.reason
    assert f"measured on {agent.address}" in Path(up.report_html).read_text()
