// Starts the compare viewer (gen/viewer.wasm, ebiten) in this frame. The
// viewer then exposes window.upscalerViewer and calls onViewerReady.
"use strict";
(async () => {
  const go = new Go();
  const url = "gen/viewer.wasm";
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(fetch(url), go.importObject);
  } catch (e) {
    const bytes = await (await fetch(url)).arrayBuffer();
    result = await WebAssembly.instantiate(bytes, go.importObject);
  }
  go.run(result.instance);
})();
