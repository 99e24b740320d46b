"""An edgeport agent in a subprocess on loopback, pinned to one core (a stand-in for a slower device).

The child hides OpenVINO (``sys.modules["openvino"] = None``), so it is a device that lacks one runtime.
Every agent started here is killed and reaped by its fixture's finalizer.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TOKEN = "test-token-0123456789abcdef"
START_TIMEOUT_S = 60.0

_CHILD = """
import os, sys
os.sched_setaffinity(0, {{{core}}})
sys.modules["openvino"] = None  # this device has no OpenVINO
from pathlib import Path
from edgeport.agent.serve import serve
serve("127.0.0.1", {port}, token_file={token_file}, max_artifact_mb={limit},
      cache_dir=Path({cache!r}))
"""


class AgentProcess:
    """One agent child: its address, its stdout lines, and how to stop it."""

    def __init__(self, cache: Path, *, port: int = 0, token_file: Path | None = None, limit_mb: float = 1.0) -> None:
        core = max(os.sched_getaffinity(0))
        code = _CHILD.format(core=core, port=port, token_file=f"Path({str(token_file)!r})" if token_file else "None",
                             limit=limit_mb, cache=str(cache))
        env = {k: v for k, v in os.environ.items() if k not in ("EDGEPORT_AGENT_TOKEN", "EDGEPORT_AGENT_TOKEN_FILE")}
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        self.lines: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        self._pumping = threading.Thread(target=self._pump, args=(lines,), daemon=True)
        self._pumping.start()
        self.port = 0
        while not self.port:
            try:
                line = lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                self.kill()
                raise RuntimeError(f"the agent did not start: {self.lines}") from None
            if line is None:
                self.kill()
                raise RuntimeError(f"the agent exited: {''.join(self.lines)}")
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
        self.address = f"agent://127.0.0.1:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            lines.put(line)
        lines.put(None)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._pumping.join(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def get(self, path: str, token: str = TOKEN) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("token") / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory, token_file: Path) -> Iterator[AgentProcess]:
    process = AgentProcess(tmp_path_factory.mktemp("agent-cache"), token_file=token_file)
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture()
def start_agent() -> Iterator[Any]:
    """Start agents for one test (``start_agent(cache, port=…)``); every one is killed when the test ends."""
    started: list[AgentProcess] = []

    def start(cache: Path, **kwargs: Any) -> AgentProcess:
        started.append(AgentProcess(cache, **kwargs))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            process.kill()


@pytest.fixture(scope="session")
def agent_token() -> str:
    return TOKEN


@pytest.fixture()
def with_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPORT_AGENT_TOKEN", TOKEN)
    monkeypatch.delenv("EDGEPORT_AGENT_TOKEN_FILE", raising=False)
