package network

import (
	"math"
	"testing"
)

func TestSoftmaxMean(t *testing.T) {
	for _, tc := range []struct {
		name string
		v, w []float32
		want float64
	}{
		{"equal weights: the mean", []float32{0.2, 0.4, 0.9}, []float32{1, 1, 1}, 0.5},
		{"one weight far above: its value", []float32{0.2, 0.4, 0.9}, []float32{0, 60, 0}, 0.4},
		{"large weights do not overflow", []float32{1, 0}, []float32{1000, 1000}, 0.5},
		{"e to one", []float32{1, 0}, []float32{1, 0}, math.E / (math.E + 1)},
	} {
		p := make([]float64, len(tc.v))
		got := SoftmaxMean(tc.v, tc.w, p)
		var sum float64
		for _, x := range p {
			sum += x
		}
		if math.Abs(got-tc.want) > 1e-7 || math.Abs(sum-1) > 1e-12 { // v is float32
			t.Errorf("%s: %g (weights sum to %g), want %g", tc.name, got, sum, tc.want)
		}
	}
}
