package training

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/metrics"
)

// TestSSIMGradOfOutputs: the SSIM term's gradient, written into a
// low-resolution network's output layout, is that of SSIM times the
// batch's mean (1 - SSIM) of the output patches (anchor plus residual,
// depth-to-space) against their targets, in the pixel loss's units.
func TestSSIMGradOfOutputs(t *testing.T) {
	const b, s, side, weight = 2, 3, 5, 1.5
	p := s * side
	rng := rand.New(rand.NewPCG(5, 6))
	out, real, anchor := make([]float32, b*p*p), make([]float32, b*p*p), make([]float32, b*p*p)
	for i := range real {
		real[i] = float32(rng.Float64())
		anchor[i] = real[i] + float32(0.2*rng.NormFloat64())
		out[i] = float32(0.05 * rng.NormFloat64())
	}
	norm := float32(1 / float64(b*p*p))
	tr := &Trainer{opts: Options{SSIM: weight}}
	grad := make([]float32, len(out))
	tr.addSSIMGrad(out, grad, real, anchor, b, p, side, norm)
	at := outputAt(s, b*side*side, side)
	// loss is the term itself: weight times the mean over patches of 1 - SSIM.
	loss := func() float64 {
		var sum float64
		fake := make([]float32, p*p)
		for i := range b {
			outputPatch(fake, anchor, out, at, i, p)
			ssim, _ := metrics.SSIMGrad(fake, real[i*p*p:][:p*p], p, p)
			sum += 1 - ssim
		}
		return weight * sum / b
	}
	var scale float64
	for _, g := range grad {
		scale = max(scale, math.Abs(float64(g)))
	}
	if scale == 0 {
		t.Fatal("no gradient")
	}
	for range 30 {
		j := rng.IntN(len(out))
		old := out[j]
		out[j] = old + 1e-3
		up := loss()
		out[j] = old - 1e-3
		down := loss()
		out[j] = old
		fd := (up - down) / float64((old+1e-3)-(old-1e-3))
		if math.Abs(fd-float64(grad[j])) > 2e-3*scale {
			t.Errorf("output %d: gradient %v, central difference %v", j, grad[j], fd)
		}
	}
}
