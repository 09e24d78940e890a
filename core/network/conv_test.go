package network

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

// naiveConv is the reference: a literal 7-deep loop with float64 sums.
func naiveConv(in []float32, cin int, g convGeom, w, b []float32, cout, k int) []float64 {
	r, n, hw := k/2, g.pixels(), g.plane()
	out := make([]float64, cout*n)
	for o := 0; o < cout; o++ {
		for bi := 0; bi < g.batch; bi++ {
			for y := 0; y < g.h; y++ {
				for x := 0; x < g.w; x++ {
					s := float64(b[o])
					for c := 0; c < cin; c++ {
						for dy := 0; dy < k; dy++ {
							for dx := 0; dx < k; dx++ {
								sy, sx := clampIndex(y+dy-r, g.h), clampIndex(x+dx-r, g.w)
								s += float64(w[((o*cin+c)*k+dy)*k+dx]) * float64(in[c*n+bi*hw+sy*g.w+sx])
							}
						}
					}
					out[o*n+bi*hw+y*g.w+x] = s
				}
			}
		}
	}
	return out
}

var convCases = []struct {
	cin, cout, k int
	g            convGeom
}{
	{1, 8, 9, convGeom{1, 13, 11}},
	{8, 4, 1, convGeom{2, 7, 9}},
	{4, 1, 5, convGeom{2, 6, 5}},
	{3, 5, 3, convGeom{1, 1, 7}},   // one row
	{2, 3, 3, convGeom{1, 9, 1}},   // one column: every tap clamps
	{5, 6, 5, convGeom{3, 2, 2}},   // kernel wider than the map
	{3, 3, 3, convGeom{1, 10, 10}}, // RGB out, direct path
	{16, 9, 3, convGeom{1, 5, 19}}, // ragged GEMM blocks
}

func TestConvForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range convCases {
		t.Run(fmt.Sprintf("%dto%d_k%d_%dx%dx%d", tc.cin, tc.cout, tc.k, tc.g.batch, tc.g.h, tc.g.w), func(t *testing.T) {
			kk := tc.cin * tc.k * tc.k
			in := randSlice(rng, tc.cin*tc.g.pixels())
			l := convLayer{in: tc.cin, out: tc.cout, k: tc.k, weight: randSlice(rng, tc.cout*kk), bias: randSlice(rng, tc.cout)}
			want := naiveConv(in, tc.cin, tc.g, l.weight, l.bias, tc.cout, tc.k)
			got := sameConv(&l, in, tc.g, allEdges, false)
			if e := maxAbsDiff(got, want); e > 1e-5 {
				t.Errorf("inference forward: max abs error %g", e)
			}
			// The autograd operator's forward.
			x := mat.NewDense[float32](mat.WithShape(tc.cin, tc.g.pixels()), mat.WithBacking(in))
			wt := mat.NewDense[float32](mat.WithShape(tc.cout, kk), mat.WithBacking(l.weight))
			bt := mat.NewDense[float32](mat.WithShape(tc.cout, 1), mat.WithBacking(l.bias))
			y := Conv2D(x, wt, bt, tc.g.batch, tc.g.h, tc.g.w, tc.k)
			if e := maxAbsDiff(y.Value().Data().F32(), want); e > 1e-5 {
				t.Errorf("operator forward: max abs error %g", e)
			}
		})
	}
}

func maxAbsDiff(got []float32, want []float64) float64 {
	var m float64
	for i, v := range got {
		m = math.Max(m, math.Abs(float64(v)-want[i]))
	}
	return m
}

// TestConvBackwardMatchesFiniteDifferences checks every gradient of a
// weighted sum of the outputs against central differences in float64.
func TestConvBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range convCases {
		t.Run(fmt.Sprintf("%dto%d_k%d_%dx%dx%d", tc.cin, tc.cout, tc.k, tc.g.batch, tc.g.h, tc.g.w), func(t *testing.T) {
			kk := tc.cin * tc.k * tc.k
			in, w, b := randSlice(rng, tc.cin*tc.g.pixels()), randSlice(rng, tc.cout*kk), randSlice(rng, tc.cout)
			proj := randSlice(rng, tc.cout*tc.g.pixels()) // loss = sum(proj * y)
			x := mat.NewDense[float32](mat.WithShape(tc.cin, tc.g.pixels()), mat.WithBacking(in), mat.WithGrad(true))
			wt := mat.NewDense[float32](mat.WithShape(tc.cout, kk), mat.WithBacking(w), mat.WithGrad(true))
			bt := mat.NewDense[float32](mat.WithShape(tc.cout, 1), mat.WithBacking(b), mat.WithGrad(true))
			y := Conv2D(x, wt, bt, tc.g.batch, tc.g.h, tc.g.w, tc.k)
			y.AccGrad(mat.NewDense[float32](mat.WithShape(tc.cout, tc.g.pixels()), mat.WithBacking(proj)))
			if err := ag.Backward(y); err != nil {
				t.Fatal(err)
			}
			lossAt := func() float64 {
				out := naiveConv(in, tc.cin, tc.g, w, b, tc.cout, tc.k)
				var s float64
				for i, v := range out {
					s += v * float64(proj[i])
				}
				return s
			}
			check := func(name string, vals []float32, grad []float32) {
				t.Helper()
				for i := range vals {
					old := vals[i]
					const h = 1e-2
					vals[i] = old + h
					up := lossAt()
					vals[i] = old - h
					down := lossAt()
					vals[i] = old
					fd := (up - down) / (2 * h)
					g := float64(grad[i])
					if rel := math.Abs(g-fd) / math.Max(1, math.Abs(fd)); rel > 1e-3 {
						t.Fatalf("%s[%d]: gradient %g, finite difference %g (rel error %g)", name, i, g, fd, rel)
					}
				}
			}
			check("x", in, x.Grad().Data().F32())
			check("w", w, wt.Grad().Data().F32())
			check("b", b, bt.Grad().Data().F32())
		})
	}
}
