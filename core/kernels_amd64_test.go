//go:build amd64 && !purego

package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAVX2KernelsMatchGo: the plain AVX2 kernel must give MatMulGo's numbers
// bit for bit (the page and the command line then agree); the fused one
// must agree within 1e-5 relative. Shapes include ragged edges in every
// dimension.
func TestAVX2KernelsMatchGo(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("this CPU has no AVX2/FMA; the pure-Go kernel is in use")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {64, 81, 81}, {32, 100, 64}, {5, 33, 800}, {12, 48, 5}, {81, 64, 1000}} {
		m, n, k := s[0], s[1], s[2]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			a, b, c0 := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
			want := append([]float32(nil), c0...)
			MatMulGo(m, n, k, a, k, b, n, want, n)
			got := append([]float32(nil), c0...)
			MatMulAVX2(m, n, k, a, k, b, n, got, n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("MatMulAVX2 differs from MatMulGo at %d: %g vs %g", i, got[i], want[i])
				}
			}
			fused := append([]float32(nil), c0...)
			MatMulAVX2Fused(m, n, k, a, k, b, n, fused, n)
			for i := range want {
				if d := math.Abs(float64(fused[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i])))*math.Sqrt(float64(k)) {
					t.Fatalf("MatMulAVX2Fused at %d: %g vs %g", i, fused[i], want[i])
				}
			}
		})
	}
}

func TestDotFMA(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
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
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
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

func TestConvAVX2MatchesGo(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX2/FMA")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	ref := ConvFromOffsets(OffsetMatMulGo)
	for _, s := range [][3]int{{1, 1, 1}, {6, 16, 9}, {16, 150, 144}, {7, 33, 27}, {64, 40, 81}, {12, 32, 3}} {
		for _, relu := range []bool{false, true} {
			m, n, k := s[0], s[1], s[2]
			boff := make([]int32, k)
			for p := range boff {
				boff[p] = int32((p/3)*(n+2) + p%3)
			}
			a, b, bias := randSlice(rng, m*k), randSlice(rng, int(boff[k-1])+n), randSlice(rng, m)
			want, got := randSlice(rng, m*n), randSlice(rng, m*n)
			ref(m, n, k, a, k, b, boff, want, n, bias, relu)
			ConvAVX2(m, n, k, a, k, b, boff, got, n, bias, relu)
			for i := range want {
				if got[i] != want[i] || (got[i] == 0 && math.Signbit(float64(got[i])) != math.Signbit(float64(want[i]))) {
					t.Fatalf("%v relu %v element %d: %g, Go gives %g", s, relu, i, got[i], want[i])
				}
			}
		}
	}
}
