// The GPU-against-CPU benchmark (bench.html): one compute worker, the
// shipped general x2 and x4 networks, a 512x512 picture drawn here
// (?size=N for another side); every
// tile with WebGPU, then every tile with the wasm kernels, each timed after
// a warm-up tile. It prints megapixels per second and the adapter's name.
"use strict";

const out = document.getElementById("out");
const side = Number(new URLSearchParams(location.search).get("size")) || 512;
const say = (line) => { out.textContent += line + "\n"; };

// call sends the worker one message and waits for its answer (the worker
// answers in order, one at a time).
function worker() {
  const w = new Worker("worker.js");
  const pending = [];
  let boot;
  const booted = new Promise((resolve, reject) => { boot = { resolve, reject }; });
  w.onmessage = (e) => {
    if (e.data.op === "booted") return boot.resolve(e.data);
    if (e.data.op === "fatal") return boot.reject(new Error(e.data.error));
    const p = pending.shift();
    if (e.data.error) p.reject(new Error(e.data.error));
    else p.resolve(e.data);
  };
  w.postMessage({ op: "init", module: null });
  const call = async (msg) => {
    await booted;
    return new Promise((resolve, reject) => { pending.push({ resolve, reject }); w.postMessage(msg); });
  };
  return { booted, call };
}

// picture draws a side x side PNG with gradients, edges and fine lines.
async function picture() {
  const c = new OffscreenCanvas(side, side);
  const g = c.getContext("2d");
  g.scale(side / 512, side / 512); // drawn as for 512x512
  const grad = g.createLinearGradient(0, 0, 512, 512);
  grad.addColorStop(0, "#234");
  grad.addColorStop(1, "#dc9");
  g.fillStyle = grad;
  g.fillRect(0, 0, 512, 512);
  for (let i = 0; i < 40; i++) {
    g.strokeStyle = `hsl(${i * 37} 60% ${30 + i % 5 * 10}%)`;
    g.lineWidth = 1 + i % 4;
    g.beginPath();
    g.arc(256, 256, 6 + i * 6, i, i + 4);
    g.stroke();
  }
  g.fillStyle = "#fff";
  g.font = "28px sans-serif";
  g.fillText("The quick brown fox 0123456789", 20, 480);
  return new Uint8Array(await (await c.convertToBlob({ type: "image/png" })).arrayBuffer());
}

async function run() {
  out.textContent = "";
  const w = worker();
  const { simd } = await w.booted;
  const info = await w.call({ op: "gpuInfo", id: 1 });
  say(`WebGPU: ${info.available ? info.adapter : "no adapter"}; CPU: ${simd ? "wasm SIMD" : "wasm"}, one worker`);
  await w.call({ op: "open", id: 1, file: await picture() });
  for (const scale of [2, 4]) {
    const name = `general-x${scale}`;
    const weights = new Uint8Array(await (await fetch(`weights/${name}.gob`)).arrayBuffer());
    await w.call({ op: "model", id: 0, name, weights });
    const start = await w.call({ op: "start", id: 1, model: name, denoise: "none" });
    const mp = start.width * start.height / 1e6;
    for (const gpu of info.available ? [true, false] : [false]) {
      await w.call({ op: "tile", id: 1, tile: start.tiles[0], gpu }); // warm-up
      const t0 = performance.now();
      let path = "";
      for (const tile of start.tiles) path = (await w.call({ op: "tile", id: 1, tile, gpu })).path || "wasm";
      const s = (performance.now() - t0) / 1000;
      say(`x${scale} ${gpu ? "GPU" : "CPU"} (${path}): ${mp.toFixed(2)} MP in ${s.toFixed(2)} s = ${(mp / s).toFixed(2)} MP/s`);
    }
  }
  say("done");
}

document.getElementById("run").addEventListener("click", () => run().catch((e) => say("failed: " + e.message)));
