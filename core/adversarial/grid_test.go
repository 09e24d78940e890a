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
		loss, _ := GridError(e, s, b, side, nil)
		if loss < c.min || loss > c.max {
			t.Errorf("%s: loss %.4f, want in [%.4f, %.4f]", c.name, loss, c.min, c.max)
		}
	}
}

// TestGridErrorGradient: the gradient against central differences of the
// weighted sum of absolute values (the loss times the element count).
func TestGridErrorGradient(t *testing.T) {
	const s, b, side = 2, 2, 5
	n := s * s * b * side * side
	rng := rand.New(rand.NewPCG(5, 6))
	e := make([]float32, n)
	for i := range e {
		e[i] = rng.Float32() - 0.5
	}
	weight := make([]float32, b*side*side)
	for i := range weight {
		weight[i] = rng.Float32()
	}
	sum := func(e []float32) float64 {
		l, _ := GridError(e, s, b, side, weight)
		return l * float64(n)
	}
	_, grad := GridError(e, s, b, side, weight)
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

// TestFlatWeights: a flat cell weighs 1, a cell at or past the limit 0,
// one between in proportion; the grid on a flat patch counts, the same
// grid where the target is busy does not.
func TestFlatWeights(t *testing.T) {
	const s, p = 2, 4 // 2x2 cells of 2x2 pixels
	target := []float32{
		0.5, 0.5, 0, 1,
		0.5, 0.5, 1, 0,
		0.2, 0.2, 0.25, 0.35,
		0.2, 0.2, 0.35, 0.25,
	}
	// Cell (1, 0) has sd 0.5; cell (1, 1) has sd 0.05.
	cases := []struct {
		limit float64
		want  []float32
	}{
		{0.1, []float32{1, 0, 1, 0.5}},
		{1, []float32{1, 0.5, 1, 0.95}},
	}
	for _, c := range cases {
		got := FlatWeights(target, 1, p, s, c.limit)
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-5 {
				t.Errorf("limit %g: weights %v, want %v", c.limit, got, c.want)
				break
			}
		}
	}
	e := make([]float32, s*s*4)
	for ph := range s * s {
		for j := range 4 {
			e[ph*4+j] = float32(ph%2*2 - 1)
		}
	}
	flat, _ := GridError(e, s, 1, 2, []float32{1, 1, 1, 1})
	busy, _ := GridError(e, s, 1, 2, []float32{0, 0, 0, 0})
	if flat <= 0 || busy != 0 {
		t.Errorf("a grid counts %g on a flat target and %g on a busy one, want > 0 and 0", flat, busy)
	}
}
