package adversarial

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGridError: a pattern repeated on the depth-to-space grid counts in
// full (less at the patch's border, where the window runs out); an error
// every phase shares counts nothing; random texture of the same size
// counts a fraction of the grid's.
func TestGridError(t *testing.T) {
	const s, b, side = 4, 2, 8
	k, n := s*s, b*side*side
	rng := rand.New(rand.NewPCG(3, 4))
	offsets := make([]float32, k)
	for p := range offsets {
		offsets[p] = float32(p%2*2 - 1) // ±1, mean 0 over the phases
	}
	// The 3x3 window's share inside an 8x8 plane, averaged over its cells:
	// interior 1, edges 6/9, corners 4/9.
	border := (36 + 24*6.0/9 + 4*4.0/9) / 64
	cases := []struct {
		name     string
		err      func(p, j int) float32
		min, max float64
	}{
		{"grid", func(p, j int) float32 { return offsets[p] }, border - 1e-6, border + 1e-6},
		{"shared by every phase", func(p, j int) float32 { return float32(j%7) - 3 }, 0, 1e-6},
		{"random texture", func(p, j int) float32 { return float32(rng.IntN(2)*2 - 1) }, 0.1, 0.4},
	}
	for _, c := range cases {
		e := make([]float32, k*n)
		for p := range k {
			for j := range n {
				e[p*n+j] = c.err(p, j)
			}
		}
		loss, _ := GridError(e, s, b, side)
		if loss < c.min || loss > c.max {
			t.Errorf("%s: loss %.4f, want in [%.4f, %.4f]", c.name, loss, c.min, c.max)
		}
	}
}

// TestGridErrorGradient: the gradient against central differences of the
// sum of absolute values (the loss times the element count).
func TestGridErrorGradient(t *testing.T) {
	const s, b, side = 2, 2, 5
	n := s * s * b * side * side
	rng := rand.New(rand.NewPCG(5, 6))
	e := make([]float32, n)
	for i := range e {
		e[i] = rng.Float32() - 0.5
	}
	sum := func(e []float32) float64 {
		l, _ := GridError(e, s, b, side)
		return l * float64(n)
	}
	_, grad := GridError(e, s, b, side)
	const h = 1e-3
	for i := range e {
		v := e[i]
		e[i] = v + h
		up := sum(e)
		e[i] = v - h
		down := sum(e)
		e[i] = v
		if num := (up - down) / (2 * h); math.Abs(num-float64(grad[i])) > 1e-2 {
			t.Errorf("element %d: gradient %.4f, central difference %.4f", i, grad[i], num)
		}
	}
}
