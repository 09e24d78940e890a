// WebGPU compute for the networks: each layer of a network at the input's
// resolution as a compute shader over a tile and its halo, all layers of a
// tile in one submission, the last layer's result read back. The Go worker
// gathers a tile's input and turns the result into pixels (its ops
// gpuLayers, tileInput, tileFrom); the wasm kernels remain the fallback.
"use strict";

// One convolution layer, "valid" except on the sides that lie on the image
// border, where it keeps the size and reads the input's edge pixel instead
// (a clamped coordinate): what the CPU's inference does (network.Inferer).
// One invocation per output pixel and filter; sums in f32, in the order of
// the weights (input channel, row, column).
const convWGSL = `
struct Params {
  inW: u32, inH: u32, outW: u32, outH: u32,
  offX: u32, offY: u32, cin: u32, cout: u32,
  size: u32, act: u32, pad0: u32, pad1: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> slope: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let x = id.x;
  let y = id.y;
  let o = id.z;
  if (x >= p.outW || y >= p.outH || o >= p.cout) { return; }
  let r = i32(p.size / 2u);
  let plane = p.inW * p.inH;
  var sum = bias[o];
  for (var c = 0u; c < p.cin; c++) {
    for (var dy = 0; dy < i32(p.size); dy++) {
      let sy = u32(clamp(i32(y + p.offY) + dy - r, 0, i32(p.inH) - 1));
      for (var dx = 0; dx < i32(p.size); dx++) {
        let sx = u32(clamp(i32(x + p.offX) + dx - r, 0, i32(p.inW) - 1));
        sum += weight[((o * p.cin + c) * p.size + u32(dy)) * p.size + u32(dx)] * src[c * plane + sy * p.inW + sx];
      }
    }
  }
  if (p.act == 1u) {
    sum = max(sum, 0.0);
  } else if (p.act == 2u && sum <= 0.0) {
    sum = sum * slope[o];
  }
  dst[(o * p.outH + y) * p.outW + x] = sum;
}`;

// UpscalerGPU owns a WebGPU device and the networks uploaded to it.
class UpscalerGPU {
  // adapter asks for the WebGPU adapter: null where WebGPU or an adapter
  // is missing (it never throws for that). Cheap: no device yet.
  static async adapter() {
    try {
      return (self.navigator && navigator.gpu && await navigator.gpu.requestAdapter()) || null;
    } catch (e) {
      return null;
    }
  }

  // nameOf names an adapter as it names itself: "google swiftshader".
  static nameOf(adapter) {
    const info = adapter.info || {};
    return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
  }

  // open returns a ready UpscalerGPU on an adapter, or null if it has no
  // device to give.
  static async open(adapter) {
    try {
      return adapter ? new UpscalerGPU(adapter, await adapter.requestDevice()) : null;
    } catch (e) {
      return null;
    }
  }

  constructor(adapter, device) {
    this.adapterName = UpscalerGPU.nameOf(adapter);
    this.device = device;
    this.lost = false;
    device.lost.then(() => { this.lost = true; });
    this.pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code: convWGSL }), entryPoint: "main" },
    });
    this.nets = new Map(); // key -> uploaded layers
    this.free = new Map(); // "usage:size" -> buffers a finished tile gave back
    this.none = this.buffer(new Float32Array(1), GPUBufferUsage.STORAGE); // the slopes of ReLU layers
  }

  // buffer makes a buffer holding data (a Float32Array or Uint32Array).
  buffer(data, usage) {
    const b = this.device.createBuffer({ size: Math.max(4, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  // take returns a buffer of size bytes for usage: one a finished tile gave
  // back, or a new one. Tiles of one image mostly share their sizes.
  take(size, usage) {
    const list = this.free.get(`${usage}:${size}`);
    return list?.pop() || this.device.createBuffer({ size, usage });
  }

  // give keeps a buffer for a later tile (at most a few of each size).
  give(b) {
    const key = `${b.usage}:${b.size}`;
    const list = this.free.get(key) || [];
    this.free.set(key, list);
    if (list.length < 4) list.push(b);
    else b.destroy();
  }

  // load uploads a network's layers (the worker's gpuLayers answer) once.
  load(key, layers) {
    if (this.nets.has(key)) return;
    this.nets.set(key, layers.map((l) => ({
      size: l.size, cin: l.in, cout: l.out, act: l.last ? 0 : (l.slope ? 2 : 1),
      weight: this.buffer(l.weight, GPUBufferUsage.STORAGE),
      bias: this.buffer(l.bias, GPUBufferUsage.STORAGE),
      slope: l.slope ? this.buffer(l.slope, GPUBufferUsage.STORAGE) : this.none,
    })));
  }

  // run computes network key on x (its input planes, w x h each) whose
  // sides edges = [left, top, right, bottom] lie on the image border. It
  // returns the last layer's planes, tight, and where they lie: [x0, y0,
  // x1, y1] in x's coordinates.
  async run(key, x, w, h, edges) {
    if (this.lost) throw new Error("the GPU device was lost");
    const net = this.nets.get(key);
    const dev = this.device;
    const used = [];
    const take = (size, usage) => {
      const b = this.take(size, usage);
      used.push(b);
      return b;
    };
    let rect = [0, 0, w, h];
    let src = take(x.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    dev.queue.writeBuffer(src, 0, x);
    const enc = dev.createCommandEncoder();
    for (const l of net) {
      const r = l.size >> 1;
      const out = [rect[0] + (edges[0] ? 0 : r), rect[1] + (edges[1] ? 0 : r), rect[2] - (edges[2] ? 0 : r), rect[3] - (edges[3] ? 0 : r)];
      const ow = out[2] - out[0], oh = out[3] - out[1];
      if (ow <= 0 || oh <= 0) throw new Error("the tile is smaller than the network's reach");
      const params = take(48, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      dev.queue.writeBuffer(params, 0, new Uint32Array([rect[2] - rect[0], rect[3] - rect[1], ow, oh,
        out[0] - rect[0], out[1] - rect[1], l.cin, l.cout, l.size, l.act, 0, 0]));
      const dst = take(4 * l.cout * ow * oh, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
      const group = dev.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [params, src, l.weight, l.bias, l.slope, dst].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const pass = enc.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(Math.ceil(ow / 8), Math.ceil(oh / 8), l.cout);
      pass.end();
      src = dst;
      rect = out;
    }
    const size = 4 * net[net.length - 1].cout * (rect[2] - rect[0]) * (rect[3] - rect[1]);
    const read = take(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    enc.copyBufferToBuffer(src, 0, read, 0, size);
    dev.queue.submit([enc.finish()]);
    let ok = false;
    try {
      await read.mapAsync(GPUMapMode.READ, 0, size);
      const out = new Float32Array(read.getMappedRange(0, size).slice(0));
      read.unmap();
      ok = true;
      return { out, rect };
    } finally {
      for (const b of used) {
        if (ok) this.give(b);
        else b.destroy();
      }
    }
  }
}
self.UpscalerGPU = UpscalerGPU;
