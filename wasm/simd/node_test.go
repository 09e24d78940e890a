//go:build js

package simd

import (
	"fmt"
	"syscall/js"
	"testing"
	"time"
)

// nodeModule instantiates the module in the JavaScript engine running the
// test (V8 under node) on a memory of its own, and returns its exports and
// that memory's buffer.
func nodeModule() (exports, buffer js.Value) {
	wa := js.Global().Get("WebAssembly")
	mem := wa.Get("Memory").New(map[string]any{"initial": 2048})
	bytes := js.Global().Get("Uint8Array").New(len(Module()))
	js.CopyBytesToJS(bytes, Module())
	inst := wa.Get("Instance").New(wa.Get("Module").New(bytes), map[string]any{"env": map[string]any{"memory": mem}})
	return inst.Get("exports"), mem.Get("buffer")
}

// BenchmarkSIMDKernel reports the module's GFLOP/s in V8 on the GEMMs of
// SRCNN layers over a 140x140 tile (M filters, K inputs x k x k, N pixels).
func BenchmarkSIMDKernel(b *testing.B) {
	exports, buffer := nodeModule()
	gemm, f32 := exports.Get("gemm"), js.Global().Get("Float32Array").New(buffer)
	for _, s := range []struct {
		name    string
		m, k, n int
	}{
		{"9x9x1to64", 64, 81, 19600}, {"1x1x64to32", 32, 64, 19600}, {"5x5x64to32", 32, 1600, 19600},
		{"3x3x16to16", 16, 144, 19600}, {"3x3x128to64", 64, 1152, 19600},
	} {
		aAt, bAt := 1024, 1024+4*s.m*s.k
		cAt := bAt + 4*s.k*s.n
		for i := 0; i < (cAt+4*s.m*s.n)/4; i++ {
			f32.SetIndex(i, float64(i%7)*0.1)
		}
		b.Run(s.name, func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				gemm.Invoke(s.m/mr, s.n/nr, s.k, aAt, bAt, s.n, cAt, s.n, 0, 0)
			}
			b.ReportMetric(2*float64(s.m/mr*mr*s.k*(s.n/nr*nr))*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSIMDConv reports gemmoff's GFLOP/s in V8 on a 3 x 3 convolution
// of 16 to 16 channels read from edge-padded planes, as core's
// inference calls it, for tiles of several sides: the wider the rows,
// the less of the three input rows of all channels stays in L1.
func BenchmarkSIMDConv(b *testing.B) {
	exports, buffer := nodeModule()
	gemmoff := exports.Get("gemmoff")
	i32, f32 := js.Global().Get("Int32Array").New(buffer), js.Global().Get("Float32Array").New(buffer)
	const m, ch = 16, 16
	k := ch * 9
	for _, side := range []int{64, 140, 272} {
		pw := side + 2
		n := side * pw
		aAt, tAt := 1024, 1024+4*m*k
		bAt := tAt + 4*k
		cAt := bAt + 4*(ch*pw*pw+16)
		for i := aAt / 4; i < tAt/4; i++ {
			f32.SetIndex(i, float64(i%7)*0.1)
		}
		for p := 0; p < k; p++ {
			c, dy, dx := p/9, p/3%3, p%3
			i32.SetIndex(tAt/4+p, c*pw*pw+dy*pw+dx)
		}
		b.Run(fmt.Sprintf("3x3x16to16/side%d", side), func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				gemmoff.Invoke(m/mr, n/nr, k, aAt, bAt, tAt, cAt, n, aAt, 1)
			}
			b.ReportMetric(2*float64(m*k*(n/nr*nr))*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
		// A one-filter layer (the network's last): a 4-row panel with three
		// zero rows, or gemmoff1's single row; GFLOP/s of the one row.
		for _, f := range []struct {
			name   string
			kernel js.Value
			width  int
		}{{"panel", gemmoff, nr}, {"row", exports.Get("gemmoff1"), nr1}} {
			b.Run(fmt.Sprintf("3x3x16to1-%s/side%d", f.name, side), func(b *testing.B) {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					f.kernel.Invoke(1, n/f.width, k, aAt, bAt, tAt, cAt, n, aAt, 1)
				}
				b.ReportMetric(2*float64(k*(n/f.width*f.width))*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
