"""The browser as a measured target: ONNX models in ONNX Runtime Web, TFLite models in LiteRT.js, inside
headless Chromium.

A ``Runtime`` like any other (``open/run/close``, the same feeds and outputs), so verify, bench and the
study need no special case; it runs somewhere else, so it is a device runtime (``device_schemes``) and
times on the device: ``time_on_device`` loops in the page with ``performance.now()`` under the harness's
``RunPolicy``, never around the Python↔page round trip.

How it starts, all local: Debian's Chromium (``make browser``) started here with a fresh profile and a
loopback DevTools port, driven by Playwright over CDP (no browser download); ``onnxruntime-web`` and ``@litertjs/core``
from ``web/node_modules`` (``make web``: ``npm ci`` from the committed lock; ``EDGEPORT_WEB_MODULES`` points
elsewhere); a stdlib HTTP server on 127.0.0.1 serving the page (``browser_page/``), the ORT dist and the
tensors with COOP/COEP so ``crossOriginIsolated`` holds and WebAssembly threads work. Tensors travel as
raw bytes (the page fetches ``/blob/<id>`` and posts outputs to ``/out/<id>``): no base64, no JSON
arrays. One Chromium per process, shared by every instance and closed at exit; a fresh page per
instance (per study variant). Every page call has a deadline: past it the Chromium process is killed
(``DeviceError``) and the next instance starts a new one, so a hanging page never stalls a study.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np

from edgeport._optional import is_available, require
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import (BackendError, ConfigError, DeviceError, MissingDependencyError, UnsupportedError,
                             one_line)
from edgeport.runtimes import RUNTIMES
from edgeport.runtimes.base import DeviceSupport, DeviceTiming, RunPolicy, Runtime, RuntimeOptions

__all__ = ["BACKENDS", "BrowserOptions", "BrowserRuntime", "chromium_path", "web_modules"]

BACKENDS = ("wasm", "webgpu")
PAGE_DIR = Path(__file__).with_name("browser_page")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
START_TIMEOUT_S = 30.0
# numpy dtype name <-> ONNX Runtime Web tensor type (the same names, except bool's storage)
_DTYPES = ("float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
           "uint64", "bool")
# format -> (the page's engine, its name, its npm package)
_ENGINES = {Format.ONNX: ("ort", "ONNX Runtime Web", "onnxruntime-web"),
            Format.TFLITE: ("litert", "LiteRT.js", "@litertjs/core")}
_UNSUPPORTED_MARKS = ("could not find an implementation", "not implemented", "unsupported", "is not supported",
                      "no kernel")


@dataclass(frozen=True)
class BrowserOptions(RuntimeOptions):
    threads: int | None = 1  # ort.env.wasm.numThreads; > 1 needs the page cross-origin isolated
    backend: str = "wasm"  # wasm | webgpu (WebGPU needs an adapter; headless Chromium without a GPU has none)
    device: str = "browser"  # the device address results are labelled with
    timeout_s: float = 120.0  # the longest one page call (load, run) may take before Chromium is ended


def web_modules() -> Path:
    """The ``node_modules`` holding ``onnxruntime-web``: ``$EDGEPORT_WEB_MODULES``, else the checkout's ``web/``."""
    env = os.environ.get("EDGEPORT_WEB_MODULES")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / "web" / "package.json").is_file():
            return parent / "web" / "node_modules"
    return Path("web") / "node_modules"


def _ort_dist() -> Path:
    return web_modules() / "onnxruntime-web" / "dist"


def chromium_path() -> str | None:
    """Chromium to drive: ``$EDGEPORT_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    return os.environ.get("EDGEPORT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _package_version(package: str) -> str | None:
    try:
        return str(json.loads((web_modules() / package / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


# ---- the loopback server -----------------------------------------------------------------------
class _Server:
    """Serves the page, the ORT dist and registered tensors on 127.0.0.1 with cross-origin isolation."""

    def __init__(self, modules: Path) -> None:
        self.blobs: dict[str, bytes | Path] = {}
        self.posted: dict[str, bytes] = {}
        self.lock = threading.Lock()
        roots = {"page": PAGE_DIR, "ort": modules / "onnxruntime-web" / "dist", "node": modules}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: the page's requests are ours
                return None

            def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                self.send_header("Cross-Origin-Resource-Policy", "same-origin")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/":
                    path = "/page/index.html"
                top, _, rest = path.lstrip("/").partition("/")
                if top == "blob":
                    with server.lock:
                        blob = server.blobs.get(rest)
                    if blob is None:
                        return self._send(404, b"no such blob")
                    return self._send(200, blob.read_bytes() if isinstance(blob, Path) else blob)
                root = roots.get(top)
                file = (root / rest).resolve() if root else None
                if root is None or file is None or not file.is_file() or not file.is_relative_to(root.resolve()):
                    return self._send(404, b"not found")
                return self._send(200, file.read_bytes(), _content_type(file))

            def do_POST(self) -> None:
                top, _, rest = self.path.lstrip("/").partition("/")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if top != "out" or not rest:
                    return self._send(404, b"not found")
                with server.lock:
                    server.posted[rest] = body
                return self._send(200, b"ok", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="edgeport-browser-http", daemon=True)
        self.thread.start()

    def register(self, data: bytes | Path) -> tuple[str, str]:
        """(blob id, URL) of bytes or a file the page may fetch once registered."""
        key = uuid4().hex
        with self.lock:
            self.blobs[key] = data
        return key, f"{self.origin}/blob/{key}"

    def forget(self, key: str) -> None:
        with self.lock:
            self.blobs.pop(key, None)

    def take(self, key: str) -> bytes:
        with self.lock:
            return self.posted.pop(key)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _content_type(file: Path) -> str:
    return {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
            ".wasm": "application/wasm", ".json": "application/json"}.get(file.suffix, "application/octet-stream")


# ---- the shared Chromium -----------------------------------------------------------------------
class _Chromium:
    """One Chromium process (started here, so its process can be ended on a deadline), Playwright over CDP,
    and the loopback server: shared by every browser runtime instance of this process."""

    def __init__(self, chromium: str, modules: Path) -> None:
        from playwright.sync_api import sync_playwright

        self.owner = threading.get_ident()
        self.profile = Path(tempfile.mkdtemp(prefix="edgeport-chromium-"))
        self.proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.killed = False
        self.server: _Server | None = None
        self.pw: Any = None
        try:
            port = self._devtools_port()
            self.server = _Server(modules)
            self.pw = sync_playwright().start()
            self.browser = self.pw.chromium.connect_over_cdp(f"http://127.0.0.1:{port}",
                                                             timeout=START_TIMEOUT_S * 1e3)
            self.context = self.browser.contexts[0] if self.browser.contexts else self.browser.new_context()
            self.version = self.browser.version
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        """The DevTools port Chromium picked, read from the profile's ``DevToolsActivePort`` (bounded wait)."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeviceError(f"Chromium exited at start (status {self.proc.returncode})",
                                  fix="run it by hand with --headless to see why; 'make browser' installs it")
            text = marker.read_text() if marker.is_file() else ""
            if text.split("\n", 1)[0].strip().isdigit() and "\n" in text:
                return int(text.split("\n", 1)[0])
            time.sleep(0.02)
        raise DeviceError(f"Chromium did not open its DevTools port within {START_TIMEOUT_S:.0f} s",
                          fix="check that headless Chromium starts on this machine")

    @property
    def alive(self) -> bool:
        return not self.killed and self.proc.poll() is None

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.goto(f"{self.server.origin}/", wait_until="load", timeout=START_TIMEOUT_S * 1e3)  # type: ignore[union-attr]
        self.call(page, "() => new Promise(r => { const t = () => window.edgeportReady ? r(true) : "
                        "setTimeout(t, 5); t(); })", None, START_TIMEOUT_S)
        return page

    def call(self, page: Any, script: str, arg: Any, timeout_s: float) -> Any:
        """``page.evaluate`` with a deadline: past it the Chromium process is ended and ``DeviceError`` raised."""
        from playwright.sync_api import Error as PlaywrightError

        if threading.get_ident() != self.owner:
            raise RuntimeError("the browser runtime is driven from the thread that started it (Playwright's sync "
                               "API is bound to one thread)")
        timer = threading.Timer(timeout_s, self.kill)
        timer.daemon = True
        timer.start()
        try:
            return page.evaluate(script, arg)
        except PlaywrightError as exc:
            if self.killed:
                self.proc.wait(timeout=10)  # reaped before anyone hears of it
                raise DeviceError(f"the browser page did not answer within {timeout_s:.0f} s; Chromium was ended",
                                  fix="raise BrowserOptions.timeout_s for a slow model, or check the model") from None
            raise DeviceError(f"the browser failed: {one_line(exc)}", fix="run it again; check Chromium") from None
        finally:
            timer.cancel()

    def kill(self) -> None:
        """End the Chromium process group now (a hung page blocks everything else, so nothing gentler)."""
        self.killed = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        if self.pw is not None and self.alive:
            try:
                self.browser.close()
            except Exception:  # closing a browser that is already going away must not hide the real outcome
                pass
        self.kill()
        self.proc.wait(timeout=10)
        if self.pw is not None:
            self.pw.stop()
            self.pw = None
        if self.server is not None:
            self.server.close()
            self.server = None
        shutil.rmtree(self.profile, ignore_errors=True)


_SHARED: list[_Chromium] = []
_LOCK = threading.Lock()


def _shared(chromium: str, modules: Path) -> _Chromium:
    """The process's Chromium, started on first use and again after one was ended."""
    with _LOCK:
        if _SHARED and not _SHARED[0].alive:
            _SHARED.pop().close()
        if not _SHARED:
            _SHARED.append(_Chromium(chromium, modules))
        return _SHARED[0]


@atexit.register
def _close_shared() -> None:
    with _LOCK:
        while _SHARED:
            _SHARED.pop().close()


# ---- tensors as bytes --------------------------------------------------------------------------
def _pack(sets: list[dict[str, np.ndarray]]) -> tuple[bytes, list[list[dict[str, Any]]]]:
    """Feed sets as one byte blob (every tensor 8-byte aligned, so the page views it in place) + its layout."""
    buf = bytearray()
    layout = []
    for feeds in sets:
        entries = []
        for name, arr in feeds.items():
            arr = np.asarray(arr)
            if arr.dtype.name not in _DTYPES:
                raise UnsupportedError(f"input {name!r}: ONNX Runtime Web takes no {arr.dtype} tensors",
                                       fix=f"cast it to one of: {', '.join(_DTYPES)}")
            buf.extend(b"\0" * (-len(buf) % 8))
            data = np.ascontiguousarray(arr).tobytes()
            entries.append({"name": name, "dtype": arr.dtype.name, "dims": list(arr.shape), "offset": len(buf),
                            "length": len(data)})
            buf.extend(data)
        layout.append(entries)
    return bytes(buf), layout


def _unpack(blob: bytes, metas: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out = {}
    for m in metas:
        dtype = np.dtype("bool" if m["dtype"] == "bool" else m["dtype"])
        count = m["length"] // dtype.itemsize
        arr = np.frombuffer(blob, dtype=dtype, count=count, offset=m["offset"])
        out[m["name"]] = arr.reshape([int(d) for d in m["dims"]]).copy()
    return out


def _align(names: list[str], specs: tuple[TensorSpec, ...]) -> list[tuple[str, TensorSpec]]:
    """(page name, artifact spec) pairs: by name where all match, else by position where the counts agree."""
    by_name = {s.name: s for s in specs}
    if all(n in by_name for n in names):
        return [(n, by_name[n]) for n in names]
    if len(names) == len(specs):
        return list(zip(names, specs))
    return [(n, by_name.get(n) or TensorSpec(n, "float32", ())) for n in names]


# ---- the runtime -------------------------------------------------------------------------------
@RUNTIMES.register
class BrowserRuntime(Runtime):
    name = "browser"
    formats = frozenset({Format.ONNX, Format.TFLITE})
    requires = ("playwright",)
    extra = "browser"
    Options = BrowserOptions
    priority = 20  # never picked automatically (a device runtime); this orders the profile names only
    # device profiles name ONNX Runtime Web; LiteRT.js runs .tflite here but no profile names it yet
    device = DeviceSupport(profile_names=("onnxruntime-web",), profile_formats=(Format.ONNX,))
    device_schemes = ("browser",)
    description = ("ONNX Runtime Web (.onnx) and LiteRT.js (.tflite) on WebAssembly, WebGPU where an adapter "
                   "exists, in headless Chromium")
    options: BrowserOptions

    @classmethod
    def available(cls) -> bool:
        return is_available("playwright") and chromium_path() is not None and (_ort_dist() / "ort.wasm.min.mjs").is_file()

    @classmethod
    def version(cls) -> str | None:
        return _package_version("onnxruntime-web")

    @classmethod
    def _require(cls) -> None:
        require("playwright", cls.extra, f"runtime {cls.name!r}")
        if chromium_path() is None:
            raise MissingDependencyError(f"runtime {cls.name!r}", "chromium", cls.extra,
                                         fix="run 'make browser' (Debian's chromium package) or set EDGEPORT_CHROMIUM")
        if not (_ort_dist() / "ort.wasm.min.mjs").is_file():
            raise MissingDependencyError(f"runtime {cls.name!r}", "onnxruntime-web", cls.extra,
                                         fix=f"run 'make web' (npm ci into {web_modules()}) or set "
                                             "EDGEPORT_WEB_MODULES to a node_modules holding onnxruntime-web")

    @classmethod
    def options_for_device(cls, address: str, *, runtime: str | None = None,
                           threads: int | None = None) -> BrowserOptions:
        """The browser runs ONNX Runtime Web whatever ran the candidate here; ``threads`` carries over."""
        if address != "browser":
            raise ConfigError(f"runtime {cls.name!r} does not measure {address!r}", fix="use the device 'browser'")
        return BrowserOptions(threads=threads or 1, device=address)

    # ---- lifecycle ----------------------------------------------------------------------------
    def _load(self) -> None:
        opts = self.options
        if opts.backend not in BACKENDS:
            raise ConfigError(f"browser backend {opts.backend!r} is not one of {', '.join(BACKENDS)}",
                              fix="use backend='wasm' or 'webgpu'")
        threads = opts.threads or 1
        if threads < 1:
            raise ConfigError(f"threads must be ≥ 1, got {threads}", fix="pass a positive thread count")
        self._chromium = _shared(str(chromium_path()), web_modules())
        self._page = self._chromium.new_page()
        engine, self._engine, package = _ENGINES[self.artifact.format]
        self._engine_version = f"{package} {_package_version(package)}"
        try:
            self._info = self._call("o => edgeport.init(o)", {"engine": engine, "backend": opts.backend,
                                                               "threads": threads})
            if self._info.get("error") == "no-webgpu-adapter":
                raise UnsupportedError("WebGPU: this Chromium exposes no GPU adapter (headless without a GPU)",
                                       fix="use backend='wasm'")
            self._check(self._info, "start")
            if threads > 1 and not self._info["crossOriginIsolated"]:
                raise BackendError(f"threads={threads} needs a cross-origin isolated page (COOP/COEP headers) and "
                                   f"this page is not: {self._engine} would run one thread",
                                   fix="serve the page with COOP same-origin and COEP require-corp, or threads=1")
            key, url = self._chromium.server.register(Path(self.artifact.path))  # type: ignore[union-attr]
            try:
                meta = self._call("u => edgeport.load(u)", url)
            finally:
                self._chromium.server.forget(key)  # type: ignore[union-attr]
            self._check(meta, f"load {Path(self.artifact.path).name}")
        except BaseException:
            self._close_page()
            raise
        self.page_load_ms = float(meta["loadMs"])
        self._heap_after_load = meta.get("jsHeapMb")
        # the page's tensor names -> the artifact's (by name, else by position: LiteRT.js names tensors, the
        # artifact may name signature I/O)
        self._in_specs = _align(list(meta["inputNames"]), self.artifact.inputs)
        self._out_specs = _align(list(meta["outputNames"]), self.artifact.outputs)

    def _read_specs(self) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
        return tuple(s for _, s in self._in_specs), tuple(s for _, s in self._out_specs)

    def _to_page(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {page: feeds[spec.name] for page, spec in self._in_specs}

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._set_feeds([self._to_page(feeds)])
        server = self._chromium.server
        key = uuid4().hex
        meta = self._call("([i, u]) => edgeport.run(i, u)", [0, f"{server.origin}/out/{key}"])  # type: ignore[union-attr]
        self._check(meta, f"run {Path(self.artifact.path).name}")
        names = {page: spec.name for page, spec in self._out_specs}
        return {names.get(k, k): v for k, v in _unpack(server.take(key), meta["outputs"]).items()}  # type: ignore[union-attr]

    def time_on_device(self, feeds: list[dict[str, np.ndarray]], policy: RunPolicy) -> DeviceTiming:
        """The harness's policy, looped in the page: ``performance.now()`` around each awaited ``session.run``."""
        self._set_feeds([self._to_page(f) for f in feeds])
        budget = self.options.timeout_s + max(policy.warmup_min_s * 4, 10.0) + (policy.max_duration_s or 600.0)
        t = self._call("p => edgeport.time(p)", {
            "warmup_runs": policy.warmup_runs, "warmup_min_s": policy.warmup_min_s, "min_runs": policy.min_runs,
            "min_duration_s": policy.min_duration_s, "max_runs": policy.max_runs,
            "max_duration_s": policy.max_duration_s}, budget)
        self._check(t, f"time {Path(self.artifact.path).name}")
        heap = {"after_load": self._heap_after_load, **(t.get("jsHeapMb") or {})}
        conditions = {
            "device": self.options.device, "browser": f"Chromium {self._chromium.version}",
            "user_agent": self._info.get("userAgent"), "engine": self._engine_version,
            "backend": self.options.backend, "threads": self.options.threads or 1,
            "cross_origin_isolated": self._info.get("crossOriginIsolated"),
            "hardware_concurrency": self._info.get("hardwareConcurrency"),
            "timer": "performance.now() around each awaited session.run, in the page",
            "timer_resolution_ms": t.get("timerResolutionMs"),
            "js_heap_mb": heap if self._info.get("jsHeapAvailable") else "unavailable (no performance.memory)",
        }
        return DeviceTiming(samples_ms=[float(x) for x in t["samplesMs"]], warmup_runs=int(t["warmupRuns"]),
                            warmup_s=float(t["warmupS"]), load_ms=self.page_load_ms,
                            first_run_ms=None if t.get("firstRunMs") is None else float(t["firstRunMs"]),
                            conditions=conditions)

    def _release(self) -> None:
        self._close_page()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(threads=self.options.threads or 1, backend=self.options.backend, device=self.options.device)
        page = getattr(self, "_info", None) or {}
        if page:
            info.update(engine=self._engine_version, cross_origin_isolated=page.get("crossOriginIsolated"),
                        browser=f"Chromium {self._chromium.version}")
        return info

    # ---- helpers ------------------------------------------------------------------------------
    def _call(self, script: str, arg: Any, timeout_s: float | None = None) -> Any:
        return self._chromium.call(self._page, script, arg, timeout_s or self.options.timeout_s)

    def _set_feeds(self, sets: list[dict[str, np.ndarray]]) -> None:
        blob, layout = _pack(sets)
        server = self._chromium.server
        key, url = server.register(blob)  # type: ignore[union-attr]
        try:
            self._check(self._call("([u, l]) => edgeport.setFeeds(u, l)", [url, layout]), "receive the inputs")
        finally:
            server.forget(key)  # type: ignore[union-attr]

    def _check(self, answer: Mapping[str, Any], doing: str) -> None:
        """Raise the page's own error on one line: unsupported operators/types as ``UnsupportedError``."""
        error = answer.get("error") if isinstance(answer, Mapping) else None
        if not error:
            return
        text = " ".join(str(error).split())[:300]
        if any(mark in text.lower() for mark in _UNSUPPORTED_MARKS):
            raise UnsupportedError(f"{self._engine} in the browser cannot {doing}: {text}",
                                   fix="the browser lacks this operator/type: change the model or run it natively")
        raise BackendError(f"{self._engine} in the browser failed to {doing}: {text}",
                           fix="check the model and its inputs")

    def _close_page(self) -> None:
        page = getattr(self, "_page", None)
        self._page = None
        if page is not None and self._chromium.alive:
            try:
                page.close()
            except Exception:  # the page's browser went away: nothing left to close
                pass
