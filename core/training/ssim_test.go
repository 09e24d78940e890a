package training

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/metrics"
	"github.com/srcnn-web/upscaler/core/network"
)

// TestSSIMTerm: the SSIM term's gradient on a low-resolution network's
// output planes against finite differences of the term itself.
func TestSSIMTerm(t *testing.T) {
	const b, p, side, weight = 2, 16, 4, 0.7 // x4: 16 planes of 4x4 cells per patch
	rng := rand.New(rand.NewPCG(3, 4))
	real, anchor := make([]float32, b*p*p), make([]float32, b*p*p)
	for i := range real {
		real[i] = float32(0.5 + 0.3*math.Sin(float64(i)*0.21))
		anchor[i] = real[i] + float32(rng.NormFloat64()*0.05)
	}
	out := make([]float32, b*p*p)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * 0.02)
	}
	tr := &Trainer{opts: Options{SSIM: weight, Batch: 4}} // two of the batch's patches in this shard
	at := outputIndex(b, p, side)
	term := func(o []float32) float64 { // weight/batch times the sum of (1 - SSIM)
		var sum float64
		x, y := make([]float64, p*p), make([]float64, p*p)
		for i := range b {
			for j := range p * p {
				x[j], y[j] = float64(real[i*p*p+j]), float64(anchor[i*p*p+j]+o[at(i, j%p, j/p)])
			}
			s, _, _ := metrics.SSIMGrad(x, y, p, p)
			sum += 1 - s
		}
		return weight / 4 * sum
	}
	grad := make([]float32, len(out))
	if err := tr.addSSIMGrad(out, grad, real, anchor, b, p, side); err != nil {
		t.Fatal(err)
	}
	for _, j := range []int{0, 7, 16 + 3, 5*32 + 20, len(out) - 1} {
		const h = 1e-3
		o := append([]float32(nil), out...)
		o[j] += h
		up := term(o)
		o[j] -= 2 * h
		num := (up - term(o)) / (2 * h)
		if math.Abs(num-float64(grad[j])) > 1e-4+1e-2*math.Abs(num) {
			t.Errorf("output %d: gradient %g, finite differences %g", j, grad[j], num)
		}
	}
}

// TestCheckSSIM: the runs an SSIM term can and cannot be part of.
func TestCheckSSIM(t *testing.T) {
	lowRes := network.Config{Channels: 1, Residual: true, Shuffle: 4}
	for _, c := range []struct {
		name string
		opts Options
		cfg  network.Config
		ok   bool
	}{
		{"none", Options{}, network.Config{Channels: 3}, true},
		{"residual low-res on Y", Options{SSIM: 1, Patch: 96}, lowRes, true},
		{"negative", Options{SSIM: -1, Patch: 96}, lowRes, false},
		{"RGB", Options{SSIM: 1, Patch: 96}, network.Config{Channels: 3, Residual: true, Shuffle: 4}, false},
		{"not residual", Options{SSIM: 1, Patch: 96}, network.Config{Channels: 1, Shuffle: 4}, false},
		{"at output resolution", Options{SSIM: 1, Patch: 96}, network.Config{Channels: 1, Residual: true}, false},
		{"estimator", Options{SSIM: 1, Patch: 96, Estimate: true}, lowRes, false},
		{"patch under the window", Options{SSIM: 1, Patch: 8}, lowRes, false},
	} {
		tr := &Trainer{opts: c.opts, model: &network.Model{Config: c.cfg}}
		if err := tr.checkSSIM(); (err == nil) != c.ok {
			t.Errorf("%s: error %v, want ok %v", c.name, err, c.ok)
		}
	}
}
