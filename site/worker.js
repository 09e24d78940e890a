// A compute worker: runs gen/worker.wasm (Go, core only) and passes the
// page's messages to it one at a time; answers go back in the same order.
// A tile asked for with {op: "tile", gpu: true} runs its network on WebGPU
// (gpu.js) where there is an adapter, and on the wasm kernels otherwise or
// if the GPU fails; the answer says which ran ("path").
"use strict";
importScripts("wasm_exec.js", "gpu.js");

const waiting = [];
let ready = false;
let started = false;

function post(reply) {
  const transfer = reply.transfer || [];
  delete reply.transfer;
  self.postMessage(reply, transfer);
}

function answer(msg) {
  post(self.upscalerWorker(msg));
}

// Messages are handled one after another, a GPU tile's awaits included, so
// that answers keep the order of the questions.
let queue = Promise.resolve();
function handle(msg) {
  queue = queue.then(() => {
    if (msg.op === "tile" && msg.gpu) return gpuTile(msg);
    if (msg.op === "gpuInfo") return gpuInfo(msg);
    if (msg.op === "start" || msg.op === "close") gpuKeys.delete(msg.id); // the network may change
    answer(msg);
  });
}

// gpuAdapter is asked for as the worker starts, beside the wasm (so that
// Auto's question costs nothing later); gpu is the device, opened on the
// first GPU tile (null: none); gpuKeys the network each started image runs.
let gpuAdapter = null;
let gpu;
const gpuKeys = new Map();

// gpuInfo answers whether this worker has a WebGPU device, and its name.
async function gpuInfo(msg) {
  const adapter = await gpuAdapter;
  post({ op: msg.op, id: msg.id, available: !!adapter && !gpu?.lost, adapter: adapter ? UpscalerGPU.nameOf(adapter) : "" });
}

async function gpuTile(msg) {
  const call = (m) => {
    const r = self.upscalerWorker(m);
    if (r.error) throw new Error(r.error);
    return r;
  };
  try {
    if (gpu === undefined) gpu = await UpscalerGPU.open(await gpuAdapter);
    if (!gpu || gpu.lost) throw new Error("no WebGPU device");
    if (msg.loseGPU) gpu.device.destroy(); // a test switch (app.js: ?gpu-lose-after=N)
    let key = gpuKeys.get(msg.id);
    if (!key) {
      const net = call({ op: "gpuLayers", id: msg.id });
      if (!net.key) throw new Error("this network does not run on the GPU");
      gpu.load(net.key, net.layers);
      key = net.key;
      gpuKeys.set(msg.id, key);
    }
    const input = call({ op: "tileInput", id: msg.id, tile: msg.tile });
    const { out, rect } = await gpu.run(key, input.x, input.width, input.height, input.edges);
    const reply = call({ op: "tileFrom", id: msg.id, tile: msg.tile, out, rect });
    reply.op = "tile";
    reply.path = "webgpu";
    reply.adapter = gpu.adapterName;
    post(reply);
  } catch (err) {
    // The wasm kernels take over this tile; the page hears why.
    const reply = self.upscalerWorker({ op: "tile", id: msg.id, tile: msg.tile });
    reply.path = "wasm";
    reply.gpuError = String(err.message || err);
    post(reply);
  }
}

// The page's first message is {op: "init", module}: the compute program,
// compiled once by the page for all its workers (null: fetch it here).
self.onmessage = (e) => {
  if (!started && e.data?.op === "init") {
    started = true;
    start(e.data.module).catch((err) => self.postMessage({ op: "fatal", error: "The compute code failed to load: " + err }));
    return;
  }
  if (ready) handle(e.data);
  else waiting.push(e.data);
};

async function instantiate(module, url, imports) {
  if (module) return { instance: await WebAssembly.instantiate(module, imports) };
  try {
    return await WebAssembly.instantiateStreaming(fetch(url), imports);
  } catch (e) {
    const bytes = await (await fetch(url)).arrayBuffer();
    return WebAssembly.instantiate(bytes, imports);
  }
}

// The SIMD matrix kernels work in the Go program's memory. Browsers without
// wasm SIMD fail to validate them, and Go's own kernel is used instead.
async function simdKernels(memory) {
  try {
    const bytes = await (await fetch("gemm-simd.wasm")).arrayBuffer();
    if (!WebAssembly.validate(bytes)) return null;
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
    return instance.exports; // gemm, gemmoff
  } catch (e) {
    return null;
  }
}

async function start(module) {
  gpuAdapter = UpscalerGPU.adapter();
  const go = new Go();
  const result = await instantiate(module, "gen/worker.wasm", go.importObject);
  const kernels = await simdKernels(result.instance.exports.mem);
  if (kernels) self.upscalerSIMD = kernels;
  go.run(result.instance); // registers self.upscalerWorker, posts {op: "booted", simd}
  ready = true;
  for (const msg of waiting.splice(0)) handle(msg);
}
