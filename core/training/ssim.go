package training

import (
	"fmt"

	"github.com/srcnn-web/upscaler/core/metrics"
)

// outputIndex maps high-resolution pixel (x, y) of patch i to its value in
// a residual low-resolution network's output (b patches of side x side
// cells, s*s planes before depth-to-space, s = p / side).
func outputIndex(b, p, side int) func(i, x, y int) int {
	s, n := p/side, b*side*side
	return func(i, x, y int) int { return ((y%s)*s+x%s)*n + i*side*side + (y/s)*side + x/s }
}

// addSSIMGrad adds to a shard's output gradient the SSIM term's: the
// run's SSIM weight times (1 - the mean SSIM of each high-resolution
// patch, anchor plus output, against its target), averaged over the
// batch. SSIM's contrast term asks for the target's local variance where
// the pixel loss settles for the average of the plausible details.
func (t *Trainer) addSSIMGrad(out, grad, real, anchor []float32, b, p, side int) error {
	at := outputIndex(b, p, side)
	x, y := make([]float64, p*p), make([]float64, p*p)
	k := float32(t.opts.SSIM / float64(t.opts.Batch))
	for i := range b {
		for j := range p * p {
			x[j] = float64(real[i*p*p+j])
			y[j] = float64(anchor[i*p*p+j] + out[at(i, j%p, j/p)])
		}
		_, g, err := metrics.SSIMGrad(x, y, p, p)
		if err != nil {
			return err
		}
		for j, v := range g {
			grad[at(i, j%p, j/p)] -= k * float32(v)
		}
	}
	return nil
}

// checkSSIM reports an SSIM term the run cannot have: SSIM is taken on
// the high-resolution Y patch a residual low-resolution network draws
// over its anchor, at least SSIM's window wide.
func (t *Trainer) checkSSIM() error {
	w := t.opts.SSIM
	if w == 0 {
		return nil
	}
	if cfg := t.model.Config; w < 0 || cfg.Channels != 1 || !cfg.LowRes() || !cfg.Residual || t.opts.Estimate || t.opts.Patch < 11 {
		return fmt.Errorf("an SSIM weight of %g: want one >= 0, for a residual low-resolution network on Y with patches of 11 px or more, not %s", w, cfg.Preset)
	}
	return nil
}
