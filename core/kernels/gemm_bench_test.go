package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// layerShapes are the GEMMs of SRCNN layers on a 128x128 tile: M filters,
// K = inputs*k*k, N pixels.
var layerShapes = []struct {
	name    string
	m, k, n int
}{
	{"915-L1-9x9x1to64", 64, 81, 128 * 128},
	{"915-L2-1x1x64to32", 32, 64, 128 * 128},
	{"955-L2-5x5x64to32", 32, 1600, 128 * 128},
	{"seed-L2-3x3x128to64", 64, 1152, 128 * 128},
}

// BenchmarkMatMul reports GFLOP/s on each layer shape of the kernels in use
// for inference (active) and training (train), of the pure-Go kernel, and
// of every kernel this CPU can run (archKernels).
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	kernels := append([]namedKernel{{"active", matMul}, {"go", MatMulGo}, {"train", trainMatMul}}, archKernels...)
	for _, s := range layerShapes {
		a, bm, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
		for _, kern := range kernels {
			b.Run(fmt.Sprintf("%s/%s", s.name, kern.name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					kern.f(s.m, s.n, s.k, a, s.k, bm, s.n, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// namedKernel is a matrix kernel with a name for benchmarks.
type namedKernel struct {
	name string
	f    MatMulFunc
}
