// A compute worker: runs gen/worker.wasm (Go, core only) and passes the
// page's messages to it one at a time; answers go back in the same order.
"use strict";
importScripts("wasm_exec.js");

const waiting = [];
let ready = false;

function answer(msg) {
  const reply = self.upscalerWorker(msg);
  const transfer = reply.transfer || [];
  delete reply.transfer;
  self.postMessage(reply, transfer);
}

self.onmessage = (e) => {
  if (ready) answer(e.data);
  else waiting.push(e.data);
};

async function instantiate(url, imports) {
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

(async () => {
  const go = new Go();
  const result = await instantiate("gen/worker.wasm", go.importObject);
  const kernels = await simdKernels(result.instance.exports.mem);
  if (kernels) self.upscalerSIMD = kernels;
  go.run(result.instance); // registers self.upscalerWorker, posts {op: "booted", simd}
  ready = true;
  for (const msg of waiting.splice(0)) answer(msg);
})().catch((err) => self.postMessage({ op: "fatal", error: "The compute code failed to load: " + err }));
