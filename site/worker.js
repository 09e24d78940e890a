// A compute worker: runs gen/worker.wasm (Go, core only) and passes the
// page's messages to it one at a time; answers go back in the same order.
"use strict";
importScripts("wasm_exec.js");

const waiting = [];
let ready = false;
let started = false;

function answer(msg) {
  const reply = self.upscalerWorker(msg);
  const transfer = reply.transfer || [];
  delete reply.transfer;
  self.postMessage(reply, transfer);
}

// The page's first message is {op: "init", module}: the compute program,
// compiled once by the page for all its workers (null: fetch it here).
self.onmessage = (e) => {
  if (!started && e.data?.op === "init") {
    started = true;
    start(e.data.module).catch((err) => self.postMessage({ op: "fatal", error: "The compute code failed to load: " + err }));
    return;
  }
  if (ready) answer(e.data);
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
  const go = new Go();
  const result = await instantiate(module, "gen/worker.wasm", go.importObject);
  const kernels = await simdKernels(result.instance.exports.mem);
  if (kernels) self.upscalerSIMD = kernels;
  go.run(result.instance); // registers self.upscalerWorker, posts {op: "booted", simd}
  ready = true;
  for (const msg of waiting.splice(0)) answer(msg);
}
