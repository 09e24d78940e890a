// The page: picks an image, spreads its tiles over a pool of compute
// workers (worker.js), shows the result in the compare viewer
// (viewer.html) and offers it for download. Images never leave the device:
// the only requests this page makes are for its own code and weights.

const $ = (id) => document.getElementById(id);
const ui = {
  file: $("file"), scale: $("scale"), width: $("width"), height: $("height"), model: $("model"), denoise: $("denoise"), look: $("look"), compute: $("compute"),
  format: $("format"), quality: $("quality"),
  enhance: $("enhance"), cancel: $("cancel"),
  download: $("download"), downloadAll: $("download-all"), batch: $("batch"), alert: $("alert"), progress: $("progress"), status: $("status"),
  stage: $("stage"), viewer: $("viewer"), fit: $("fit"), actual: $("actual"),
};
const modelLabels = { general: "General", portrait: "Portrait" };

// ---- workers -------------------------------------------------------------

// The compute program is compiled once, here, and handed to every worker
// (a compiled module can be posted to workers): each worker compiling its
// own copy took the CPU the first tiles need. null where compiling here
// fails: the workers then fetch it themselves.
const workerModule = (async () => {
  try {
    return await WebAssembly.compileStreaming(fetch("gen/worker.wasm"));
  } catch {
    try {
      return await WebAssembly.compile(await (await fetch("gen/worker.wasm")).arrayBuffer());
    } catch {
      return null;
    }
  }
})();

// ComputeWorker wraps a Web Worker running the Go compute code. Requests are
// answered in order, so a FIFO of pending promises matches answers to them.
class ComputeWorker {
  constructor() {
    this.w = new Worker("worker.js");
    this.pending = [];
    this.models = new Map(); // the name a model is loaded as -> its file
    this.booted = new Promise((resolve, reject) => { this.boot = { resolve, reject }; });
    this.w.onmessage = (e) => this.receive(e.data);
    this.w.onerror = (e) => this.fail(new Error("A compute worker failed: " + (e.message || "unknown error")));
    workerModule.then((module) => this.w.postMessage({ op: "init", module }));
  }
  receive(msg) {
    if (msg.op === "booted") {
      this.simd = !!msg.simd;
      return this.boot.resolve();
    }
    if (msg.op === "fatal") return this.fail(new Error(msg.error));
    const p = this.pending.shift();
    if (!p) return;
    if (msg.error) p.reject(new Error(msg.error));
    else p.resolve(msg);
  }
  fail(err) {
    this.boot.reject(err);
    for (const p of this.pending.splice(0)) p.reject(err);
  }
  async call(msg, transfer = []) {
    await this.booted;
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.w.postMessage(msg, transfer);
    });
  }
}

// One compute worker per core but one, at least one; ?workers=N overrides
// it (for benchmarks).
const poolSize = Number(new URLSearchParams(location.search).get("workers")) ||
  Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
let pool = null;
function workers() {
  if (!pool) pool = Array.from({ length: poolSize }, () => new ComputeWorker());
  return pool;
}
// The saver: one more worker, that writes each result as PNG while its
// rows arrive (so the file is ready when the compute ends, and this page
// never holds a result's pixels), converts formats and makes the zip.
let saverWorker = null;
function saver() {
  if (!saverWorker) saverWorker = new ComputeWorker();
  return saverWorker;
}

// ---- weights -------------------------------------------------------------

let available = null; // {"general-x2": {model, scale, preset, file, valPSNR, denoise}, ...}
async function loadIndex() {
  try {
    const res = await fetch("weights/index.json");
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    const list = await res.json();
    // By file name: general-x2, and general-x2-denoise for the JPEG-aware
    // network that takes over from it above denoise strength 0.
    available = Object.fromEntries(list.map((m) => [baseName(m.file), m]));
  } catch (err) {
    available = {};
    showAlert("The list of models failed to load (" + err.message + "). Reload the page to try again.");
  }
  updateModelChoices();
}

// updateModelChoices offers only the models whose weights exist at the
// chosen scale.
function updateModelChoices() {
  const scale = ui.scale.value;
  for (const opt of ui.model.options) {
    opt.disabled = !available || !available[`${opt.value}-x${scale}`];
    opt.hidden = opt.disabled;
  }
  const selected = ui.model.selectedOptions[0]; // none while every option was disabled
  if (!selected || selected.disabled) {
    const first = [...ui.model.options].find((o) => !o.disabled);
    if (first) ui.model.value = first.value;
  }
  updateButtons();
}

const weightsCache = new Map();
async function weightsFor(name) {
  if (!weightsCache.has(name)) {
    const p = fetch(`weights/${name}.gob`).then(async (res) => {
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      return new Uint8Array(await res.arrayBuffer());
    });
    weightsCache.set(name, p);
    p.catch(() => weightsCache.delete(name));
  }
  try {
    return await weightsCache.get(name);
  } catch (err) {
    throw new Error(`The ${label(name)} weights failed to load (${err.message}).`);
  }
}

// baseName is a weights file's name without its folder and .gob.
function baseName(file) {
  return file.replace(/^.*\//, "").replace(/\.gob$/, "");
}

function label(name) {
  const [model, scale] = name.split("-x");
  return `${modelLabels[model] || model} ×${scale}`;
}

// ---- the chosen images -------------------------------------------------

// The batch: every image chosen at once, enhanced one after another. Each
// item is {id, file, name, state, width, height, quality, autoLevel,
// opened: Set of workers that decoded it, result, el (its row in the
// list)}; a result is {width, height, base, png (Blob: the one full copy
// of it, compressed), blob and url (the download in the chosen format)}.
let items = [];
let nextId = 1;
let running = null; // the batch under way: {cancelled}
let shown = null; // the item whose result the Download button offers
let reading = null; // the first image while it is read and previewed

async function choose(files) {
  files = [...(files || [])].filter(Boolean);
  if (!files.length) return;
  hideAlert();
  if (running) running.cancelled = true;
  for (const it of items) forget(it);
  items = files.map((file) => ({ id: nextId++, file, name: file.name, state: "waiting", opened: new Set() }));
  shown = null;
  renderList();
  updateButtons();
  const first = items[0];
  ui.status.textContent = `Reading ${first.name}…`;
  reading = first;
  updateButtons();
  try {
    const info = await openItem(first, 0, true);
    if (items[0] !== first) return; // chosen again meanwhile
    // The image at once, shrunk to about what the compare view shows.
    viewerOpen(info.previewWidth, info.previewHeight, 1);
    viewerSource(info.previewWidth, info.preview);
    viewerPut([0, 0, info.previewWidth, info.previewHeight], info.preview);
    describeChosen();
  } catch (err) {
    if (items[0] !== first) return;
    failItem(first, err);
    if (items.length === 1) {
      items = [];
      ui.status.textContent = "Choose an image, drop it here, or paste it.";
    } else {
      describeChosen();
    }
  } finally {
    if (reading === first) reading = null;
  }
  updateButtons();
}

// openItem decodes an item's file in worker i (with a preview, for the
// first one) and learns its size and JPEG quality.
async function openItem(it, i, preview = false) {
  // Read once, kept while the image is being worked on: a file may change
  // or go away on disk after it was chosen.
  if (!it.bytes) it.bytes = new Uint8Array(await it.file.arrayBuffer());
  const info = await workers()[i].call({ op: "open", id: it.id, file: it.bytes, preview });
  Object.assign(it, { width: info.width, height: info.height, quality: info.quality, autoLevel: info.autoLevel });
  it.opened.add(i);
  return info;
}

// forget drops an item: its decoded copies in the workers, its download.
function forget(it) {
  for (const i of it.opened) pool[i].call({ op: "close", id: it.id }).catch(() => {});
  it.opened.clear();
  it.bytes = null;
  if (it.result?.url) URL.revokeObjectURL(it.result.url);
  it.result = null;
}

// describeChosen says what the chosen image is (the first, for a batch)
// and what it will become at the chosen scale.
function describeChosen() {
  const first = items[0];
  if (!first || running || first.width === undefined) return;
  const more = items.length > 1 ? ` (and ${items.length - 1} more image${items.length > 2 ? "s" : ""})` : "";
  const jpeg = first.quality ? `, JPEG quality about ${first.quality}: ${first.autoLevel}` : "";
  const t = target(first);
  if (t.error) {
    ui.status.textContent = `${first.name}: ${first.width}×${first.height}${jpeg}${more}. ${t.error}`;
    return;
  }
  const how = t.exact ? ` (the model at ${t.scale}×, then shrunk)` : ` at ${t.scale}×`;
  ui.status.textContent = `${first.name}: ${first.width}×${first.height}${jpeg} → ${t.width}×${t.height}${how}${more}. Press Enhance.`;
}

// target is the result asked for an image of the batch: the Scale, or with
// a Width or Height the exact size and the smallest scale whose weights
// exist that reaches it (core.FitScale's rule, as the command line's
// -width and -height).
function target(it) {
  const w = Math.round(Number(ui.width.value) || 0), h = Math.round(Number(ui.height.value) || 0);
  if (w <= 0 && h <= 0) {
    const scale = Number(ui.scale.value);
    return { scale, width: (it.width || 0) * scale, height: (it.height || 0) * scale, exact: false };
  }
  const tw = w > 0 ? w : Math.max(1, Math.round(it.width * h / it.height));
  const th = h > 0 ? h : Math.max(1, Math.round(it.height * w / it.width));
  const scales = [2, 3, 4].filter((s) => available && available[`${ui.model.value}-x${s}`]);
  const scale = scales.find((s) => it.width * s >= tw && it.height * s >= th);
  if (!scale) {
    return { error: `${tw}×${th} is more than ${scales.at(-1) || 0} times the image: choose a smaller size.` };
  }
  return { scale, width: tw, height: th, exact: tw !== it.width * scale || th !== it.height * scale };
}

// ---- the batch list ---------------------------------------------------------

// renderList shows the batch, one row an image, when there are several.
function renderList() {
  ui.batch.replaceChildren();
  ui.batch.hidden = items.length < 2;
  for (const it of items) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = it.name;
    const state = document.createElement("span");
    state.className = "state";
    const link = document.createElement("a");
    link.className = "button";
    link.textContent = "Download";
    link.hidden = true;
    li.append(name, state, link);
    it.el = { li, state, link };
    ui.batch.append(li);
    setState(it, it.state);
  }
}

const stateText = { waiting: "Waiting", working: "Enhancing…", done: "Done", cancelled: "Cancelled" };

function setState(it, state, text) {
  it.state = state;
  if (!it.el) return;
  it.el.li.dataset.state = state;
  it.el.state.textContent = text || stateText[state] || state;
  const r = it.result;
  it.el.link.hidden = !(state === "done" && r?.url);
  if (r?.url) {
    it.el.link.href = r.url;
    it.el.link.download = r.fileName;
  }
}

function failItem(it, err) {
  setState(it, "failed", err.message);
  showAlert(`${it.name}: ${err.message}`);
}

// ---- enhancing -----------------------------------------------------------

// progressEvery is the shortest time between two progress updates, in ms.
const progressEvery = 400;
// estimateAfterTiles is how many tiles must be done (and a second gone)
// before the time left is shown.
const estimateAfterTiles = 3;

// enhance runs the batch: every image not done yet, one after another.
async function enhance() {
  if (!items.length || running) return;
  hideAlert();
  const run = { cancelled: false };
  running = run;
  updateButtons();
  // The images not done yet; once all are, all again (new settings).
  let todo = items.filter((it) => it.state !== "done" && it.state !== "failed");
  if (!todo.length) todo = items.filter((it) => it.state === "done");
  shown = null;
  for (const it of todo) {
    if (it.result?.url) URL.revokeObjectURL(it.result.url);
    it.result = null;
    setState(it, "waiting");
  }
  updateButtons();
  try {
    for (const [n, it] of todo.entries()) {
      if (run.cancelled) break;
      const label = items.length > 1 ? `Image ${n + 1} of ${todo.length}, ${it.name}: ` : "";
      try {
        setState(it, "working");
        await enhanceItem(it, run, label);
        if (run.cancelled) break;
      } catch (err) {
        failItem(it, err);
        ui.status.textContent = "";
      }
    }
    if (run.cancelled) {
      for (const it of todo) if (it.state === "working" || it.state === "waiting") setState(it, "cancelled");
      ui.status.textContent = "Cancelled.";
    } else if (items.length > 1) {
      const ok = items.filter((it) => it.state === "done").length;
      ui.status.textContent = `Done: ${ok} of ${items.length} images.` + (ok > 1 ? " Download them one by one or all at once." : "");
    }
  } finally {
    if (running === run) running = null;
    hideProgress();
    updateButtons();
  }
}

// gpuLoseAfter is a test switch: ?gpu-lose-after=N destroys the GPU device
// as tile N+1 of a run starts, to show that the remaining tiles fall back.
const gpuLoseAfter = Number(new URLSearchParams(location.search).get("gpu-lose-after")) || 0;

// computeFor decides where a run's network computes: "gpu" or "cpu". GPU
// and CPU are the Compute control's; Auto takes what this device measured
// for the model (localStorage), or measures it now on one tile: the GPU
// twice (the first call compiles and uploads), then the CPU.
async function computeFor(w, it, tile, name) {
  if (ui.compute.value !== "auto") return ui.compute.value;
  const info = await w.call({ op: "gpuInfo", id: it.id });
  if (!info.available) return "cpu";
  const key = `upscaler-compute:${info.adapter}:${name}`;
  const known = localStorage.getItem(key);
  if (known === "gpu" || known === "cpu") return known;
  const first = await w.call({ op: "tile", id: it.id, tile, gpu: true });
  if (first.path !== "webgpu") return "cpu";
  let t = performance.now();
  await w.call({ op: "tile", id: it.id, tile, gpu: true });
  const gpuMs = performance.now() - t;
  t = performance.now();
  await w.call({ op: "tile", id: it.id, tile });
  const pick = gpuMs < performance.now() - t ? "gpu" : "cpu";
  localStorage.setItem(key, pick);
  return pick;
}

// enhanceItem enhances one image: its tiles spread over the workers, shown
// as they come, each complete row of tiles passed to the saver.
async function enhanceItem(it, run, label) {
  const started = performance.now();
  showProgress(0, 1, label + "Loading…");
  const ws = workers();
  if (it.width === undefined) await openItem(it, 0);
  const want = target(it);
  if (want.error) throw new Error(want.error);
  const scale = want.scale;
  const name = `${ui.model.value}-x${scale}`;
  // The workers know the network as <name> at the Faithful look and as
  // <name>-detailed at the Detailed one (the model's own, or general's),
  // and beside it (unless Restore is None) the JPEG-aware companion as
  // <that>-denoise, at either look: a hard JPEG is its job. Blur and noise
  // are a Detailed network's own if it reads a strength, else the
  // real-photo network's, <that>-restore (core.Networks.Restorer).
  // For Auto the estimator reads how degraded the pixels look where one of
  // those runs.
  const detailed = ui.look.value === "detailed" ? available[name]?.detailed : undefined;
  const main = detailed ? { as: `${name}-detailed`, file: baseName(detailed) } : { as: name, file: name };
  const models = [main];
  const { companion, restore } = available[name] || {};
  const readsStrength = !!available[main.file]?.denoise;
  const restorer = readsStrength || !!restore;
  if (ui.denoise.value !== "none") {
    if (companion) models.push({ as: `${main.as}-denoise`, file: baseName(companion) });
    if (restore && !(detailed && readsStrength)) models.push({ as: `${main.as}-restore`, file: baseName(restore) });
    if (restorer && ui.denoise.value === "auto" && available["estimator"]) models.push({ as: "estimator", file: "estimator" });
  }
  const weights = await Promise.all(models.map((m) => weightsFor(m.file)));
  // Every worker gets the models and its own decoded copy of the image.
  const infos = await Promise.all(ws.map(async (w, i) => {
    for (const [k, m] of models.entries()) {
      if (w.models.get(m.as) !== m.file) {
        await w.call({ op: "model", id: 0, name: m.as, weights: weights[k] });
        w.models.set(m.as, m.file);
      }
    }
    if (!it.opened.has(i)) await openItem(it, i);
    return w.call({ op: "start", id: it.id, model: models[0].as, denoise: ui.denoise.value });
  }));
  const { width, height, tiles, strength, restore: restored, reading, opaque, detailed: ranDetailed } = infos[0];
  const sv = saver();
  await sv.call({ op: "saveStart", id: it.id, width, height, opaque });
  const rows = rowsOf(tiles, width);
  const saving = [];
  // The compare view enlarges the image itself for its bicubic side.
  const src = await ws[0].call({ op: "source", id: it.id });
  viewerOpen(width, height, scale);
  viewerSource(src.width, src.rgba);
  const choosing = performance.now();
  const gpu = (await computeFor(ws[0], it, tiles[0], name)) === "gpu";
  ui.status.dataset.computeChoiceMs = (performance.now() - choosing).toFixed(1); // for tests
  const paths = { webgpu: 0, wasm: 0 };
  let adapter = "", gpuError = "";
  const queue = tiles.slice();
  let done = 0, requested = 0;
  const t0 = performance.now();
  let shownAt = t0;
  // Two requests in flight per worker: the next tile is already queued
  // in the worker while this page shows the last one, so the worker never
  // waits for the page.
  const lanes = ws.flatMap((w) => [w, w]);
  try {
    await Promise.all(lanes.map(async (w) => {
      while (queue.length && !run.cancelled) {
        const tile = queue.shift();
        const loseGPU = gpu && gpuLoseAfter > 0 && requested++ === gpuLoseAfter;
        const r = await w.call({ op: "tile", id: it.id, tile, gpu, loseGPU });
        if (run.cancelled) return;
        paths[r.path === "webgpu" ? "webgpu" : "wasm"]++;
        adapter = r.adapter || adapter;
        gpuError = gpuError || r.gpuError || ""; // the first failure says why
        for (const strip of rows.put(r.tile, r.enhanced)) {
          const p = sv.call({ op: "saveRows", id: it.id, rgba: strip }, [strip.buffer]);
          p.catch(() => {}); // reported where the batch awaits them all
          saving.push(p);
        }
        viewerPut(r.tile, r.enhanced);
        done++;
        // A few updates a second: where the page is composited in software,
        // every change of the page costs the workers a full frame's CPU.
        const now = performance.now();
        if (now - shownAt >= progressEvery || done === tiles.length) {
          shownAt = now;
          // Time left from the measured rate, once there is one: the first
          // tiles include the workers' warm-up and say little.
          const perTile = (now - t0) / done;
          const left = done >= estimateAfterTiles && now - t0 >= 1000 && done < tiles.length
            ? ` · about ${formatSeconds(perTile * (tiles.length - done) / 1000)} left` : "";
          showProgress(done, tiles.length, `${label}${done} of ${tiles.length} tiles${left}`);
        }
      }
    }));
    if (run.cancelled) return;
    const seconds = (performance.now() - started) / 1000;
    ui.status.dataset.seconds = seconds.toFixed(3); // for benchmarks
    ui.status.textContent = label + (want.exact ? `Resizing to ${want.width}×${want.height}…` : "Saving…");
    await Promise.all(saving);
    const fin = await sv.call({ op: "saveFinish", id: it.id, toWidth: want.width, toHeight: want.height });
    const stem = it.name.replace(/\.[^.]*$/, "") || "image";
    const result = {
      width: want.width, height: want.height, png: new Blob([fin.file], { type: "image/png" }),
      base: want.exact ? `${stem}-${want.width}x${want.height}` : `${stem}-x${scale}`,
    };
    await encodeResult(result, label);
    // From the click to the download offered, for benchmarks.
    ui.status.dataset.totalSeconds = ((performance.now() - started) / 1000).toFixed(3);
    it.result = result;
    shown = it;
    setState(it, "done");
    const what = restored ? "blur and noise" : "JPEG artifacts";
    // At the Detailed look a hard JPEG, or pixels its network cannot
    // restore, go to a Faithful network: say which ran.
    const look = !detailed ? "" : ranDetailed ? ", look Detailed" : `, look Detailed (the ${restored ? "real-photo" : "JPEG-aware"} network restores this image)`;
    const denoised = (strength > 0 ? `, restore ${strength.toFixed(2)} for ${what}` : "") + look;
    ui.status.dataset.reading = reading || ""; // what Auto read, for tests
    const wasm = ws[0].simd ? "wasm SIMD" : "wasm";
    let using = paths.webgpu ? `WebGPU (${adapter})` : wasm;
    if (paths.webgpu && paths.wasm) using += ` and ${wasm} for ${paths.wasm} tile${paths.wasm > 1 ? "s" : ""}`;
    const failed = gpu && gpuError ? ` (the GPU failed: ${gpuError})` : "";
    ui.status.dataset.compute = paths.webgpu ? "webgpu" : "wasm"; // for tests
    ui.status.textContent = `${label}Done: ${result.width}×${result.height}${denoised} in ${formatSeconds(seconds)} with ${ws.length} worker${ws.length > 1 ? "s" : ""} using ${using}${failed} (${(width * height / 1e6 / seconds).toFixed(2)} MP/s).${reading ? ` Auto read: ${reading}.` : ""}`;
    updateButtons();
  } finally {
    if (!it.result) sv.call({ op: "saveCancel", id: it.id }).catch(() => {});
    // The file and the decoded image are not needed any more.
    for (const i of it.opened) pool[i].call({ op: "close", id: it.id }).catch(() => {});
    it.opened.clear();
    it.bytes = null;
  }
}

// rowsOf gathers the tiles of a result into complete rows of tiles, top to
// bottom, for the saver: put(tile, rgba) returns the rows (RGBA strips the
// result's width wide) that are complete and next in order.
function rowsOf(tiles, width) {
  const pending = new Map(); // y0 -> {y1, left, strip}
  for (const [, y0, , y1] of tiles) {
    const r = pending.get(y0) || { y1, left: 0, strip: null };
    r.left++;
    pending.set(y0, r);
  }
  let next = 0;
  return {
    put([x0, y0, x1, y1], rgba) {
      const r = pending.get(y0);
      if (!r.strip) r.strip = new Uint8Array(width * (r.y1 - y0) * 4);
      const w = x1 - x0;
      for (let y = y0; y < y1; y++) {
        const src = (y - y0) * w * 4;
        r.strip.set(rgba.subarray(src, src + w * 4), ((y - y0) * width + x0) * 4);
      }
      r.left--;
      const out = [];
      for (let n = pending.get(next); n && n.left === 0; n = pending.get(next)) {
        out.push(n.strip);
        pending.delete(next);
        next = n.y1;
      }
      return out;
    },
  };
}

// ---- the output file ------------------------------------------------------

const formats = {
  png: { type: "image/png", ext: "png" },
  jpeg: { type: "image/jpeg", ext: "jpg", lossy: true },
  webp: { type: "image/webp", ext: "webp", lossy: true },
};

// WebP is offered where the browser can encode it (canvas falls back to
// PNG where it cannot).
function canEncodeWebP() {
  const c = document.createElement("canvas");
  c.width = c.height = 1;
  return c.toDataURL("image/webp").startsWith("data:image/webp");
}
if (canEncodeWebP()) {
  const opt = ui.format.querySelector("option[value=webp]");
  opt.hidden = opt.disabled = false;
}

function chosenQuality() {
  return Math.min(100, Math.max(1, Math.round(Number(ui.quality.value) || 90)));
}

// encodeResult makes the download of a result in the chosen format from
// its PNG: as it is; JPEG in the saver, as the command line writes it;
// WebP with the browser's encoder (a canvas, which premultiplies alpha:
// fine for a lossy format).
async function encodeResult(result, label = "") {
  const fmt = ui.format.value in formats ? ui.format.value : "png";
  const f = formats[fmt];
  const q = chosenQuality();
  let blob = result.png;
  if (fmt !== "png") {
    ui.status.textContent = `${label}Saving as ${ui.format.selectedOptions[0].textContent}…`;
  }
  if (fmt === "jpeg") {
    const file = new Uint8Array(await result.png.arrayBuffer());
    const r = await saver().call({ op: "convert", id: 0, file, format: "jpeg", quality: q }, [file.buffer]);
    blob = new Blob([r.file], { type: f.type });
  } else if (fmt === "webp") {
    const bitmap = await createImageBitmap(result.png, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    blob = await canvas.convertToBlob({ type: f.type, quality: q / 100 });
  }
  if (result.url) URL.revokeObjectURL(result.url);
  result.blob = blob;
  result.url = URL.createObjectURL(blob);
  result.fileName = `${result.base}.${f.ext}`;
}

// A new format or quality re-encodes the results in hand, one after the
// other.
let encoding = Promise.resolve();
function formatChanged() {
  const lossy = !!formats[ui.format.value]?.lossy;
  ui.quality.hidden = !lossy;
  document.querySelector("label[for=quality]").hidden = !lossy;
  if (running) return;
  const done = items.filter((it) => it.result);
  if (!done.length) return;
  ui.download.hidden = true;
  ui.downloadAll.disabled = true;
  const said = ui.status.textContent;
  encoding = encoding.then(async () => {
    for (const it of done) {
      await encodeResult(it.result);
      setState(it, "done");
    }
    ui.status.textContent = said;
  }).catch((err) => showAlert(err.message)).finally(updateButtons);
}
ui.format.addEventListener("change", formatChanged);
ui.quality.addEventListener("change", formatChanged);

// downloadAll saves every result in one zip, put together in the saver
// (stored: the images are compressed already).
async function downloadAll() {
  const done = items.filter((it) => it.result);
  if (!done.length) return;
  ui.downloadAll.disabled = true;
  const said = ui.status.textContent;
  ui.status.textContent = `Putting ${done.length} images into a zip…`;
  try {
    await encoding;
    const id = nextId++;
    for (const it of done) {
      const file = new Uint8Array(await it.result.blob.arrayBuffer());
      await saver().call({ op: "zipAdd", id, name: it.result.fileName, file }, [file.buffer]);
    }
    const r = await saver().call({ op: "zipEnd", id });
    const url = URL.createObjectURL(new Blob([r.file], { type: "application/zip" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "upscaled.zip";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    ui.status.textContent = said;
  } catch (err) {
    showAlert(err.message);
  } finally {
    updateButtons();
  }
}

function formatSeconds(s) {
  return s < 60 ? `${Math.max(0, s).toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// ---- the viewer (an ebiten program in its own frame) ----------------------

// The page works before the viewer has loaded: what it misses is kept in
// `replay` and replayed when it is ready (and no longer kept once the
// viewer has it: its textures are the copy).
// A failure of the viewer never stops an enhancement: the result can still
// be downloaded.
let replay = null;
function viewerAPI() {
  try { return ui.viewer.contentWindow.upscalerViewer || null; } catch { return null; }
}
function viewerCall(f) {
  const v = viewerAPI();
  if (!v) return;
  try { f(v); } catch (err) { console.warn("compare view:", err); }
}
function viewerOpen(w, h, scale) {
  replay = { w, h, scale, source: null, tiles: [] };
  viewerCall((v) => v.open(w, h, scale));
}
// viewerSource gives the viewer the image to enlarge (RGBA, width pixels a
// row), in strips of rows.
function viewerSource(width, rgba) {
  if (!viewerAPI()) {
    replay.source = [width, rgba];
    return;
  }
  const strip = width * 4 * 256;
  viewerCall((v) => {
    for (let o = 0; o < rgba.length; o += strip) v.source(o / (width * 4), rgba.subarray(o, o + strip));
  });
}
function viewerPut(tile, enhanced) {
  const [x0, y0, x1, y1] = tile;
  if (!viewerAPI()) {
    replay.tiles.push([tile, enhanced]);
    return;
  }
  viewerCall((v) => v.put(x0, y0, x1 - x0, y1 - y0, enhanced));
}
ui.viewer.addEventListener("load", () => {
  ui.viewer.contentWindow.onViewerReady = () => {
    if (!replay) return;
    const { w, h, scale, source, tiles } = replay;
    replay.source = null;
    replay.tiles = [];
    viewerCall((v) => v.open(w, h, scale));
    if (source) viewerSource(...source);
    for (const t of tiles) viewerPut(...t);
  };
});

// ---- controls --------------------------------------------------------------

function updateButtons() {
  const name = `${ui.model.value}-x${ui.scale.value}`;
  const have = available && available[name];
  // The Detailed look where its network ships for the model and scale.
  ui.look.disabled = !have?.detailed;
  // Only networks with a strength input restore: the model's JPEG-aware
  // companion and its real-photo one (at either look), the model itself
  // (at the Faithful look) or the Detailed network itself.
  const detailed = ui.look.value === "detailed" && have?.detailed;
  ui.denoise.disabled = !have || !(have.companion || have.restore || (detailed ? available[baseName(have.detailed)]?.denoise : have.denoise));
  ui.enhance.disabled = !items.some((it) => it.state !== "failed") || !!running || !!reading || !have;
  ui.cancel.hidden = !running;
  const r = shown?.result;
  ui.download.hidden = !r?.url;
  if (r?.url) {
    ui.download.href = r.url;
    ui.download.download = r.fileName;
  }
  const results = items.filter((it) => it.result).length;
  ui.downloadAll.hidden = items.length < 2;
  ui.downloadAll.disabled = results < 1 || !!running;
  ui.file.disabled = false;
}

function showAlert(text) {
  ui.alert.textContent = text;
  ui.alert.hidden = false;
}
function hideAlert() {
  ui.alert.hidden = true;
  ui.alert.textContent = "";
}

function showProgress(done, total, text) {
  ui.progress.hidden = false;
  ui.progress.setAttribute("aria-valuemax", String(total));
  ui.progress.setAttribute("aria-valuenow", String(done));
  ui.progress.setAttribute("aria-valuetext", text);
  ui.progress.querySelector(".bar").style.width = `${(100 * done) / total}%`;
  ui.progress.querySelector(".label").textContent = text;
}
function hideProgress() {
  ui.progress.hidden = true;
}

ui.file.addEventListener("change", () => choose(ui.file.files));
ui.scale.addEventListener("change", () => {
  updateModelChoices();
  describeChosen();
});
for (const el of [ui.width, ui.height]) el.addEventListener("input", describeChosen);
ui.model.addEventListener("change", updateButtons);
ui.look.addEventListener("change", updateButtons);
ui.enhance.addEventListener("click", enhance);
ui.downloadAll.addEventListener("click", downloadAll);
ui.cancel.addEventListener("click", () => {
  if (running) running.cancelled = true;
  ui.status.textContent = "Cancelling…";
});
ui.fit.addEventListener("click", () => viewerCall((v) => v.fit()));
ui.actual.addEventListener("click", () => viewerCall((v) => v.actual()));

// Drop an image anywhere on the page, or paste one.
document.addEventListener("dragover", (e) => { e.preventDefault(); ui.stage.classList.add("dragging"); });
document.addEventListener("dragleave", () => ui.stage.classList.remove("dragging"));
document.addEventListener("drop", (e) => {
  e.preventDefault();
  ui.stage.classList.remove("dragging");
  choose(e.dataTransfer?.files);
});
document.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) choose(files);
});

// Works offline after the first visit.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {});
}

loadIndex();
workers(); // start the compute code loading while the person chooses
