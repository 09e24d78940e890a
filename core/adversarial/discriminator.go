package adversarial

import (
	"fmt"
	"math"
	"math/rand/v2"

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
	c := &Discriminator{Widths: d.Widths, Leak: d.Leak}
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
				x = network.Conv2D(x, d.Weights[l], d.Biases[l], batch, h, w, 3)
			} else {
				x = Conv2DStride2(x, d.Weights[l], d.Biases[l], batch, h, w, 3)
				h, w = (h+1)/2, (w+1)/2
			}
			x = network.PReLU(x, d.leaks(d.Widths[i]))
		}
		features = append(features, x)
	}
	last := len(d.Weights) - 1
	return features, network.Conv2D(x, d.Weights[last], d.Biases[last], batch, h, w, 3), h, w
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
