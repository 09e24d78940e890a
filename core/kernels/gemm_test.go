package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

func maxAbsDiff(got []float32, want []float64) float64 {
	var m float64
	for i, v := range got {
		m = math.Max(m, math.Abs(float64(v)-want[i]))
	}
	return m
}

func TestMatMulKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{1, 1, 1}, {4, 8, 3}, {5, 9, 7}, {64, 81, 33}, {3, 17, 800}, {32, 100, 64}, {7, 3, 1}, {16, 144, 1100}, {6, 5, 517}} {
		m, n, k := s[0], s[1], s[2]
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		c0 := randSlice(rng, m*n)
		want := make([]float64, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				v := float64(c0[i*n+j])
				for p := 0; p < k; p++ {
					v += float64(a[i*k+p]) * float64(b[p*n+j])
				}
				want[i*n+j] = v
			}
		}
		c := append([]float32(nil), c0...)
		MatMulGo(m, n, k, a, k, b, n, c, n)
		if e := maxAbsDiff(c, want); e > 1e-4 {
			t.Errorf("MatMulGo %v: max abs error %g", s, e)
		}
		c = append([]float32(nil), c0...)
		MatMul(m, n, k, a, k, b, n, c, n)
		if e := maxAbsDiff(c, want); e > 1e-4 {
			t.Errorf("matMul %v: max abs error %g", s, e)
		}
		// NT: c += a * bt^T with bt = b^T.
		bt := make([]float32, n*k)
		for p := 0; p < k; p++ {
			for j := 0; j < n; j++ {
				bt[j*k+p] = b[p*n+j]
			}
		}
		for _, nt := range []struct {
			name string
			f    MatMulFunc
		}{{"matMulNT", matMulNT}, {"matMulNTGo", matMulNTGo}} {
			c = append([]float32(nil), c0...)
			nt.f(m, n, k, a, k, bt, k, c, n)
			if e := maxAbsDiff(c, want); e > 1e-4 {
				t.Errorf("%s %v: max abs error %g", nt.name, s, e)
			}
		}
	}
}
