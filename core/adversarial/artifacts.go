package adversarial

import "math"

// ArtifactMap is LDL's map of where a GAN-trained generator draws
// artifacts rather than detail (Liang et al., "Details or Artifacts",
// CVPR 2022), on one w x h Y patch: the residual r = |gt - sr|; its local
// variance over a 7x7 window (edges mirrored), times the patch's variance
// of r to the power 1/5; and zero wherever the generator's running average
// (ema, its EMA copy's output) is further from gt than sr is, since there
// the sharper output is taken for detail. Training adds
// L1(map * (sr - gt)) to the generator's loss, the map held constant.
func ArtifactMap(gt, sr, ema []float32, w, h int) []float32 {
	const k = 7
	n := w * h
	r := make([]float64, n)
	var mean float64
	for i := range r {
		r[i] = math.Abs(float64(gt[i]) - float64(sr[i]))
		mean += r[i] / float64(n)
	}
	var patchVar float64
	for _, v := range r {
		patchVar += (v - mean) * (v - mean)
	}
	patchVar /= float64(max(1, n-1)) // unbiased, as torch.var
	patch := math.Pow(patchVar, 0.2)
	out := make([]float32, n)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if r[i] < math.Abs(float64(gt[i])-float64(ema[i])) {
				continue // sr is closer than the average: taken for detail
			}
			var s, s2 float64
			for dy := -k / 2; dy <= k/2; dy++ {
				row := reflect(y+dy, h) * w
				for dx := -k / 2; dx <= k/2; dx++ {
					v := r[row+reflect(x+dx, w)]
					s += v
					s2 += v * v
				}
			}
			const m = k * k
			local := (s2 - s*s/m) / (m - 1) // unbiased local variance
			out[i] = float32(patch * max(0, local))
		}
	}
	return out
}

// reflect mirrors an index into [0, n) without repeating the edge
// (PyTorch's reflect padding: ..., 2, 1, 0, 1, 2, ...).
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}
