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

(async () => {
  const go = new Go();
  const url = "gen/worker.wasm";
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(fetch(url), go.importObject);
  } catch (e) {
    const bytes = await (await fetch(url)).arrayBuffer();
    result = await WebAssembly.instantiate(bytes, go.importObject);
  }
  go.run(result.instance); // registers self.upscalerWorker, posts {op: "booted"}
  ready = true;
  for (const msg of waiting.splice(0)) answer(msg);
})().catch((err) => self.postMessage({ op: "fatal", error: "The compute code failed to load: " + err }));
