package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
)

func TestPSNR(t *testing.T) {
	a, b := imaging.NewPlane(10, 10), imaging.NewPlane(10, 10)
	for i := range a.Pix {
		a.Pix[i] = 0.5
		b.Pix[i] = 0.5 + 5.0/255 // every pixel 5 levels off: MSE 25
	}
	b.Pix[0] = 0 // a border pixel, shaved away
	got, err := PSNR(a, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := 10 * math.Log10(255*255/25.0); math.Abs(got-want) > 1e-3 {
		t.Errorf("PSNR %g, want %g", got, want)
	}
	if same, _ := PSNR(a, a, 0); !math.IsInf(same, 1) {
		t.Errorf("identical images: %g, want +Inf", same)
	}
	if _, err := PSNR(a, imaging.NewPlane(9, 10), 0); err == nil {
		t.Error("no error for different sizes")
	}
	if _, err := PSNR(a, b, 5); err == nil {
		t.Error("no error when shaving leaves nothing")
	}
}

func TestSSIM(t *testing.T) {
	a := imaging.NewPlane(32, 32)
	for i := range a.Pix {
		a.Pix[i] = float32(i%7) / 7
	}
	if s, err := SSIM(a, a, 2); err != nil || math.Abs(s-1) > 1e-9 {
		t.Errorf("SSIM of identical images %g (%v), want 1", s, err)
	}
	prev := 1.0
	for _, noise := range []float32{0.02, 0.05, 0.2} {
		b := imaging.NewPlane(32, 32)
		for i := range b.Pix {
			b.Pix[i] = a.Pix[i] + noise*float32((i*7919)%13-6)/6
		}
		s, err := SSIM(a, b, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !(s < prev) {
			t.Errorf("SSIM %g with noise %g is not below %g", s, noise, prev)
		}
		prev = s
	}
	if _, err := SSIM(imaging.NewPlane(12, 12), imaging.NewPlane(12, 12), 1); err == nil {
		t.Error("no error for an image smaller than the window")
	}
}

// TestSSIMGrad: SSIMGrad's value is SSIM's, and its gradient matches
// central differences, on pairs near and far from each other.
func TestSSIMGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const w, h = 17, 14
	for _, noise := range []float64{0.02, 0.3} {
		x, y := make([]float32, w*h), make([]float32, w*h)
		for i := range x {
			y[i] = float32(rng.Float64())
			x[i] = y[i] + float32(noise*rng.NormFloat64())
		}
		got, grad := SSIMGrad(x, y, w, h)
		want, err := SSIM(imaging.Plane{W: w, H: h, Pix: x}, imaging.Plane{W: w, H: h, Pix: y}, 0)
		if err != nil || math.Abs(got-want) > 1e-9 {
			t.Fatalf("noise %g: SSIMGrad's value %v, SSIM %v (%v)", noise, got, want, err)
		}
		var scale float64
		for _, g := range grad {
			scale = max(scale, math.Abs(g))
		}
		for range 40 {
			i := rng.IntN(w * h)
			const eps = 1e-3
			old := x[i]
			x[i] = old + eps
			up, _ := SSIMGrad(x, y, w, h)
			x[i] = old - eps
			down, _ := SSIMGrad(x, y, w, h)
			x[i] = old
			fd := (up - down) / float64(float32(old+eps)-float32(old-eps))
			if math.Abs(fd-grad[i]) > 1e-3*scale {
				t.Errorf("noise %g, pixel %d: gradient %v, central difference %v", noise, i, grad[i], fd)
			}
		}
	}
}
