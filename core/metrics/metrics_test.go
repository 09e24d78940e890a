package metrics

import (
	"math"
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

func TestSSIMGrad(t *testing.T) {
	const w, h = 17, 14
	x, y := make([]float64, w*h), make([]float64, w*h)
	a, b := imaging.NewPlane(w, h), imaging.NewPlane(w, h)
	for i := range x {
		x[i] = 0.5 + 0.4*math.Sin(float64(i)*0.37)
		y[i] = x[i]*0.8 + 0.1*math.Cos(float64(i)*1.3) + 0.05
		a.Pix[i], b.Pix[i] = float32(x[i]), float32(y[i])
	}
	s, grad, err := SSIMGrad(x, y, w, h)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := SSIM(a, b, 0); math.Abs(s-want) > 1e-5 {
		t.Errorf("SSIMGrad's value %g, SSIM's %g", s, want)
	}
	const eps = 1e-6
	for _, j := range []int{0, 5, w + 3, w*h/2 + 1, w*h - 1} {
		y[j] += eps
		up, _, _ := SSIMGrad(x, y, w, h)
		y[j] -= 2 * eps
		down, _, _ := SSIMGrad(x, y, w, h)
		y[j] += eps
		if fd := (up - down) / (2 * eps); math.Abs(fd-grad[j]) > 1e-6+1e-4*math.Abs(fd) {
			t.Errorf("gradient at %d: %g, finite difference %g", j, grad[j], fd)
		}
	}
	if same, g, _ := SSIMGrad(x, x, w, h); math.Abs(same-1) > 1e-12 || math.Abs(g[w+3]) > 1e-9 {
		t.Errorf("identical planes: SSIM %g, gradient %g; want 1 and 0", same, g[w+3])
	}
	if _, _, err := SSIMGrad(x[:100], y[:100], 10, 10); err == nil {
		t.Error("no error for planes smaller than the window")
	}
}
