"""``edgeport agent serve``: run the edgeport agent on a device, so a host can run and time models there."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The device agent: serve on a device; measure there with --device agent://HOST:PORT.",
                        no_args_is_help=True)

    @group.command("serve")
    def serve_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless told "
                                                             "otherwise; 0.0.0.0 for the network)."),
        port: int = typer.Option(8787, "--port", help="TCP port (0: any free port, printed at start)."),
        token_file: Path = typer.Option(None, "--token-file", help="File holding the bearer token [default: "
                                                                   "$EDGEPORT_AGENT_TOKEN, else one generated into "
                                                                   "the cache dir at first start]."),
        max_artifact_mb: float = typer.Option(512.0, "--max-artifact-mb", help="Largest upload or request body "
                                                                               "accepted (MiB)."),
        cache: Path = typer.Option(None, "--cache", help="Where uploaded models and the token are kept [default: "
                                                         "$EDGEPORT_AGENT_CACHE or ~/.cache/edgeport/agent]."),
    ) -> None:
        """Serve describe/run/bench jobs over HTTP with a bearer token; models are cached by sha256."""
        from edgeport.agent.serve import serve

        serve(host, port, token_file=token_file, max_artifact_mb=max_artifact_mb, cache_dir=cache,
              verbose=False)

    app.add_typer(group, name="agent")
