//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsMatchGo: the plain AVX2 and AVX-512 kernels must give
// MatMulGo's numbers bit for bit (the page and the command line then
// agree); the fused ones must agree within 1e-5 relative. Shapes include
// ragged edges in every dimension and, for the AVX-512 kernels' blocking,
// k and n longer than one block.
func TestKernelsMatchGo(t *testing.T) {
	kernels := []struct {
		name  string
		f     MatMulFunc
		exact bool
		ok    bool
	}{
		{"AVX2", MatMulAVX2, true, hasAVX2},
		{"AVX2Fused", MatMulAVX2Fused, false, hasAVX2},
		{"AVX512", MatMulAVX512, true, hasAVX512},
		{"AVX512Fused", MatMulAVX512Fused, false, hasAVX512},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {64, 81, 81}, {32, 100, 64}, {5, 33, 800},
		{12, 48, 5}, {81, 64, 1000}, {8, 32, 256}, {9, 1100, 257}, {32, 2100, 600}, {16, 40, 1600}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		a, b, c0 := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
		want := append([]float32(nil), c0...)
		MatMulGo(m, n, k, a, k, b, n, want, n)
		for _, kern := range kernels {
			if !kern.ok {
				continue
			}
			t.Run(fmt.Sprint(kern.name, s), func(t *testing.T) {
				got := append([]float32(nil), c0...)
				kern.f(m, n, k, a, k, b, n, got, n)
				for i := range want {
					d := math.Abs(float64(got[i] - want[i]))
					if (kern.exact && d != 0) || d > 1e-5*math.Max(1, math.Abs(float64(want[i])))*math.Sqrt(float64(k)) {
						t.Fatalf("element %d: %g, MatMulGo gives %g", i, got[i], want[i])
					}
				}
			})
		}
	}
	if !hasAVX2 && !hasAVX512 {
		t.Log("this CPU has neither AVX2/FMA nor AVX-512; only the pure-Go kernel runs")
	}
}

// archKernels are the amd64 kernels this CPU can run, for BenchmarkMatMul.
var archKernels = func() (ks []namedKernel) {
	if hasAVX2 {
		ks = append(ks, namedKernel{"avx2", MatMulAVX2}, namedKernel{"avx2-fused", MatMulAVX2Fused})
	}
	if hasAVX512 {
		ks = append(ks, namedKernel{"avx512", MatMulAVX512}, namedKernel{"avx512-fused", MatMulAVX512Fused})
	}
	return ks
}()

func TestDotFMA(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 1000} {
		x, y := randSlice(rng, n), randSlice(rng, n)
		var want float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
		}
		if got := trainDot(x, y); math.Abs(float64(got)-want) > 1e-4 {
			t.Errorf("n=%d: dot %g, want %g", n, got, want)
		}
	}
}

func TestOffsetAVX2MatchesGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/FMA")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][3]int{{1, 1, 1}, {16, 150, 144}, {7, 33, 27}, {64, 40, 81}} {
		m, n, k := s[0], s[1], s[2]
		boff := make([]int32, k)
		for p := range boff {
			boff[p] = int32((p/3)*(n+2) + p%3)
		}
		a, b, c0 := randSlice(rng, m*k), randSlice(rng, int(boff[k-1])+n), randSlice(rng, m*n)
		want := append([]float32(nil), c0...)
		OffsetMatMulGo(m, n, k, a, k, b, boff, want, n)
		got := append([]float32(nil), c0...)
		OffsetMatMulAVX2(m, n, k, a, k, b, boff, got, n)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v element %d: %g, Go gives %g", s, i, got[i], want[i])
			}
		}
	}
}

// TestConvKernelsMatchGo: the convolution kernels give the reference's
// numbers bit for bit, signs of zeros included.
func TestConvKernelsMatchGo(t *testing.T) {
	kernels := []struct {
		name string
		f    ConvFunc
		ok   bool
	}{{"AVX2", ConvAVX2, hasAVX2}, {"AVX512", ConvAVX512, hasAVX512}}
	rng := rand.New(rand.NewPCG(13, 14))
	ref := ConvFromOffsets(OffsetMatMulGo)
	shapes := [][3]int{{1, 1, 1}, {6, 16, 9}, {16, 150, 144}, {7, 33, 27}, {64, 40, 81}, {12, 32, 3},
		{8, 32, 9}, {9, 95, 25}, {32, 64, 64}}
	for _, kern := range kernels {
		if !kern.ok {
			continue
		}
		for _, s := range shapes {
			for _, relu := range []bool{false, true} {
				m, n, k := s[0], s[1], s[2]
				boff := make([]int32, k)
				for p := range boff {
					boff[p] = int32((p/3)*(n+2) + p%3)
				}
				a, b, bias := randSlice(rng, m*k), randSlice(rng, int(boff[k-1])+n), randSlice(rng, m)
				want, got := randSlice(rng, m*n), randSlice(rng, m*n)
				ref(m, n, k, a, k, b, boff, want, n, bias, relu)
				kern.f(m, n, k, a, k, b, boff, got, n, bias, relu)
				for i := range want {
					if got[i] != want[i] || (got[i] == 0 && math.Signbit(float64(got[i])) != math.Signbit(float64(want[i]))) {
						t.Fatalf("%s %v relu %v element %d: %g, Go gives %g", kern.name, s, relu, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestNTKernelsMatchFloat64: both weight-gradient kernels give a * b^T
// within float32 rounding, on blocks with ragged edges, long dimensions
// that are not a multiple of the vector or of the chunk, and short ones.
func TestNTKernelsMatchFloat64(t *testing.T) {
	kernels := []struct {
		name string
		nt   ntKernel
		ok   bool
	}{{"AVX2", ntAVX2, hasAVX2}, {"AVX512", ntAVX512, hasAVX512}}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][3]int{{4, 4, 16}, {16, 144, 1100}, {64, 81, 2000}, {5, 9, 37}, {8, 6, 513}, {3, 2, 40}, {4, 5, 7}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c0 := randSlice(rng, m*k), randSlice(rng, n*k), randSlice(rng, m*n)
		for _, kern := range kernels {
			if !kern.ok {
				continue
			}
			c := append([]float32(nil), c0...)
			kern.nt.matMulNT(m, n, k, a, k, b, k, c, n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					want := float64(c0[i*n+j])
					for p := 0; p < k; p++ {
						want += float64(a[i*k+p]) * float64(b[j*k+p])
					}
					if d := math.Abs(float64(c[i*n+j]) - want); d > 1e-5*math.Sqrt(float64(k))*math.Max(1, math.Abs(want)) {
						t.Fatalf("%s %v: c[%d][%d] = %g, want %g", kern.name, s, i, j, c[i*n+j], want)
					}
				}
			}
		}
	}
}
