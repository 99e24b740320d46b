"""The ``remote`` runtime: a model run and timed by an edgeport agent on another device (``agent://HOST:PORT``).

Behind the same ``Runtime`` interface as an in-process runtime, so verify, bench, fidelity and the study
need no special case: ``open()`` uploads the artifact's files (each once: the agent keeps them by sha256)
and has the agent load them with the runtime it names; ``run`` sends prepared feeds and gets the raw
outputs back; ``time_on_device`` has the agent run the harness's own warm-up and timing loop there, so
the link's round trip is never in a latency.

This module also owns the wire format both ends speak (``encode``/``decode``): a request or reply is JSON,
or an ``.npz`` whose ``__meta__`` entry is the JSON and whose arrays are ``a0, a1, …`` with their tensor
names listed in the JSON — loaded with ``allow_pickle=False``, so no pickle crosses the link. Its imports
are the standard library and NumPy, which is all a device with ``edgeport[agent]`` has.

Faults are one line each: an agent that cannot be reached or dies mid-job is a ``DeviceError`` (a study
measures that target again on its next run); a refused token names where the token came from; a
runtime the device lacks names the extra to install there.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgeport import errors
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec, spec_from_dict
from edgeport.errors import ConfigError, DeviceError, EdgeportError, UnsupportedError
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceTiming, RunPolicy, Runtime, RuntimeOptions

__all__ = ["NPZ", "PROTOCOL", "TOKEN_ENV", "TOKEN_FILE_ENV", "AgentLink", "RemoteOptions", "RemoteRuntime",
           "WireError", "decode", "encode", "parse_address", "reachable"]

PROTOCOL = 1
NPZ = "application/x-npz"
JSON = "application/json"
TOKEN_ENV = "EDGEPORT_AGENT_TOKEN"
TOKEN_FILE_ENV = "EDGEPORT_AGENT_TOKEN_FILE"
REQUEST_TIMEOUT_S = 120.0  # any one job but a benchmark (a large model's load on a slow board)
QUEUE_WAIT_S = 300.0  # how long the agent holds a job waiting for the device (the agent's own bound)
# formats whose artifact is one file plus side files the agent can hold (directories do not travel)
REMOTE_FORMATS = frozenset({Format.ONNX, Format.TFLITE, Format.EXECUTORCH, Format.OPENVINO})
# the errors an agent may report for a job, re-raised here as the same type (anything else: DeviceError)
_RELAYED = {cls.__name__: cls for cls in (errors.BackendError, errors.ModelFileError, errors.FeedError,
                                          errors.ConfigError, errors.UnsupportedError, errors.UnknownNameError)}


# ---- the wire format ----------------------------------------------------------------------------
class WireError(ValueError):
    """A body that is not the wire format (the agent answers it with 400)."""


def encode(meta: Mapping[str, Any], batches: Sequence[Mapping[str, np.ndarray]] = ()) -> bytes:
    """``meta`` (JSON-able) and named tensor batches as one ``.npz``."""
    arrays: dict[str, np.ndarray] = {}
    names: list[list[str]] = []
    for batch in batches:
        names.append(list(batch))
        for value in batch.values():
            arrays[f"a{len(arrays)}"] = np.asarray(value)
    arrays["__meta__"] = np.array(json.dumps({"meta": dict(meta), "names": names}))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def decode(body: bytes) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]]:
    """The inverse of ``encode``; ``WireError`` for anything else (no pickle is ever loaded)."""
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as npz:
            files = set(npz.files)
            if "__meta__" not in files:
                raise WireError("the .npz has no __meta__ entry")
            doc = json.loads(str(npz["__meta__"][()]))
            if not isinstance(doc, dict) or set(doc) != {"meta", "names"} or not isinstance(doc["meta"], dict):
                raise WireError("__meta__ is not {meta, names}")
            names = doc["names"]
            if not isinstance(names, list) or not all(isinstance(b, list) and all(isinstance(n, str) for n in b)
                                                      for b in names):
                raise WireError("names must be lists of tensor names")
            count = sum(len(b) for b in names)
            if files != {"__meta__", *(f"a{i}" for i in range(count))}:
                raise WireError(f"the .npz holds {sorted(files)}, not a0..a{count - 1} and __meta__")
            batches, i = [], 0
            for batch in names:
                batches.append({name: npz[f"a{i + j}"] for j, name in enumerate(batch)})
                i += len(batch)
            return doc["meta"], batches
    except WireError:
        raise
    except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as exc:  # zip/npy/JSON parse errors
        raise WireError(f"not an edgeport .npz body ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise WireError(f"not an edgeport .npz body ({type(exc).__name__})") from None


# ---- the link to an agent -----------------------------------------------------------------------
def parse_address(address: str) -> tuple[str, int]:
    """(host, port) of ``agent://HOST:PORT`` (``http://HOST:PORT`` is accepted too)."""
    rest = address.split("://", 1)[1] if "://" in address else ""
    host, _, port = rest.rstrip("/").rpartition(":")
    if not address.startswith(("agent://", "http://")) or not host or not port.isdigit() or "/" in rest.rstrip("/"):
        raise ConfigError(f"device address {address!r} is not agent://HOST:PORT", fix="e.g. --device agent://pi:8787")
    return host, int(port)


def _token(token_file: str | None) -> tuple[str, str]:
    """(the bearer token, where it came from) — ("", why there is none) when nothing gives one."""
    path, source = token_file, f"--token-file {token_file}"
    if not path:
        value = os.environ.get(TOKEN_ENV, "").strip()
        if value:
            return value, f"${TOKEN_ENV}"
        path = os.environ.get(TOKEN_FILE_ENV, "").strip()
        source = f"${TOKEN_FILE_ENV} ({path})"
    if not path:
        return "", f"no token: neither ${TOKEN_ENV} nor --token-file is set"
    try:
        return Path(path).read_text().strip(), source
    except OSError as exc:
        raise ConfigError(f"cannot read the agent token file {path} ({exc.strerror or exc})",
                          fix="point --token-file at the token the agent printed (or its token file)") from None


class AgentLink:
    """One keep-alive HTTP connection to an agent, with its token; every failure is one edgeport error."""

    def __init__(self, address: str, token_file: str | None = None, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.address = address if address.startswith("agent://") else "agent://" + address.split("://", 1)[-1]
        self.host, self.port = parse_address(address)
        self.token, self.token_source = _token(token_file)
        self.timeout_s = timeout_s
        self.max_body_bytes = 0  # the agent's body limit once its health was read (0: not known)
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | Any = None, ctype: str = JSON, *,
                job: str, timeout_s: float | None = -1.0, length: int | None = None) -> tuple[int, str, bytes]:
        """(status, content type, body) of one request; ``timeout_s=None``: wait as long as the job takes."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if body is not None:
            headers["Content-Type"] = ctype
            headers["Content-Length"] = str(length if length is not None else len(body))
        timeout = self.timeout_s if timeout_s == -1.0 else timeout_s
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
                self._conn.connect()
                if self._conn.sock is not None:  # an upload goes as headers then body: no Nagle wait on the ACK
                    self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
            self._conn.request(method, path, body=body, headers=headers)
            reply = self._conn.getresponse()
            data = reply.read()
            if reply.getheader("Connection", "").lower() == "close":
                self.close()
            return reply.status, reply.getheader("Content-Type", ""), data
        except ConnectionRefusedError:
            self.close()
            raise DeviceError(f"cannot reach the agent at {self.address} (connection refused)",
                              fix="start it there: edgeport agent serve --host 0.0.0.0") from None
        except (socket.timeout, TimeoutError):
            self.close()
            raise DeviceError(f"the agent at {self.address} did not answer the {job} job within {timeout:.0f} s",
                              fix="check the device is up and not stuck") from None
        except (http.client.HTTPException, OSError) as exc:
            self.close()
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise DeviceError(f"the agent at {self.address} went away during the {job} job ({why})",
                              fix="check the agent is running there; the measurement is retried on the next run") \
                from None

    def call(self, method: str, path: str, meta: Mapping[str, Any] | None = None,
             batches: Sequence[Mapping[str, np.ndarray]] | None = None, *, job: str,
             timeout_s: float | None = -1.0) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]]:
        """A job: JSON (or ``.npz`` when ``batches``) out, the reply's JSON and tensors back; errors raised."""
        if batches is not None:
            body: bytes | None = encode(meta or {}, batches)
            ctype = NPZ
            if self.max_body_bytes and len(body) > self.max_body_bytes:  # refused before it is read: say so here
                raise UnsupportedError(f"the {job} job's tensors are {len(body) / 2**20:.2f} MiB, over the agent's "
                                       f"limit of {self.max_body_bytes / 2**20:.2f} MiB at {self.address}",
                                       fix="start the agent with a larger --max-artifact-mb, or time fewer distinct "
                                           "inputs")
        else:
            body, ctype = (None if meta is None else json.dumps(meta).encode()), JSON
        status, rtype, data = self.request(method, path, body, ctype, job=job, timeout_s=timeout_s)
        if status >= 400:
            raise self.error(status, data, job)
        try:
            if rtype.startswith(NPZ):
                return decode(data)
            return (json.loads(data) if data else {}), []
        except (WireError, json.JSONDecodeError) as exc:
            raise DeviceError(f"the agent at {self.address} sent a malformed reply to the {job} job ({exc})",
                              fix="run the same edgeport version on both ends") from None

    def error(self, status: int, data: bytes, job: str) -> EdgeportError:
        """The one-line error for an agent's refusal (status ≥ 400)."""
        try:
            doc = json.loads(data) if data else {}
        except json.JSONDecodeError:
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        message, fix, kind = str(doc.get("message", "")), doc.get("fix"), str(doc.get("error", ""))
        where = f"the agent at {self.address}"
        if status == 401:
            return DeviceError(f"{where} refused the token ({self.token_source}) with 401",
                               fix=f"use the token the agent printed at its first start: set ${TOKEN_ENV} or pass "
                                   "--token-file")
        if status == 429:
            return DeviceError(f"{where} is busy with other timing jobs (429): {message}",
                               fix="run one study per device at a time, or try again later")
        if status == 413:
            return UnsupportedError(f"{where} refused the {job} body as too large (413): {message}",
                                    fix=fix or "start the agent with a larger --max-artifact-mb")
        if kind == "MissingDependencyError":
            return UnsupportedError(f"the device at {self.address} lacks {message}", fix=f"on the device: {fix}")
        if kind in _RELAYED and status in (404, 409, 422):
            return _RELAYED[kind](f"on {self.address}: {message}", fix=fix)
        return DeviceError(f"{where} refused the {job} job ({status}): {message or 'no reason given'}",
                           fix=fix or "run the same edgeport version on both ends")


def reachable(address: str, timeout_s: float = 1.0) -> tuple[bool, str]:
    """(whether an agent answers at ``address`` now, one line: its version and limits, or why not)."""
    try:
        link = AgentLink(address, token_file=None, timeout_s=timeout_s)
    except EdgeportError as exc:
        return False, exc.cause
    try:
        doc, _ = link.call("GET", "/v1/health", job="health")
    except EdgeportError as exc:
        return False, exc.cause
    finally:
        link.close()
    return True, f"edgeport agent {doc.get('edgeport', '?')} (protocol {doc.get('protocol', '?')})"


# ---- the runtime ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteOptions(RuntimeOptions):
    device: str = ""  # agent://HOST:PORT
    runtime: str | None = None  # the runtime on the device; None: the device's best for the format
    token_file: str | None = None  # None: $EDGEPORT_AGENT_TOKEN, then $EDGEPORT_AGENT_TOKEN_FILE


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: a study re-opens variants


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


@RUNTIMES.register
class RemoteRuntime(Runtime):
    name = "remote"
    formats = REMOTE_FORMATS
    extra = "agent"
    Options = RemoteOptions
    priority = 1000
    device_schemes = ("agent",)
    description = "an edgeport agent on another device (agent://HOST:PORT): loads, runs and times there"
    options: RemoteOptions
    _bench_slack_s: ClassVar[float] = 60.0  # conditions sampling and the reply, beyond the policy's own caps

    @classmethod
    def options_for_device(cls, address: str, *, runtime: str | None = None,
                           threads: int | None = None) -> RemoteOptions:
        parse_address(address)
        return RemoteOptions(threads=threads, device=address, runtime=runtime)

    def _load(self) -> None:
        if not self.options.device:
            raise ConfigError("the remote runtime needs a device address", fix="pass --device agent://HOST:PORT")
        self._link = AgentLink(self.options.device, self.options.token_file)
        try:
            files = self._upload()
            self._info, _ = self._link.call("POST", "/v1/open", {
                "files": files, "format": self.artifact.format.value, "runtime": self.options.runtime,
                "threads": self.options.threads}, job="open")
        except BaseException:
            self._link.close()
            raise
        self._session = str(self._info["session"])

    def _upload(self) -> list[dict[str, str]]:
        """Each file of the artifact sent once: the agent keeps files by sha256 across runs and restarts."""
        path = Path(self.artifact.path)
        if path.is_dir():
            raise UnsupportedError(f"{path.name} is a directory; an agent takes single-file models",
                                   fix="convert to ONNX, TFLite, ExecuTorch or OpenVINO IR first")
        health, _ = self._link.call("GET", "/v1/health", job="health")
        limit = int(health.get("max_artifact_bytes", 0))
        self._link.max_body_bytes = limit
        files = []
        for f in [path, *self.artifact.side_files()]:
            digest = _sha256(f)
            files.append({"name": f.name, "sha256": digest})
            status, _, _ = self._link.request("HEAD", f"/v1/artifacts/{digest}", job="upload")
            if status == 200:
                continue
            if status != 404:
                raise self._link.error(status, b"", "upload")
            size = f.stat().st_size
            if limit and size > limit:
                raise UnsupportedError(f"{f.name} is {size / 2**20:.1f} MiB, over the agent's limit of "
                                       f"{limit / 2**20:.1f} MiB at {self._link.address}",
                                       fix="start the agent with a larger --max-artifact-mb, or compress the model")
            with f.open("rb") as body:
                status, _, data = self._link.request("PUT", f"/v1/artifacts/{digest}", body, "application/octet-stream",
                                                     job="upload", length=size)
            if status >= 400:
                raise self._link.error(status, data, "upload")
        return files

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        by_name = {s.name: s for s in self.artifact.inputs}
        ins = []
        for doc in self._info["inputs"]:
            s = spec_from_dict(doc)
            known = by_name.get(s.name)
            if known is not None and s.layout is None and known.layout is not None:
                s = TensorSpec(s.name, s.dtype, s.shape, known.layout, s.quant or known.quant)
            ins.append(s)
        return tuple(ins), tuple(spec_from_dict(d) for d in self._info["outputs"])

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _, outputs = self._link.call("POST", "/v1/run", {"session": self._session}, [feeds], job="run")
        if len(outputs) != 1:
            raise DeviceError(f"the agent at {self._link.address} sent {len(outputs)} output sets for one run",
                              fix="run the same edgeport version on both ends")
        return outputs[0]

    def time_on_device(self, feeds: list[dict[str, np.ndarray]], policy: RunPolicy) -> DeviceTiming:
        cap = None if policy.max_duration_s is None else (
            max(policy.warmup_min_s * 4, 10.0) + policy.max_duration_s + QUEUE_WAIT_S + self._bench_slack_s)
        doc, _ = self._link.call("POST", "/v1/bench", {"session": self._session, "policy": asdict(policy)}, feeds,
                                 job="bench", timeout_s=cap)
        self._device_info = doc.get("runtime_info") or {}
        return DeviceTiming(samples_ms=[float(v) for v in doc["samples_ms"]], warmup_runs=int(doc["warmup_runs"]),
                            warmup_s=float(doc["warmup_s"]), load_ms=doc.get("load_ms"),
                            first_run_ms=doc.get("first_run_ms"), peak_rss_delta_mb=doc.get("peak_rss_delta_mb"),
                            rss_method=str(doc.get("rss_method", "unavailable")), conditions=doc.get("conditions"))

    def _release(self) -> None:
        try:
            self._link.call("POST", "/v1/close", {"session": self._session}, job="close", timeout_s=10.0)
        except EdgeportError:
            pass  # the agent is gone or restarted: its session went with it
        finally:
            self._link.close()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["device"] = self.options.device
        opened = getattr(self, "_info", None) or {}
        info["device_runtime"] = opened.get("runtime", self.options.runtime)
        info["on_device"] = getattr(self, "_device_info", None) or opened.get("runtime_info", {})
        return info
