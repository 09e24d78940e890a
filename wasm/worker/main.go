//go:build js

// Command worker is the page's compute worker: a Web Worker runs it, posts
// it messages, and posts its answers back (site/worker.js). It imports the
// pipeline and its packages only (core, core/imaging, core/kernels): ebiten
// panics at init outside a page.
package main

import (
	"image"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
	"github.com/srcnn-web/upscaler/wasm/simd"
)

func main() {
	// A WebAssembly program's memory only grows: collect garbage before the
	// heap doubles, so its peak stays near what is live.
	debug.SetGCPercent(gcPercent)
	// worker.js instantiates the SIMD kernels on this program's memory
	// before starting it, where the browser supports wasm SIMD.
	module := js.Global().Get("upscalerSIMD")
	useSIMD := module.Type() == js.TypeObject
	if useSIMD {
		kern, offs, row := simdKernels(module)
		kernels.SetMatMul(simd.MatMul(kern), true)
		kernels.SetConv(simd.Conv(kern, offs, row))
	}
	s, sv := NewSession(), NewSaver()
	js.Global().Set("upscalerWorker", js.FuncOf(func(this js.Value, args []js.Value) any {
		return handle(s, sv, args[0])
	}))
	js.Global().Call("postMessage", map[string]any{"op": "booted", "simd": useSIMD})
	select {}
}

// handle answers one message. Every answer is {op, id, ...} or {op, id,
// error}; byte arrays travel as Uint8Array and are listed in transfer.
func handle(s *Session, sv *Saver, msg js.Value) (reply any) {
	op, id := msg.Get("op").String(), msg.Get("id").Int()
	answer := map[string]any{"op": op, "id": id}
	fail := func(err error) any {
		answer["error"] = err.Error()
		return answer
	}
	// file answers with a file's bytes (transferred), or the error.
	file := func(data []byte, err error) any {
		if err != nil {
			return fail(err)
		}
		p := toJS(data)
		answer["file"], answer["transfer"] = p, []any{p.Get("buffer")}
		return answer
	}
	defer func() {
		if r := recover(); r != nil {
			answer["error"] = "internal error in the worker"
			reply = answer
		}
	}()
	switch op {
	case "model":
		if err := s.LoadModel(msg.Get("name").String(), bytesOf(msg.Get("weights"))); err != nil {
			return fail(err)
		}
	case "open":
		info, err := s.Open(id, bytesOf(msg.Get("file")))
		if err != nil {
			return fail(err)
		}
		answer["width"], answer["height"] = info.Size.X, info.Size.Y
		answer["quality"], answer["auto"], answer["autoLevel"] = info.Quality, info.Auto, core.DenoiseName(info.Auto)
		if msg.Get("preview").Truthy() {
			p, err := s.Preview(id)
			if err != nil {
				return fail(err)
			}
			pix := toJS(p.Pix)
			answer["preview"], answer["previewWidth"], answer["previewHeight"] = pix, p.Rect.Dx(), p.Rect.Dy()
			answer["transfer"] = []any{pix.Get("buffer")}
		}
	case "start":
		denoise := "auto"
		if d := msg.Get("denoise"); d.Type() == js.TypeString {
			denoise = d.String()
		}
		info, err := s.Start(id, msg.Get("model").String(), denoise)
		if err != nil {
			return fail(err)
		}
		tiles := make([]any, len(info.Tiles))
		for i, r := range info.Tiles {
			tiles[i] = []any{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}
		}
		answer["width"], answer["height"], answer["tiles"], answer["strength"] = info.Width, info.Height, tiles, info.Strength
		answer["opaque"], answer["restore"], answer["reading"], answer["detailed"] = info.Opaque, info.Restore, info.Reading, info.Detailed
	case "tile":
		t := msg.Get("tile")
		enh, err := s.Tile(id, rectOf(t))
		if err != nil {
			return fail(err)
		}
		e := toJS(enh)
		answer["tile"], answer["enhanced"], answer["transfer"] = t, e, []any{e.Get("buffer")}
	case "gpuLayers":
		key, layers, err := s.GPULayers(id)
		if err != nil {
			return fail(err)
		}
		var ls, transfer []any
		for _, l := range layers {
			w, b := f32ToJS(l.Weight), f32ToJS(l.Bias)
			layer := map[string]any{"size": l.Size, "in": l.In, "out": l.Out, "weight": w, "bias": b, "last": l.Last}
			transfer = append(transfer, w.Get("buffer"), b.Get("buffer"))
			if l.Slope != nil {
				sl := f32ToJS(l.Slope)
				layer["slope"] = sl
				transfer = append(transfer, sl.Get("buffer"))
			}
			ls = append(ls, layer)
		}
		answer["key"], answer["layers"], answer["transfer"] = key, ls, transfer
	case "tileInput":
		in, err := s.TileInput(id, rectOf(msg.Get("tile")))
		if err != nil {
			return fail(err)
		}
		x := f32ToJS(in.X)
		e := in.Edges
		answer["tile"], answer["x"], answer["width"], answer["height"] = msg.Get("tile"), x, in.W, in.H
		answer["edges"] = []any{e.Left, e.Top, e.Right, e.Bottom}
		answer["transfer"] = []any{x.Get("buffer")}
	case "tileFrom":
		t := msg.Get("tile")
		enh, err := s.TileFrom(id, rectOf(t), f32Of(msg.Get("out")), rectOf(msg.Get("rect")))
		if err != nil {
			return fail(err)
		}
		e := toJS(enh)
		answer["tile"], answer["enhanced"], answer["transfer"] = t, e, []any{e.Get("buffer")}
	case "source":
		img, err := s.Source(id)
		if err != nil {
			return fail(err)
		}
		pix := toJS(img.Pix)
		answer["width"], answer["height"], answer["rgba"] = img.Rect.Dx(), img.Rect.Dy(), pix
		answer["transfer"] = []any{pix.Get("buffer")}
	case "saveStart":
		if err := sv.Start(id, msg.Get("width").Int(), msg.Get("height").Int(), msg.Get("opaque").Truthy()); err != nil {
			return fail(err)
		}
	case "saveRows":
		if err := sv.Rows(id, bytesOf(msg.Get("rgba"))); err != nil {
			return fail(err)
		}
	case "saveFinish":
		return file(sv.Finish(id, intOr(msg.Get("toWidth"), 0), intOr(msg.Get("toHeight"), 0)))
	case "saveCancel":
		sv.Cancel(id)
	case "convert":
		format := "png"
		if f := msg.Get("format"); f.Type() == js.TypeString {
			format = f.String()
		}
		return file(Convert(bytesOf(msg.Get("file")), format, intOr(msg.Get("quality"), imaging.DefaultJPEGQuality)))
	case "zipAdd":
		if err := sv.ZipAdd(id, msg.Get("name").String(), bytesOf(msg.Get("file"))); err != nil {
			return fail(err)
		}
	case "zipEnd":
		return file(sv.ZipEnd(id))
	case "close":
		s.Close(id)
	case "bench":
		res := map[string]any{}
		for k, v := range BenchKernels(KernelShapes, 300*time.Millisecond) {
			res[k] = v
		}
		answer["gflops"] = res
	default:
		answer["error"] = "unknown message " + op
	}
	return answer
}

// rectOf reads a rectangle sent as [x0, y0, x1, y1].
func rectOf(v js.Value) image.Rectangle {
	return image.Rect(v.Index(0).Int(), v.Index(1).Int(), v.Index(2).Int(), v.Index(3).Int())
}

// f32ToJS copies floats into a new Float32Array.
func f32ToJS(x []float32) js.Value {
	if len(x) == 0 {
		return js.Global().Get("Float32Array").New(0)
	}
	u8 := toJS(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x)))
	return js.Global().Get("Float32Array").New(u8.Get("buffer"))
}

// f32Of copies a Float32Array into Go.
func f32Of(v js.Value) []float32 {
	x := make([]float32, v.Get("length").Int())
	if len(x) > 0 {
		u8 := js.Global().Get("Uint8Array").New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
		js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x)), u8)
	}
	return x
}

// intOr is a message's number, or def if it has none.
func intOr(v js.Value, def int) int {
	if v.Type() == js.TypeNumber {
		return v.Int()
	}
	return def
}

// bytesOf copies a Uint8Array or ArrayBuffer into Go.
func bytesOf(v js.Value) []byte {
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func toJS(b []byte) js.Value {
	v := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(v, b)
	return v
}

// simdKernels call the SIMD module on Go's own memory: a slice's address
// in linear memory is its pointer. The slices stay alive across the call,
// and heap objects do not move in Go.
func simdKernels(exports js.Value) (kern simd.Kernel, offs, row simd.OffsetKernel) {
	gemm := exports.Get("gemm")
	kern = func(panels, blocks, k int, a, b []float32, ldb int, c []float32, ldc int) {
		gemm.Invoke(panels, blocks, k, addr(a), addr(b), ldb, addr(c), ldc, 0, 0)
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
		runtime.KeepAlive(c)
	}
	withOffsets := func(f js.Value) simd.OffsetKernel {
		return func(panels, blocks, k int, a, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
			flag := 0
			if relu {
				flag = 1
			}
			f.Invoke(panels, blocks, k, addr(a), addr(b), int(uintptr(unsafe.Pointer(unsafe.SliceData(boff)))), addr(c), ldc, addr(bias), flag)
			runtime.KeepAlive(a)
			runtime.KeepAlive(b)
			runtime.KeepAlive(boff)
			runtime.KeepAlive(c)
			runtime.KeepAlive(bias)
		}
	}
	return kern, withOffsets(exports.Get("gemmoff")), withOffsets(exports.Get("gemmoff1"))
}

func addr(s []float32) int { return int(uintptr(unsafe.Pointer(unsafe.SliceData(s)))) }

// gcPercent is the heap growth (GOGC) between collections.
const gcPercent = 25
