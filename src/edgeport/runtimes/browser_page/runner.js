// edgeport's browser runtime page: runs one model in ONNX Runtime Web (.onnx) or LiteRT.js (.tflite) and
// times it with performance.now() under the host harness's run policy, so the numbers exclude the link to
// Python. Tensors travel as raw bytes over the page's own origin: GET /blob/<id> in, POST /out/<id> back.

let engine = null;
let feedSets = [];
let firstRunMs = null;

const TYPED = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array,
  uint64: BigUint64Array, bool: Uint8Array,
};
const LITERT_DTYPES = ['float32', 'int32', 'uint8'];  // the only tensor types LiteRT.js 2.x exchanges

function heapMb() {
  const m = performance.memory;
  return m ? m.usedJSHeapSize / 1048576 : null;
}

// ONNX Runtime Web: one InferenceSession; outputs keyed by name.
async function ortEngine(opts) {
  const ort = await import(opts.backend === 'webgpu' ? '/ort/ort.webgpu.min.mjs' : '/ort/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = opts.threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  let session = null;
  return {
    async load(bytes) {
      session = await ort.InferenceSession.create(bytes, {executionProviders: [opts.backend],
                                                         graphOptimizationLevel: 'all'});
      return {inputNames: session.inputNames, outputNames: session.outputNames};
    },
    tensor: (t, data) => new ort.Tensor(t.dtype, data, t.dims),
    run: (feeds) => session.run(feeds),
    async read(out) {
      const result = {};
      for (const name of session.outputNames) {
        const t = out[name];
        const data = t.location === 'cpu' || t.location === undefined ? t.data : await t.getData();
        result[name] = {dtype: t.type, dims: Array.from(t.dims), data};
      }
      return result;
    },
    discard: () => {},
    async release() { if (session) await session.release(); session = null; },
  };
}

// LiteRT.js: one CompiledModel; inputs and outputs by position (its details' order), named by its details.
async function litertEngine(opts) {
  const lrt = await import('/node/@litertjs/core/dist/index.js');
  const threaded = opts.threads > 1;
  await lrt.loadLiteRt('/node/@litertjs/core/wasm/', threaded ? {threads: true} : {});
  let model = null;
  let inputNames = [];
  let outputNames = [];
  return {
    async load(bytes) {
      model = await lrt.loadAndCompile(bytes, {accelerator: opts.backend,
                                               ...(threaded ? {cpuOptions: {numThreads: opts.threads}} : {})});
      inputNames = model.getInputDetails().map((d) => d.name);
      outputNames = model.getOutputDetails().map((d) => d.name);
      return {inputNames, outputNames};
    },
    tensor(t, data) {
      if (!LITERT_DTYPES.includes(t.dtype)) {
        throw new Error(`LiteRT.js: unsupported tensor type ${t.dtype} for input ${t.name} (it takes ${LITERT_DTYPES})`);
      }
      return new lrt.Tensor(data, t.dims);
    },
    run: (feeds) => model.run(inputNames.map((n) => feeds[n])),
    async read(outs) {
      const result = {};
      for (let k = 0; k < outs.length; k++) {
        const t = outs[k];
        result[outputNames[k]] = {dtype: t.type.dtype, dims: Array.from(t.type.layout.dimensions), data: await t.data()};
      }
      return result;
    },
    discard(outs) { for (const t of outs) t.delete(); },
    async release() { if (model) model.delete(); model = null; },
  };
}

async function init(opts) {
  const info = {
    crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent, jsHeapAvailable: heapMb() !== null,
  };
  if (opts.backend === 'webgpu') {
    const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
    if (!adapter) return {...info, error: 'no-webgpu-adapter'};
  }
  engine = await (opts.engine === 'litert' ? litertEngine(opts) : ortEngine(opts));
  return info;
}

async function load(url) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const t0 = performance.now();
  const names = await engine.load(bytes);
  const loadMs = performance.now() - t0;
  firstRunMs = null;
  return {loadMs, ...names, jsHeapMb: heapMb()};
}

// layout: one list per feed set of {name, dtype, dims, offset, length} into the blob at url
async function setFeeds(url, layout) {
  const buf = await (await fetch(url)).arrayBuffer();
  feedSets = layout.map((set) => Object.fromEntries(set.map((t) => {
    const T = TYPED[t.dtype];
    return [t.name, engine.tensor(t, new T(buf, t.offset, t.length / T.BYTES_PER_ELEMENT))];
  })));
  return {sets: feedSets.length};
}

// Runs feed set i and posts its outputs as one byte blob (8-byte aligned parts) to outUrl.
async function run(i, outUrl) {
  const t0 = performance.now();
  const out = await engine.run(feedSets[i]);
  const ms = performance.now() - t0;
  if (firstRunMs === null) firstRunMs = ms;
  const tensors = await engine.read(out);
  engine.discard(out);
  const metas = [];
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    offset = Math.ceil(offset / 8) * 8;
    metas.push({name, dtype: t.dtype, dims: t.dims, offset, length: bytes.length});
    parts.push([offset, bytes]);
    offset += bytes.length;
  }
  const blob = new Uint8Array(offset);
  for (const [at, bytes] of parts) blob.set(bytes, at);
  const answer = await fetch(outUrl, {method: 'POST', body: blob});
  if (!answer.ok) throw new Error(`posting outputs failed: HTTP ${answer.status}`);
  return {outputs: metas};
}

// Runs until both count >= minRuns and elapsed >= minS, or a cap: the host harness's PreparedBenchmark.block.
async function block(state, minRuns, minS, maxRuns, maxS) {
  const n = feedSets.length;
  const times = [];
  const begin = performance.now();
  const endMin = begin + minS * 1000;
  const endMax = maxS === null ? Infinity : begin + maxS * 1000;
  while (true) {
    const feeds = feedSets[state.next];
    const t0 = performance.now();
    const out = await engine.run(feeds);
    const t1 = performance.now();
    engine.discard(out);
    times.push(t1 - t0);
    state.next = (state.next + 1) % n;
    if ((times.length >= minRuns && t1 >= endMin) || times.length >= maxRuns || t1 >= endMax) break;
  }
  return {times, seconds: (performance.now() - begin) / 1000};
}

// p: the harness's RunPolicy; warm-up exactly as PreparedBenchmark.warmup, then one timed block.
async function time(p) {
  const state = {next: feedSets.length > 1 ? 1 : 0};  // the harness's first run used set 0
  const heapBefore = heapMb();
  let warm = {times: [], seconds: 0};
  if (p.warmup_runs > 0 || p.warmup_min_s > 0) {
    const runs = Math.max(p.warmup_runs, 1);
    warm = await block(state, runs, p.warmup_min_s, p.warmup_min_s > 0 ? p.max_runs : runs,
                       Math.max(p.warmup_min_s * 4, 10));
  }
  const timed = await block(state, p.min_runs, p.min_duration_s, p.max_runs, p.max_duration_s);
  return {samplesMs: timed.times, warmupRuns: warm.times.length, warmupS: warm.seconds, firstRunMs,
          jsHeapMb: {before: heapBefore, after: heapMb()}, timerResolutionMs: timerResolution()};
}

// The smallest step performance.now() takes (5 us when cross-origin isolated, 100 us otherwise in Chromium).
function timerResolution() {
  let best = Infinity;
  for (let k = 0; k < 20; k++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    best = Math.min(best, b - a);
  }
  return best;
}

async function release() {
  if (engine) await engine.release();
  feedSets = [];
  return {};
}

// Every entry answers {error} instead of throwing, so Python gets the runtime's own message on one line.
const guarded = (fn) => async (...args) => {
  try {
    return await fn(...args);
  } catch (e) {
    return {error: String((e && e.message) || e).replace(/\s+/g, ' ')};
  }
};
window.edgeport = {init: guarded(init), load: guarded(load), setFeeds: guarded(setFeeds), run: guarded(run),
                   time: guarded(time), release: guarded(release)};
window.edgeportReady = true;
