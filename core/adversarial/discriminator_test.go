package adversarial

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// TestLosses: every loss's gradient against finite differences, and the
// directions they push: the discriminator's loss falls as real logits rise
// and fake ones fall, the generator's as fake ones rise.
func TestLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	real, fake := randSlice(rng, 7), randSlice(rng, 5)
	for _, kind := range Kinds {
		for _, side := range []struct {
			name string
			f    func(string, []float32, []float32) (float64, []float32, []float32, error)
			up   []float32 // the logits this side's loss wants higher
		}{{"discriminator", DiscriminatorLoss, real}, {"generator", GeneratorLoss, fake}} {
			loss, gr, gf, err := side.f(kind, real, fake)
			if err != nil || math.IsNaN(loss) {
				t.Fatalf("%s %s: %g, %v", kind, side.name, loss, err)
			}
			for _, p := range []struct {
				vals, grad []float32
			}{{real, gr}, {fake, gf}} {
				for i := range p.vals {
					const h = 1e-3
					old := p.vals[i]
					p.vals[i] = old + h
					up, _, _, _ := side.f(kind, real, fake)
					p.vals[i] = old - h
					down, _, _, _ := side.f(kind, real, fake)
					p.vals[i] = old
					if fd := (up - down) / (2 * h); math.Abs(fd-float64(p.grad[i])) > 1e-4 {
						t.Errorf("%s %s: gradient %g, finite difference %g", kind, side.name, p.grad[i], fd)
					}
				}
			}
			for i := range side.up {
				side.up[i] += 1
			}
			after, _, _, _ := side.f(kind, real, fake)
			for i := range side.up {
				side.up[i] -= 1
			}
			if !(after < loss) {
				t.Errorf("%s %s: raising the logits it favours took the loss from %g to %g", kind, side.name, loss, after)
			}
		}
	}
	if _, _, _, err := DiscriminatorLoss("hinge", real, fake); err == nil {
		t.Error("an unknown loss was taken")
	}
}

// TestDiscriminator: logits at an eighth of the size after three stages,
// and the gradients of a loss on them with respect to the input and a
// weight of every layer against finite differences. The leaky ReLU's
// slope is 1 here (a linear network): finite differences across its kink
// would measure the kink, not the gradient.
func TestDiscriminator(t *testing.T) {
	for _, spectral := range []bool{false, true} {
		t.Run(fmt.Sprintf("spectral=%v", spectral), func(t *testing.T) { testDiscriminator(t, spectral) })
	}
}

func testDiscriminator(t *testing.T, spectral bool) {
	rng := rand.New(rand.NewPCG(7, 8))
	d, err := NewDiscriminator([]int{3, 4, 2}, rng)
	if err != nil {
		t.Fatal(err)
	}
	d.Leak, d.Spectral = 1, spectral
	if _, err := NewDiscriminator(nil, rng); err == nil {
		t.Error("a discriminator of no stages")
	}
	const batch, h, w = 2, 16, 13
	in := randSlice(rng, batch*h*w)
	x := mat.NewDense[float32](mat.WithShape(1, batch*h*w), mat.WithBacking(in), mat.WithGrad(true))
	logits, oh, ow := d.Forward(x, batch, h, w)
	if oh != 2 || ow != 2 || logits.Value().Size() != batch*oh*ow {
		t.Fatalf("logits %v of %dx%d", logits.Value().Shape(), ow, oh)
	}
	proj := randSlice(rng, batch*oh*ow) // loss = sum(proj * logits)
	logits.AccGrad(mat.NewDense[float32](mat.WithShape(1, batch*oh*ow), mat.WithBacking(proj)))
	if err := ag.Backward(logits); err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		l, _, _ := d.Forward(mat.NewDense[float32](mat.WithShape(1, batch*h*w), mat.WithBacking(in)), batch, h, w)
		var s float64
		for i, v := range l.Value().Data().F32() {
			s += float64(v) * float64(proj[i])
		}
		return s
	}
	check := func(name string, vals, grad []float32, idx []int) {
		for _, i := range idx {
			const e = 1e-2
			old := vals[i]
			vals[i] = old + e
			up := loss()
			vals[i] = old - e
			down := loss()
			vals[i] = old
			fd := (up - down) / (2 * e)
			if math.Abs(fd-float64(grad[i])) > 2e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: gradient %g, finite difference %g", name, i, grad[i], fd)
			}
		}
	}
	check("input", in, x.Grad().Data().F32(), []int{0, 37, 200, 415})
	for l, p := range d.Weights {
		check("weight", p.Value().Data().F32(), p.Grad().Data().F32(), []int{0, p.Value().Size() - 1})
		b := d.Biases[l]
		check("bias", b.Value().Data().F32(), b.Grad().Data().F32(), []int{0})
	}
}

// TestSpectral: spectral normalisation leaves every layer's weights with
// a largest singular value of 1 (checked by an independent estimate: the
// largest eigenvalue of W'W by its Rayleigh quotients), and scales them
// only: the sign of every weight is kept.
func TestSpectral(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	d, err := NewDiscriminator([]int{4, 8}, rng)
	if err != nil {
		t.Fatal(err)
	}
	d.Spectral = true
	for l, p := range d.Weights {
		shape := p.Value().Shape()
		raw := p.Value().Data().F32()
		w := d.weight(l).Value().Data().F32()
		for i := range w {
			if (w[i] > 0) != (raw[i] > 0) {
				t.Fatalf("layer %d: weight %d changed sign", l, i)
			}
		}
		if top := largestSingular(w, shape[0], shape[1], rng); math.Abs(top-1) > 1e-3 {
			t.Errorf("layer %d (%dx%d): largest singular value %g after normalisation, want 1", l, shape[0], shape[1], top)
		}
	}
}

// largestSingular is the square root of the largest Rayleigh quotient
// |Ax|^2/|x|^2 over many random x, refined by power steps on A'A.
func largestSingular(a []float32, rows, cols int, rng *rand.Rand) float64 {
	best := 0.0
	for range 5 {
		x := make([]float64, cols)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for range 500 {
			ax := make([]float64, rows)
			for r := range rows {
				for c := range cols {
					ax[r] += float64(a[r*cols+c]) * x[c]
				}
			}
			var nx, nax float64
			for _, v := range x {
				nx += v * v
			}
			for _, v := range ax {
				nax += v * v
			}
			best = math.Max(best, math.Sqrt(nax/nx))
			y := make([]float64, cols)
			for r := range rows {
				for c := range cols {
					y[c] += float64(a[r*cols+c]) * ax[r]
				}
			}
			x = y
		}
	}
	return best
}

// TestFeatures: the discriminator's stage outputs, at half the size each
// stage, and its logits the same as Forward's.
func TestFeatures(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	d, err := NewDiscriminator([]int{3, 5}, rng)
	if err != nil {
		t.Fatal(err)
	}
	const batch, h, w = 2, 12, 10
	x := mat.NewDense[float32](mat.WithShape(1, batch*h*w), mat.WithBacking(randSlice(rng, batch*h*w)))
	feats, logits, oh, ow := d.Features(x, batch, h, w)
	want, _, _ := d.Forward(x, batch, h, w)
	if len(feats) != 2 || feats[0].Value().Size() != 3*batch*6*5 || feats[1].Value().Size() != 5*batch*3*3 || oh != 3 || ow != 3 {
		t.Fatalf("%d features, sizes %d and %d, logits %dx%d", len(feats), feats[0].Value().Size(), feats[1].Value().Size(), oh, ow)
	}
	for i, v := range logits.Value().Data().F32() {
		if v != want.Value().Data().F32()[i] {
			t.Fatalf("logit %d: %g from Features, %g from Forward", i, v, want.Value().Data().F32()[i])
		}
	}
}
