"""Starting the agent: where its token comes from, where it keeps files, and the serving loop."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeport.agent.jobs import Agent
from edgeport.agent.server import AgentServer
from edgeport.errors import ConfigError
from edgeport.runtimes.remote import TOKEN_ENV

__all__ = ["CACHE_ENV", "default_cache_dir", "load_token", "make_server", "serve"]

CACHE_ENV = "EDGEPORT_AGENT_CACHE"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_cache_dir() -> Path:
    """``$EDGEPORT_AGENT_CACHE``, else ``$XDG_CACHE_HOME/edgeport/agent`` (``~/.cache/edgeport/agent``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgeport" / "agent"


def load_token(token_file: Path | None, cache_dir: Path) -> tuple[str, str, bool]:
    """(token, where it is kept, whether it was generated just now).

    ``--token-file`` first, then ``$EDGEPORT_AGENT_TOKEN``, then ``<cache>/token``; with none of them a new
    token is generated into ``<cache>/token``, readable by this user only (0600).
    """
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read token file {token_file} ({exc.strerror or exc})",
                              fix="point --token-file at a file holding the token") from None
        if not token:
            raise ConfigError(f"token file {token_file} is empty", fix="write a token into it (any long random text)")
        return token, str(token_file), False
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip(), f"${TOKEN_ENV}", False
    path = cache_dir / "token"
    if path.is_file():
        token = path.read_text().strip()
        if token:
            return token, str(path), False
    cache_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".token-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)
    return token, str(path), True


def make_server(host: str, port: int, *, token_file: Path | None = None, max_artifact_mb: float = 512.0,
                cache_dir: Path | None = None, verbose: bool = False) -> tuple[AgentServer, str, str, bool]:
    """(the bound server, its token, where the token is kept, whether it was generated now)."""
    if max_artifact_mb <= 0:
        raise ConfigError(f"--max-artifact-mb must be > 0, got {max_artifact_mb}", fix="e.g. --max-artifact-mb 512")
    cache = cache_dir or default_cache_dir()
    token, kept, generated = load_token(token_file, cache)
    agent = Agent(cache / "artifacts", int(max_artifact_mb * 2**20))
    try:
        server = AgentServer((host, port), agent, token, verbose=verbose)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                          fix="pick another --port, or stop what holds this one") from None
    return server, token, kept, generated


def serve(host: str = "127.0.0.1", port: int = 8787, *, token_file: Path | None = None,
          max_artifact_mb: float = 512.0, cache_dir: Path | None = None, verbose: bool = False,
          say: Callable[[str], Any] = print) -> None:
    """Serve until interrupted (SIGINT/SIGTERM), then close every loaded model."""
    server, token, kept, generated = make_server(host, port, token_file=token_file, max_artifact_mb=max_artifact_mb,
                                                 cache_dir=cache_dir, verbose=verbose)
    bound_host, bound_port = server.server_address[:2]
    if generated:
        say(f"new agent token (kept in {kept}, mode 0600): {token}")
        say(f"on the host: export EDGEPORT_AGENT_TOKEN={token}")
    else:
        say(f"agent token from {kept}")
    if host not in _LOOPBACK:
        say(f"warning: listening on {host}, reachable from the network; only the bearer token protects it")
    say(f"edgeport agent listening on http://{bound_host}:{bound_port} (cache {server.agent.cache.root})")
    sys.stdout.flush()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.agent.shutdown()
