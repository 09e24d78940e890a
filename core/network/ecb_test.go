package network

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/srcnn-web/upscaler/core/kernels"
)

// randomECB returns a block whose branches all carry weight (NewECB starts
// the edge scales near zero, which would hide a wrong edge branch).
func randomECB(in, out int, rng *rand.Rand) *ECB {
	e := NewECB(in, out, true, 1, rng)
	for _, p := range e.Params() {
		for i := range p.Value().Data().F32() {
			p.Value().Data().F32()[i] = float32(rng.NormFloat64() * 0.5)
		}
	}
	return e
}

func dense(rows, cols int, data []float32) mat.Tensor {
	return mat.NewDense[float32](mat.WithShape(rows, cols), mat.WithBacking(data))
}

// convValue is a convolution's output values, outside any graph.
func convValue(x, w, b []float32, in, out, k int, g convGeom) []float32 {
	y := Conv2D(dense(in, g.pixels(), x), dense(out, len(w)/out, w), dense(out, 1, b), g.batch, g.h, g.w, k)
	return y.Value().Data().F32()
}

// TestECBCollapseMatchesBranches: one convolution with the collapsed kernel
// gives the sum of the branches, each computed as its own convolutions.
func TestECBCollapseMatchesBranches(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, shape := range [][2]int{{1, 8}, {6, 6}, {5, 4}} {
		in, out := shape[0], shape[1]
		e := randomECB(in, out, rng)
		g := convGeom{batch: 2, h: 7, w: 9}
		x := make([]float32, in*g.pixels())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		w, b := e.Collapse()
		got := convValue(x, w, b, in, out, 3, g)

		want := convValue(x, f32(e.W3), f32(e.B3), in, out, 3, g)
		add := func(v []float32) {
			for i := range want {
				want[i] += v[i]
			}
		}
		mid := convValue(x, f32(e.A), f32(e.Ab), in, e.Mid, 1, g)
		add(convValue(mid, f32(e.B), f32(e.Bb), e.Mid, out, 3, g))
		for f, mask := range edgeFilters {
			p := convValue(x, f32(e.P[f]), f32(e.Pb[f]), in, out, 1, g)
			depthwise := make([]float32, out*out*9) // the fixed filter on each channel, scaled
			for o := 0; o < out; o++ {
				for k, v := range mask {
					depthwise[(o*out+o)*9+k] = f32(e.S[f])[o] * v
				}
			}
			add(convValue(p, depthwise, f32(e.Sb[f]), out, out, 3, g))
		}
		if e.Identity {
			add(x)
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("%d->%d: output %d: collapsed %g, branches %g", in, out, i, got[i], want[i])
			}
		}
	}
}

// TestECBGradients: the collapse is quadratic in the branch parameters, so
// a central difference of <G, collapse> along any direction is exact up to
// rounding; the op's gradients must match it for every parameter.
func TestECBGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	e := randomECB(3, 3, rng)
	gw := make([]float32, 3*3*9)
	gb := make([]float32, 3)
	for i := range gw {
		gw[i] = float32(rng.NormFloat64())
	}
	for i := range gb {
		gb[i] = float32(rng.NormFloat64())
	}
	objective := func() float64 {
		w, b := e.Collapse()
		var s float64
		for i, v := range w {
			s += float64(v) * float64(gw[i])
		}
		for i, v := range b {
			s += float64(v) * float64(gb[i])
		}
		return s
	}
	wn, bn := e.Weight(), e.Bias()
	wn.AccGrad(dense(3, 27, gw))
	bn.AccGrad(dense(3, 1, gb))
	if err := ag.Backward(wn, bn); err != nil {
		t.Fatal(err)
	}
	for pi, p := range e.Params() {
		grad := p.Grad().Data().F32()
		dir := make([]float32, len(grad))
		var want float64
		for i := range dir {
			dir[i] = float32(rng.NormFloat64())
			want += float64(dir[i]) * float64(grad[i])
		}
		v := p.Value().Data().F32()
		orig := append([]float32(nil), v...)
		const h = 1e-2
		for i := range v {
			v[i] = orig[i] + h*dir[i]
		}
		up := objective()
		for i := range v {
			v[i] = orig[i] - h*dir[i]
		}
		down := objective()
		copy(v, orig)
		got := (up - down) / (2 * h)
		if math.Abs(got-want) > 1e-3*math.Max(1, math.Abs(want)) {
			t.Errorf("parameter %d: directional derivative %g by differences, %g by the op", pi, got, want)
		}
	}
}

// TestECBModelTrainsAndSaves: a re-parameterized model's graph output is
// its collapsed plain model's inference, and a weights file holds the
// collapsed network.
func TestECBModelTrainsAndSaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	cfg, err := Preset("ecb-m4c16", 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Layers[len(cfg.Layers)-1].Filters; got != 9 || cfg.Shuffle != 3 {
		t.Fatalf("x3 preset: tail %d filters, shuffle %d; want 9 and 3", got, cfg.Shuffle)
	}
	m, err := NewECBModel(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range m.Branches {
		for _, p := range b.Params() {
			for i := range p.Value().Data().F32() {
				p.Value().Data().F32()[i] += float32(rng.NormFloat64() * 0.05)
			}
		}
	}
	const h, w = 6, 5
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	graph := m.Forward(dense(1, h*w, append([]float32(nil), x...)), 1, h, w).Value().Data().F32()
	plain := m.Plain().Infer(x, h, w)
	if len(graph) != len(plain) {
		t.Fatalf("graph gives %d values, inference %d", len(graph), len(plain))
	}
	for i := range graph {
		if math.Abs(float64(graph[i]-plain[i])) > 1e-4 {
			t.Fatalf("value %d: graph %g, collapsed inference %g", i, graph[i], plain[i])
		}
	}
	if n := len(m.Params()); n != len(cfg.Layers)*len(m.Branches[0].Params()) {
		t.Errorf("%d parameters listed, want every branch of every layer", n)
	}
	c := m.Clone()
	f32(c.Branches[0].W3)[0]++
	if f32(m.Branches[0].W3)[0] == f32(c.Branches[0].W3)[0] {
		t.Error("Clone shares the branch parameters")
	}
	if _, err := NewECBModel(Config{Channels: 1, Layers: []Layer{{5, 4}, {3, 1}}}, rng); err == nil {
		t.Error("NewECBModel accepted a 5x5 layer")
	}
}

// TestECBIdentityOnlyInTheBody: only the body's blocks carry the identity
// branch. At x4 the tail Maps 16 channels to 16, and an identity there
// added the last features themselves to the output: training went to the
// bicubic anchor and stayed there (28.42 dB on Set5 after 2,000 steps).
func TestECBIdentityOnlyInTheBody(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for scale := 2; scale <= 4; scale++ {
		cfg, _ := Preset("ecb-m4c16", scale, true)
		m, err := NewECBModel(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range m.Branches {
			if body := i > 0 && i < len(m.Branches)-1; b.Identity != body {
				t.Errorf("x%d layer %d: identity branch %v", scale, i, b.Identity)
			}
		}
	}
}

// TestPReLUGradients: the op's gradients for the input and the slopes
// match central differences of a random linear objective.
func TestPReLUGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const channels, n = 3, 40
	x := make([]float32, channels*n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if math.Abs(float64(x[i])) < 0.05 {
			x[i] = 0.5 // away from the kink, where differences are not the derivative
		}
	}
	a := []float32{0.25, -0.5, 1.5}
	gy := make([]float32, len(x))
	for i := range gy {
		gy[i] = float32(rng.NormFloat64())
	}
	objective := func() float64 {
		y := append([]float32(nil), x...)
		kernels.PReLU(y, n, a)
		var s float64
		for i, v := range y {
			s += float64(v) * float64(gy[i])
		}
		return s
	}
	xp, ap := newParam(append([]float32(nil), x...), channels, n), newParam(append([]float32(nil), a...), channels, 1)
	y := PReLU(xp, ap)
	y.AccGrad(dense(channels, n, gy))
	if err := ag.Backward(y); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		v, grad []float32
	}{"x": {x, xp.Grad().Data().F32()}, "slopes": {a, ap.Grad().Data().F32()}} {
		for i := range tc.v {
			orig := tc.v[i]
			const h = 1e-3
			tc.v[i] = orig + h
			up := objective()
			tc.v[i] = orig - h
			down := objective()
			tc.v[i] = orig
			if got, want := (up-down)/(2*h), float64(tc.grad[i]); math.Abs(got-want) > 1e-2*math.Max(1, math.Abs(want)) {
				t.Errorf("%s[%d]: derivative %g by differences, %g by the op", name, i, got, want)
			}
		}
	}
}
