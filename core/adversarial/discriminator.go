package adversarial

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"

	"github.com/srcnn-web/upscaler/core/network"
)

// Discriminator is a small convolutional critic of Y patches, VGG-shaped:
// per stage a 3x3 layer and a stride-2 3x3 layer of that stage's width,
// leaky ReLU after each, then a 3x3 layer to one logit per remaining pixel.
// It is a patch discriminator: each logit judges the part of the input it
// sees, and the losses average them.
type Discriminator struct {
	Widths          []int       // channels of each stage
	Leak            float32     // the leaky ReLU's slope on negative values (NewDiscriminator: 0.2)
	Weights, Biases []*nn.Param // layer by layer: [out][in*9] and [out][1]
	// Spectral divides each layer's weights by their largest singular
	// value (spectral normalisation, Miyato et al. 2018), which bounds how
	// steeply the logits can change with the input.
	Spectral bool
}

// NewDiscriminator returns a discriminator with stages of the given
// widths, He-initialised from rng.
func NewDiscriminator(widths []int, rng *rand.Rand) (*Discriminator, error) {
	if len(widths) == 0 {
		return nil, fmt.Errorf("discriminator: no stages")
	}
	d := &Discriminator{Widths: widths, Leak: 0.2}
	in := 1
	add := func(out int) {
		w := make([]float32, out*in*9)
		std := math.Sqrt(2 / float64(in*9))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
		d.Weights = append(d.Weights, nn.NewParam(mat.NewDense[float32](mat.WithShape(out, in*9), mat.WithBacking(w))))
		d.Biases = append(d.Biases, nn.NewParam(mat.NewDense[float32](mat.WithShape(out, 1))))
		in = out
	}
	for _, c := range widths {
		if c < 1 {
			return nil, fmt.Errorf("discriminator: a stage of %d channels", c)
		}
		add(c)
		add(c)
	}
	add(1)
	return d, nil
}

// Clone returns a discriminator with copies of d's parameters (without
// gradients or optimizer state): one per goroutine computing gradients.
func (d *Discriminator) Clone() *Discriminator {
	c := &Discriminator{Widths: d.Widths, Leak: d.Leak, Spectral: d.Spectral}
	for i := range d.Weights {
		c.Weights = append(c.Weights, nn.NewParam(d.Weights[i].Value().(mat.Matrix)))
		c.Biases = append(c.Biases, nn.NewParam(d.Biases[i].Value().(mat.Matrix)))
	}
	return c
}

// Params lists the parameters, weights before bias, layer by layer.
func (d *Discriminator) Params() []*nn.Param {
	var ps []*nn.Param
	for i := range d.Weights {
		ps = append(ps, d.Weights[i], d.Biases[i])
	}
	return ps
}

// Forward builds the graph of the logits for a batch of Y patches x
// ([1][batch*h*w]); it returns them ([1][batch*oh*ow]) and their size.
func (d *Discriminator) Forward(x mat.Tensor, batch, h, w int) (logits mat.Tensor, oh, ow int) {
	_, logits, oh, ow = d.Features(x, batch, h, w)
	return logits, oh, ow
}

// Features is Forward that also returns each stage's output (after its
// stride-2 layer): the features a feature-matching loss compares.
func (d *Discriminator) Features(x mat.Tensor, batch, h, w int) (features []mat.Tensor, logits mat.Tensor, oh, ow int) {
	for i := range d.Widths {
		for j, stride := range []int{1, 2} {
			l := 2*i + j
			if stride == 1 {
				x = network.Conv2D(x, d.weight(l), d.Biases[l], batch, h, w, 3)
			} else {
				x = Conv2DStride2(x, d.weight(l), d.Biases[l], batch, h, w, 3)
				h, w = (h+1)/2, (w+1)/2
			}
			x = network.PReLU(x, d.leaks(d.Widths[i]))
		}
		features = append(features, x)
	}
	last := len(d.Weights) - 1
	return features, network.Conv2D(x, d.weight(last), d.Biases[last], batch, h, w, 3), h, w
}

// weight is layer l's weights as the layer uses them: with Spectral,
// divided by their largest singular value (SpectralNorm).
func (d *Discriminator) weight(l int) mat.Tensor {
	if !d.Spectral {
		return d.Weights[l]
	}
	return SpectralNorm(d.Weights[l])
}

// spectralOp is W / sigma for a matrix W, sigma = u'Wv with u and v its top
// singular vectors found by power iteration from a fixed start (so that a
// step depends only on the weights, and a resumed run repeats it) and held
// constant, as Miyato et al. and PyTorch's spectral_norm differentiate it.
// One operator (rather than a division and a product that both read W)
// sums W's gradient in one place, in a fixed order.
type spectralOp struct {
	w     mat.Tensor
	u, v  []float32
	sigma float32
}

var _ ag.AutoGradFunction = (*spectralOp)(nil)

// SpectralNorm returns the graph node of w ([rows][cols]) divided by its
// largest singular value.
func SpectralNorm(w mat.Tensor) mat.Tensor {
	return ag.NewOperator(&spectralOp{w: w}).Run()
}

// Operands returns the weights.
func (s *spectralOp) Operands() []mat.Tensor { return []mat.Tensor{s.w} }

// Forward divides the weights by their largest singular value.
func (s *spectralOp) Forward() (mat.Tensor, error) {
	shape := s.w.Value().Shape()
	a := s.w.Value().Data().F32()
	s.u, s.v = topSingular(a, shape[0], shape[1])
	var sigma float64
	for r := range shape[0] {
		var row float64
		for c, x := range a[r*shape[1]:][:shape[1]] {
			row += float64(x) * float64(s.v[c])
		}
		sigma += float64(s.u[r]) * row
	}
	if !(sigma > 0) {
		return nil, fmt.Errorf("spectral norm: largest singular value %g", sigma)
	}
	s.sigma = float32(sigma)
	out := make([]float32, len(a))
	for i, x := range a {
		out[i] = x / s.sigma
	}
	return mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(out)), nil
}

// Backward: for out = W/sigma, dL/dW = (G - (sum of G * out) u v') / sigma.
func (s *spectralOp) Backward(gy mat.Tensor) error {
	if !s.w.RequiresGrad() {
		return nil
	}
	shape := s.w.Value().Shape()
	a, g := s.w.Value().Data().F32(), gy.Data().F32()
	var dot float64
	for i, x := range a {
		dot += float64(g[i]) * float64(x/s.sigma)
	}
	gw := make([]float32, len(a))
	for r := range shape[0] {
		for c := range shape[1] {
			i := r*shape[1] + c
			gw[i] = float32((float64(g[i]) - dot*float64(s.u[r])*float64(s.v[c])) / float64(s.sigma))
		}
	}
	s.w.AccGrad(mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(gw)))
	return nil
}

// topSingular returns the top left and right singular vectors of the
// rows x cols matrix a, by power iteration from a vector of ones until
// the singular value settles (1e-6 relative, at most 100 rounds).
func topSingular(a []float32, rows, cols int) (u, v []float32) {
	u, v = make([]float32, rows), make([]float32, cols)
	for i := range v {
		v[i] = 1
	}
	normalize(v)
	prev := 0.0
	for range 100 {
		for r := range rows { // u = A v / |A v|
			var s float32
			for c, x := range a[r*cols:][:cols] {
				s += x * v[c]
			}
			u[r] = s
		}
		normalize(u)
		clear(v) // v = A'u / |A'u|
		for r := range rows {
			for c, x := range a[r*cols:][:cols] {
				v[c] += x * u[r]
			}
		}
		sigma := normalize(v)
		if math.Abs(sigma-prev) <= 1e-6*sigma {
			break
		}
		prev = sigma
	}
	return u, v
}

// normalize scales x to unit length and returns its length before.
func normalize(x []float32) float64 {
	var n float64
	for _, v := range x {
		n += float64(v) * float64(v)
	}
	n = math.Sqrt(n)
	if n > 0 {
		for i := range x {
			x[i] = float32(float64(x[i]) / n)
		}
	}
	return n
}

// leaks is the constant slope of each of n channels, outside the
// parameters (it gets no gradient that anything reads).
func (d *Discriminator) leaks(n int) mat.Tensor {
	a := make([]float32, n)
	for i := range a {
		a[i] = d.Leak
	}
	return mat.NewDense[float32](mat.WithShape(n, 1), mat.WithBacking(a))
}
