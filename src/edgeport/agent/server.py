"""The agent's HTTP surface (stdlib ``ThreadingHTTPServer``): authentication, limits, routes.

Every route but ``/v1/health`` needs ``Authorization: Bearer <token>``, compared in constant time. A body
is read only after the token, the route, the content type and its ``Content-Length`` against the limit
have been checked (413 before a byte of an oversize upload is read; the connection is then closed, since
the unread body cannot be skipped). JSON bodies must carry exactly the fields a route knows (400
otherwise); tensors travel as ``.npz`` loaded without pickle (the ``remote`` runtime's wire format).

Routes (protocol 1):
  GET  /v1/health              no token: version, protocol, the upload limit
  GET  /v1/describe            the device: CPU, ISA flags, governor, frequencies, thermal zones, memory, runtimes
  GET  /v1/jobs                recent compute jobs with start/end times, the running one, and uploads
  HEAD /v1/artifacts/<sha256>  200 when the file is cached, else 404
  PUT  /v1/artifacts/<sha256>  the file's bytes (checked against the digest, written atomically)
  POST /v1/open                {files, format, runtime, threads} → session, specs, load time
  POST /v1/run                 .npz {session} + one feed batch → .npz outputs
  POST /v1/bench               .npz {session, policy} + feed batches → samples, warm-up, conditions
  POST /v1/close               {session}
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
import time
import traceback
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edgeport._version import __version__
from edgeport.agent.cache import BadUpload, valid_digest
from edgeport.agent.device import describe_device
from edgeport.agent.jobs import Agent, Busy, UnknownSession
from edgeport.errors import EdgeportError
from edgeport.runtimes.base import RunPolicy
from edgeport.runtimes.remote import JSON, NPZ, PROTOCOL, WireError, decode, encode

__all__ = ["AgentServer", "MAX_JSON_BYTES"]

MAX_JSON_BYTES = 1 << 20
_POLICY_FIELDS = frozenset(f.name for f in fields(RunPolicy))
# route -> (body kind, required fields, optional fields)
_POSTS: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    "/v1/open": ("json", frozenset({"files", "format"}), frozenset({"runtime", "threads"})),
    "/v1/run": ("npz", frozenset({"session"}), frozenset()),
    "/v1/bench": ("npz", frozenset({"session", "policy"}), frozenset()),
    "/v1/close": ("json", frozenset({"session"}), frozenset()),
}


class HttpError(Exception):
    def __init__(self, status: int, message: str, fix: str | None = None, kind: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.fix, self.kind = status, message, fix, kind


class AgentServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], agent: Agent, token: str, *, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.agent, self.token, self.verbose = agent, token, verbose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: AgentServer

    def setup(self) -> None:
        super().setup()
        # a reply is written as headers then body: without this, Nagle holds the body until the client's
        # delayed ACK (~40 ms on Linux) — every run() round trip would cost that
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"agent: {self.address_string()} {format % args}\n")

    # ---- plumbing --------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        self._pending = self.headers.get("Content-Length") not in (None, "0") or "Transfer-Encoding" in self.headers
        try:
            path = self.path.split("?", 1)[0]
            if not (method == "GET" and path == "/v1/health"):
                self._authorise()
            self._route(method, path)
        except HttpError as exc:
            self._send_json(exc.status, {"error": exc.kind or "HttpError", "message": exc.message, "fix": exc.fix})
        except Busy as exc:
            self._send_json(429, {"error": "Busy", "message": str(exc), "fix": "try again later"})
        except UnknownSession as exc:
            self._send_json(404, {"error": "UnknownSession", "message": exc.args[0], "fix": "open the model again"})
        except EdgeportError as exc:  # the model's or the request's fault, relayed to the client as the same type
            self._send_json(422, {"error": type(exc).__name__, "message": exc.cause, "fix": exc.fix})
        except Exception as exc:  # a bug in the agent: the client sees one line, the device's log the traceback
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {"error": "InternalError", "message": f"{type(exc).__name__}: {exc}",
                                  "fix": "this is a bug in the edgeport agent; see its log"})

    def _authorise(self) -> None:
        given = self.headers.get("Authorization", "")
        token = given[7:] if given.startswith("Bearer ") else ""
        if not token or not hmac.compare_digest(token.encode(), self.server.token.encode()):
            raise HttpError(401, "missing or wrong bearer token", "send the token the agent printed at its first start")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self._pending:  # a body we never read: the connection cannot carry another request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, doc: dict[str, Any]) -> None:
        self._send(status, json.dumps(doc).encode(), JSON)

    def _length(self, limit: int, what: str) -> int:
        """The body's declared length, refused before reading when it is absent or over ``limit``."""
        if "Transfer-Encoding" in self.headers:
            raise HttpError(411, "chunked bodies are not accepted", "send a Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.isdigit():
            raise HttpError(411, f"the {what} has no valid Content-Length", "send a Content-Length")
        length = int(raw)
        if length > limit:
            raise HttpError(413, f"the {what} is {length} bytes, over the agent's limit of {limit}",
                            "start the agent with a larger --max-artifact-mb")
        return length

    def _read(self, length: int) -> bytes:
        data = self.rfile.read(length)
        self._pending = False
        if len(data) != length:
            raise HttpError(400, f"the body ended after {len(data)} of {length} bytes")
        return data

    def _body(self, kind: str, required: frozenset[str], optional: frozenset[str]) -> tuple[dict[str, Any], list]:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        want = JSON if kind == "json" else NPZ
        if ctype != want:
            raise HttpError(400, f"this route takes {want}, not {ctype or 'no content type'}")
        limit = MAX_JSON_BYTES if kind == "json" else self.server.agent.max_artifact_bytes
        data = self._read(self._length(limit, "request body"))
        batches: list = []
        try:
            if kind == "json":
                meta = json.loads(data)
            else:
                meta, batches = decode(data)
        except (WireError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"malformed body: {exc}") from None
        if not isinstance(meta, dict):
            raise HttpError(400, "the body's JSON is not an object")
        unknown, missing = sorted(set(meta) - required - optional), sorted(required - set(meta))
        if unknown or missing:
            raise HttpError(400, "; ".join(([f"unknown field(s) {unknown}"] if unknown else []) +
                                           ([f"missing field(s) {missing}"] if missing else [])))
        return meta, batches

    # ---- routes ----------------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> None:
        agent = self.server.agent
        if method == "GET" and path == "/v1/health":
            self._send_json(200, {"agent": "edgeport", "edgeport": __version__, "protocol": PROTOCOL,
                                  "max_artifact_bytes": agent.max_artifact_bytes})
        elif method == "GET" and path == "/v1/describe":
            self._send_json(200, describe_device())
        elif method == "GET" and path == "/v1/jobs":
            self._send_json(200, {"jobs": list(agent.slot.log), "running": agent.slot.running,
                                  "uploads": list(agent.uploads), "now": time.time()})
        elif method in ("HEAD", "PUT") and path.startswith("/v1/artifacts/"):
            digest = path.rsplit("/", 1)[1]
            if not valid_digest(digest):
                raise HttpError(400, f"{digest!r} is not a sha256 hex digest")
            if method == "HEAD":
                self._send(200 if agent.cache.has(digest) else 404, b"", JSON)
            else:
                self._upload(digest)
        elif method == "POST" and path in _POSTS:
            meta, batches = self._body(*_POSTS[path])
            self._post(path, meta, batches)
        else:
            raise HttpError(404, f"no route {method} {path}", "see the routes in `edgeport agent serve --help`")

    def _upload(self, digest: str) -> None:
        agent = self.server.agent
        length = self._length(agent.max_artifact_bytes, "artifact")
        start = time.time()
        try:
            agent.cache.put(digest, self.rfile, length)
        except BadUpload as exc:
            self._pending = False  # put() consumed the body (or the connection is gone)
            raise HttpError(400, str(exc)) from None
        self._pending = False
        agent.uploads.append({"sha256": digest, "bytes": length, "start": start, "end": time.time()})
        self._send_json(201, {"sha256": digest, "bytes": length})

    def _post(self, path: str, meta: dict[str, Any], batches: list) -> None:
        agent = self.server.agent
        if path == "/v1/open":
            files = meta["files"]
            if not isinstance(files, list) or not all(isinstance(f, dict) and set(f) == {"name", "sha256"}
                                                      and all(isinstance(v, str) for v in f.values()) for f in files):
                raise HttpError(400, "files must be a list of {name, sha256}")
            threads, runtime = meta.get("threads"), meta.get("runtime")
            if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
                raise HttpError(400, f"threads must be a positive integer or null, got {threads!r}")
            if runtime is not None and not isinstance(runtime, str):
                raise HttpError(400, f"runtime must be a name or null, got {runtime!r}")
            if meta["format"] not in _FORMATS:
                raise HttpError(400, f"unknown format {meta['format']!r}")
            try:
                reply = agent.open([(f["name"], f["sha256"]) for f in files], meta["format"], runtime, threads)
            except BadUpload as exc:
                raise HttpError(400, str(exc)) from None
            except FileNotFoundError as exc:
                raise HttpError(409, str(exc), "upload the file first (PUT /v1/artifacts/<sha256>)") from None
            self._send_json(200, reply)
        elif path == "/v1/run":
            if len(batches) != 1:
                raise HttpError(400, f"a run takes one feed batch, got {len(batches)}")
            self._send(200, encode({}, [agent.run(meta["session"], batches[0])]), NPZ)
        elif path == "/v1/bench":
            policy = meta["policy"]
            if not isinstance(policy, dict) or set(policy) != _POLICY_FIELDS:
                raise HttpError(400, f"policy must have exactly the fields {sorted(_POLICY_FIELDS)}")
            bad = [k for k, v in policy.items() if not (isinstance(v, (int, float)) and not isinstance(v, bool))
                   and not (k == "max_duration_s" and v is None)]
            if bad:
                raise HttpError(400, f"policy field(s) {sorted(bad)} must be numbers")
            if not batches:
                raise HttpError(400, "a benchmark needs at least one feed batch")
            self._send_json(200, agent.bench(meta["session"], RunPolicy(**policy), batches))
        else:
            agent.close(meta["session"])
            self._send_json(200, {})


def _formats() -> frozenset[str]:
    from edgeport.core.formats import Format

    return frozenset(f.value for f in Format)


_FORMATS = _formats()
