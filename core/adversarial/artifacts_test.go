package adversarial

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestArtifactMap: no weight where the output equals the truth or is
// closer to it than the running average; a residual that varies locally
// weighs more than a uniform one; the weight is the product of the local
// and the (fifth root of the) patch variance.
func TestArtifactMap(t *testing.T) {
	const w, h = 12, 10
	rng := rand.New(rand.NewPCG(1, 2))
	gt := make([]float32, w*h)
	for i := range gt {
		gt[i] = rng.Float32()
	}
	clone := func(f func(i int, v float32) float32) []float32 {
		out := make([]float32, len(gt))
		for i, v := range gt {
			out[i] = f(i, v)
		}
		return out
	}
	noisy := clone(func(i int, v float32) float32 { return v + 0.2*(rng.Float32()-0.5) })
	sum := func(m []float32) (s float64) {
		for _, v := range m {
			s += float64(v)
		}
		return s
	}
	if s := sum(ArtifactMap(gt, gt, gt, w, h)); s != 0 {
		t.Errorf("the truth itself weighs %g", s)
	}
	// The average far off everywhere: sr is closer, nothing weighs.
	if s := sum(ArtifactMap(gt, noisy, clone(func(i int, v float32) float32 { return v + 1 }), w, h)); s != 0 {
		t.Errorf("an output closer than the average weighs %g", s)
	}
	// A uniform offset has no local variance; noise has.
	offset := clone(func(i int, v float32) float32 { return v + 0.1 })
	if s := sum(ArtifactMap(gt, offset, gt, w, h)); s > 1e-12 { // float32 rounding of the offset
		t.Errorf("a uniform residual weighs %g", s)
	}
	m := ArtifactMap(gt, noisy, gt, w, h)
	if sum(m) <= 0 {
		t.Fatal("a noisy output weighs nothing")
	}
	// Pixel (5, 4): its 7x7 window lies inside; the weights by hand.
	r := make([]float64, w*h)
	var mean float64
	for i := range r {
		r[i] = math.Abs(float64(gt[i]) - float64(noisy[i]))
		mean += r[i] / (w * h)
	}
	var pv float64
	for _, v := range r {
		pv += (v - mean) * (v - mean) / (w*h - 1)
	}
	var win []float64
	for y := 1; y <= 7; y++ {
		for x := 2; x <= 8; x++ {
			win = append(win, r[y*w+x])
		}
	}
	var wm, lv float64
	for _, v := range win {
		wm += v / 49
	}
	for _, v := range win {
		lv += (v - wm) * (v - wm) / 48
	}
	if want := math.Pow(pv, 0.2) * lv; math.Abs(float64(m[4*w+5])-want) > 1e-6*want {
		t.Errorf("weight at (5,4) %g, want %g", m[4*w+5], want)
	}
	for _, tc := range [][3]int{{-1, 5, 1}, {-2, 5, 2}, {5, 5, 3}, {6, 5, 2}, {0, 1, 0}, {3, 1, 0}} {
		if got := reflect(tc[0], tc[1]); got != tc[2] {
			t.Errorf("reflect(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}
