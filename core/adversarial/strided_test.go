package adversarial

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// naiveStrided is the stride-2 convolution written out: output (x, y)
// is the kernel centred on input (2x, 2y), edges replicated, in float64.
func naiveStrided(in []float32, cin int, g geom, w, b []float32, cout, k int) []float64 {
	r, oh, ow := k/2, (g.h+1)/2, (g.w+1)/2
	out := make([]float64, cout*g.batch*oh*ow)
	for o := 0; o < cout; o++ {
		for bi := 0; bi < g.batch; bi++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					s := float64(b[o])
					for c := 0; c < cin; c++ {
						for dy := 0; dy < k; dy++ {
							for dx := 0; dx < k; dx++ {
								sy, sx := min(max(2*y+dy-r, 0), g.h-1), min(max(2*x+dx-r, 0), g.w-1)
								s += float64(w[((o*cin+c)*k+dy)*k+dx]) * float64(in[c*g.pixels()+bi*g.plane()+sy*g.w+sx])
							}
						}
					}
					out[((o*g.batch+bi)*oh+y)*ow+x] = s
				}
			}
		}
	}
	return out
}

// randSlice is n values from -1 to 1.
func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

// TestStridedConv: the stride-2 convolution's output against the naive
// one, and its gradients (input, weights, bias) against finite
// differences, for odd and even sizes, one-pixel maps and batches.
func TestStridedConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct {
		cin, cout, k int
		g            geom
	}{
		{1, 4, 3, geom{1, 8, 8}},
		{3, 5, 3, geom{2, 7, 9}},  // odd sides: the last output reads the edge
		{4, 2, 5, geom{1, 6, 5}},  // a kernel wider than half the map
		{2, 3, 3, geom{3, 1, 4}},  // one row
		{16, 8, 3, geom{1, 9, 6}}, // wide enough for the GEMM's blocks
	} {
		t.Run(fmt.Sprintf("%dto%d_k%d_%dx%dx%d", tc.cin, tc.cout, tc.k, tc.g.batch, tc.g.h, tc.g.w), func(t *testing.T) {
			kk := tc.cin * tc.k * tc.k
			on := tc.g.batch * ((tc.g.h + 1) / 2) * ((tc.g.w + 1) / 2)
			in, w, b := randSlice(rng, tc.cin*tc.g.pixels()), randSlice(rng, tc.cout*kk), randSlice(rng, tc.cout)
			proj := randSlice(rng, tc.cout*on) // loss = sum(proj * y)
			x := mat.NewDense[float32](mat.WithShape(tc.cin, tc.g.pixels()), mat.WithBacking(in), mat.WithGrad(true))
			wt := mat.NewDense[float32](mat.WithShape(tc.cout, kk), mat.WithBacking(w), mat.WithGrad(true))
			bt := mat.NewDense[float32](mat.WithShape(tc.cout, 1), mat.WithBacking(b), mat.WithGrad(true))
			y := Conv2DStride2(x, wt, bt, tc.g.batch, tc.g.h, tc.g.w, tc.k)
			for i, v := range naiveStrided(in, tc.cin, tc.g, w, b, tc.cout, tc.k) {
				if e := math.Abs(float64(y.Value().Data().F32()[i]) - v); e > 1e-4 {
					t.Fatalf("forward: output %d is %g, want %g", i, y.Value().Data().F32()[i], v)
				}
			}
			y.AccGrad(mat.NewDense[float32](mat.WithShape(tc.cout, on), mat.WithBacking(proj)))
			if err := ag.Backward(y); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				var s float64
				for i, v := range naiveStrided(in, tc.cin, tc.g, w, b, tc.cout, tc.k) {
					s += v * float64(proj[i])
				}
				return s
			}
			for _, p := range []struct {
				name       string
				vals, grad []float32
			}{{"x", in, x.Grad().Data().F32()}, {"w", w, wt.Grad().Data().F32()}, {"b", b, bt.Grad().Data().F32()}} {
				for i := range p.vals {
					const h = 1e-2
					old := p.vals[i]
					p.vals[i] = old + h
					up := loss()
					p.vals[i] = old - h
					down := loss()
					p.vals[i] = old
					fd := (up - down) / (2 * h)
					if rel := math.Abs(float64(p.grad[i])-fd) / math.Max(1, math.Abs(fd)); rel > 1e-3 {
						t.Fatalf("%s[%d]: gradient %g, finite difference %g", p.name, i, p.grad[i], fd)
					}
				}
			}
		})
	}
}
