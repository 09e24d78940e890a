package network

import "math"

// SoftmaxMean pools an estimator's outputs: the mean of its values v
// weighted by the softmax of its weights w. It leaves the softmax in p
// (len(w) values) for training's gradient.
func SoftmaxMean(v, w []float32, p []float64) float64 {
	top := math.Inf(-1)
	for _, x := range w {
		top = max(top, float64(x))
	}
	var z, est float64
	for j, x := range w {
		p[j] = math.Exp(float64(x) - top)
		z += p[j]
	}
	for j := range p {
		p[j] /= z
		est += p[j] * float64(v[j])
	}
	return est
}
