// The page: picks an image, spreads its tiles over a pool of compute
// workers (worker.js), shows the result in the compare viewer
// (viewer.html) and offers it for download. Images never leave the device:
// the only requests this page makes are for its own code and weights.

const $ = (id) => document.getElementById(id);
const ui = {
  file: $("file"), scale: $("scale"), width: $("width"), height: $("height"), model: $("model"), denoise: $("denoise"),
  format: $("format"), quality: $("quality"),
  enhance: $("enhance"), cancel: $("cancel"),
  download: $("download"), alert: $("alert"), progress: $("progress"), status: $("status"),
  stage: $("stage"), viewer: $("viewer"), fit: $("fit"), actual: $("actual"),
};
const modelLabels = { general: "General", portrait: "Portrait" };

// ---- workers -------------------------------------------------------------

// ComputeWorker wraps a Web Worker running the Go compute code. Requests are
// answered in order, so a FIFO of pending promises matches answers to them.
class ComputeWorker {
  constructor() {
    this.w = new Worker("worker.js");
    this.pending = [];
    this.models = new Set();
    this.booted = new Promise((resolve, reject) => { this.boot = { resolve, reject }; });
    this.w.onmessage = (e) => this.receive(e.data);
    this.w.onerror = (e) => this.fail(new Error("A compute worker failed: " + (e.message || "unknown error")));
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

// One worker per core but one, at least one; ?workers=N overrides it (for
// benchmarks).
const poolSize = Number(new URLSearchParams(location.search).get("workers")) ||
  Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
let pool = null;
function workers() {
  if (!pool) pool = Array.from({ length: poolSize }, () => new ComputeWorker());
  return pool;
}

// ---- weights -------------------------------------------------------------

let available = null; // {"general-x2": {model, scale, preset, file, valPSNR, denoise}, ...}
async function loadIndex() {
  try {
    const res = await fetch("weights/index.json");
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    const list = await res.json();
    available = Object.fromEntries(list.map((m) => [`${m.model}-x${m.scale}`, m]));
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

function label(name) {
  const [model, scale] = name.split("-x");
  return `${modelLabels[model] || model} ×${scale}`;
}

// ---- the chosen image ----------------------------------------------------

let chosen = null; // {id, name, bytes, width, height}
let nextId = 1;
let running = null; // the enhancement under way
let result = null; // {width, height, enhanced, url, base}

async function choose(file) {
  if (!file) return;
  hideAlert();
  if (running) running.cancelled = true;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const id = nextId++;
  ui.status.textContent = `Reading ${file.name}…`;
  try {
    const info = await workers()[0].call({ op: "open", id, file: bytes, preview: true });
    if (chosen) closeJob(chosen.id);
    chosen = { id, name: file.name, bytes, width: info.width, height: info.height, quality: info.quality, autoLevel: info.autoLevel, opened: new Set([0]) };
    clearResult();
    // The image at once, shrunk to about what the compare view shows.
    viewerOpen(info.previewWidth, info.previewHeight);
    viewerPut([0, 0, info.previewWidth, info.previewHeight], info.preview, info.preview);
    describeChosen();
  } catch (err) {
    chosen = null;
    ui.status.textContent = "Choose an image, drop it here, or paste it.";
    showAlert(`${file.name}: ${err.message}`);
  }
  updateButtons();
}

// describeChosen says what the chosen image is and what it will become at
// the chosen scale.
function describeChosen() {
  if (!chosen || running) return;
  const jpeg = chosen.quality ? `, JPEG quality about ${chosen.quality}: ${chosen.autoLevel}` : "";
  const t = target();
  if (t.error) {
    ui.status.textContent = `${chosen.name}: ${chosen.width}×${chosen.height}${jpeg}. ${t.error}`;
    return;
  }
  const how = t.exact ? ` (the model at ${t.scale}×, then shrunk)` : ` at ${t.scale}×`;
  ui.status.textContent = `${chosen.name}: ${chosen.width}×${chosen.height}${jpeg} → ${t.width}×${t.height}${how}. Press Enhance.`;
}

// target is the result asked for the chosen image: the Scale, or with a
// Width or Height the exact size and the smallest scale whose weights
// exist that reaches it (core.FitScale's rule, as the command line's
// -width and -height).
function target() {
  const w = Math.round(Number(ui.width.value) || 0), h = Math.round(Number(ui.height.value) || 0);
  if (!chosen || (w <= 0 && h <= 0)) {
    const scale = Number(ui.scale.value);
    return { scale, width: (chosen?.width || 0) * scale, height: (chosen?.height || 0) * scale, exact: false };
  }
  const tw = w > 0 ? w : Math.max(1, Math.round(chosen.width * h / chosen.height));
  const th = h > 0 ? h : Math.max(1, Math.round(chosen.height * w / chosen.width));
  const scales = [2, 3, 4].filter((s) => available && available[`${ui.model.value}-x${s}`]);
  const scale = scales.find((s) => chosen.width * s >= tw && chosen.height * s >= th);
  if (!scale) {
    return { error: `${tw}×${th} is more than ${scales.at(-1) || 0} times the image: choose a smaller size.` };
  }
  return { scale, width: tw, height: th, exact: tw !== chosen.width * scale || th !== chosen.height * scale };
}

function closeJob(id) {
  for (const w of pool || []) w.call({ op: "close", id }).catch(() => {});
}

// ---- enhancing -----------------------------------------------------------

// progressEvery is the shortest time between two progress updates, in ms.
const progressEvery = 400;
// estimateAfterTiles is how many tiles must be done (and a second gone)
// before the time left is shown.
const estimateAfterTiles = 3;

async function enhance() {
  if (!chosen || running) return;
  hideAlert();
  clearResult();
  const job = chosen;
  const want = target();
  if (want.error) {
    showAlert(want.error);
    return;
  }
  const scale = want.scale;
  const name = `${ui.model.value}-x${scale}`;
  const run = { cancelled: false };
  running = run;
  updateButtons();
  showProgress(0, 1, "Loading…");
  const started = performance.now();
  try {
    const weights = await weightsFor(name);
    const ws = workers();
    // Every worker gets the model and its own decoded copy of the image.
    const infos = await Promise.all(ws.map(async (w, i) => {
      if (!w.models.has(name)) {
        await w.call({ op: "model", id: 0, name, weights });
        w.models.add(name);
      }
      if (!job.opened.has(i)) {
        await w.call({ op: "open", id: job.id, file: job.bytes });
        job.opened.add(i);
      }
      return w.call({ op: "start", id: job.id, model: name, denoise: ui.denoise.value });
    }));
    const { width, height, tiles, strength } = infos[0];
    // The one full copy of the result in the page: the viewer has its own
    // (its textures), and the bicubic side lives only there.
    const out = { width, height, enhanced: new Uint8ClampedArray(width * height * 4) };
    viewerOpen(width, height);
    const queue = tiles.slice();
    let done = 0;
    const t0 = performance.now();
    let shownAt = t0;
    // Two requests in flight per worker: the next tile is already queued
    // in the worker while this page shows the last one, so the worker never
    // waits for the page.
    const lanes = ws.flatMap((w) => [w, w]);
    await Promise.all(lanes.map(async (w) => {
      while (queue.length && !run.cancelled) {
        const tile = queue.shift();
        const r = await w.call({ op: "tile", id: job.id, tile });
        if (run.cancelled) return;
        place(out, r.tile, r.enhanced);
        viewerPut(r.tile, r.enhanced, r.bicubic);
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
          showProgress(done, tiles.length, `${done} of ${tiles.length} tiles${left}`);
        }
      }
    }));
    if (run.cancelled) {
      ui.status.textContent = "Cancelled.";
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    ui.status.dataset.seconds = seconds.toFixed(3); // for benchmarks
    out.base = `${job.name.replace(/\.[^.]*$/, "") || "image"}-x${scale}`;
    if (want.exact) {
      // The exact size asked: the result shrunk in a worker, as the
      // command line does; the compare view keeps the enlargement.
      ui.status.textContent = `Resizing to ${want.width}×${want.height}…`;
      const r = await ws[0].call({ op: "resize", id: 0, width, height, rgba: new Uint8Array(out.enhanced.buffer), toWidth: want.width, toHeight: want.height });
      out.enhanced = new Uint8ClampedArray(r.rgba.buffer);
      out.width = want.width;
      out.height = want.height;
      out.base = `${job.name.replace(/\.[^.]*$/, "") || "image"}-${want.width}x${want.height}`;
    }
    await encodeResult(out);
    // From the click to the download offered, for benchmarks.
    ui.status.dataset.totalSeconds = ((performance.now() - started) / 1000).toFixed(3);
    result = out;
    const denoised = strength > 0 ? `, denoise ${strength.toFixed(2)}` : "";
    ui.status.textContent = `Done: ${out.width}×${out.height}${denoised} in ${formatSeconds(seconds)} with ${ws.length} worker${ws.length > 1 ? "s" : ""}${ws[0].simd ? " using wasm SIMD" : ""} (${(width * height / 1e6 / seconds).toFixed(2)} MP/s).`;
  } catch (err) {
    showAlert(err.message);
    ui.status.textContent = "";
  } finally {
    if (running === run) running = null;
    hideProgress();
    updateButtons();
  }
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

// encodeResult makes the download of a result in the chosen format: PNG
// and JPEG in a worker, as the command line writes them; WebP with the
// browser's encoder (a canvas, which premultiplies alpha: fine for a lossy
// format).
async function encodeResult(out) {
  const f = formats[ui.format.value] || formats.png;
  const q = chosenQuality();
  const said = ui.status.textContent;
  ui.status.textContent = `Saving as ${ui.format.selectedOptions[0].textContent}…`;
  let blob;
  if (ui.format.value === "webp") {
    const canvas = new OffscreenCanvas(out.width, out.height);
    canvas.getContext("2d").putImageData(new ImageData(out.enhanced, out.width, out.height), 0, 0);
    blob = await canvas.convertToBlob({ type: f.type, quality: q / 100 });
  } else {
    const r = await workers()[0].call({ op: "encode", id: 0, width: out.width, height: out.height,
      rgba: new Uint8Array(out.enhanced.buffer), format: ui.format.value, quality: q });
    blob = new Blob([r.file], { type: f.type });
  }
  ui.status.textContent = said;
  if (out.url) URL.revokeObjectURL(out.url);
  out.url = URL.createObjectURL(blob);
  ui.download.href = out.url;
  ui.download.download = `${out.base}.${f.ext}`;
}

// A new format or quality re-encodes a result in hand, one encoding after
// the other.
let encoding = Promise.resolve();
function formatChanged() {
  const lossy = !!formats[ui.format.value]?.lossy;
  ui.quality.hidden = !lossy;
  document.querySelector("label[for=quality]").hidden = !lossy;
  if (!result || running) return;
  const out = result;
  ui.download.hidden = true;
  encoding = encoding.then(() => encodeResult(out)).catch((err) => showAlert(err.message)).finally(updateButtons);
}
ui.format.addEventListener("change", formatChanged);
ui.quality.addEventListener("change", formatChanged);

// place copies an RGBA tile into the full result.
function place(out, [x0, y0, x1, y1], enhanced) {
  const w = x1 - x0;
  for (let y = y0; y < y1; y++) {
    const src = (y - y0) * w * 4;
    out.enhanced.set(enhanced.subarray(src, src + w * 4), (y * out.width + x0) * 4);
  }
}

function clearResult() {
  if (result?.url) URL.revokeObjectURL(result.url);
  result = null;
  ui.download.removeAttribute("href");
}

function formatSeconds(s) {
  return s < 60 ? `${Math.max(0, s).toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// ---- the viewer (an ebiten program in its own frame) ----------------------

// The page works before the viewer has loaded: what it misses is kept in
// `shown` and replayed when it is ready (and no longer kept once the
// viewer has it: its textures are the copy).
// A failure of the viewer never stops an enhancement: the result can still
// be downloaded.
let shown = null;
function viewerAPI() {
  try { return ui.viewer.contentWindow.upscalerViewer || null; } catch { return null; }
}
function viewerCall(f) {
  const v = viewerAPI();
  if (!v) return;
  try { f(v); } catch (err) { console.warn("compare view:", err); }
}
function viewerOpen(w, h) {
  shown = { w, h, tiles: [] };
  viewerCall((v) => v.open(w, h));
}
function viewerPut(tile, enhanced, bicubic) {
  const [x0, y0, x1, y1] = tile;
  if (!viewerAPI()) {
    shown.tiles.push([tile, enhanced, bicubic]);
    return;
  }
  viewerCall((v) => v.put(x0, y0, x1 - x0, y1 - y0, enhanced, bicubic));
}
ui.viewer.addEventListener("load", () => {
  ui.viewer.contentWindow.onViewerReady = () => {
    if (!shown) return;
    viewerCall((v) => {
      v.open(shown.w, shown.h);
      for (const [[x0, y0, x1, y1], e, b] of shown.tiles) v.put(x0, y0, x1 - x0, y1 - y0, e, b);
      shown.tiles = [];
    });
  };
});

// ---- controls --------------------------------------------------------------

function updateButtons() {
  const have = available && available[`${ui.model.value}-x${ui.scale.value}`];
  // Only networks with a strength input remove JPEG artifacts.
  ui.denoise.disabled = !have || !have.denoise;
  ui.enhance.disabled = !chosen || !!running || !have;
  ui.cancel.hidden = !running;
  ui.download.hidden = !result;
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

ui.file.addEventListener("change", () => choose(ui.file.files[0]));
ui.scale.addEventListener("change", () => {
  updateModelChoices();
  describeChosen();
});
for (const el of [ui.width, ui.height]) el.addEventListener("input", describeChosen);
ui.model.addEventListener("change", updateButtons);
ui.enhance.addEventListener("click", enhance);
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
  choose(e.dataTransfer?.files?.[0]);
});
document.addEventListener("paste", (e) => {
  const file = [...(e.clipboardData?.files || [])][0];
  if (file) choose(file);
});

// Works offline after the first visit.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {});
}

loadIndex();
workers(); // start the compute code loading while the person chooses
