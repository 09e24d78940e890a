package metrics

import (
	"fmt"
	"math"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// Metrics follow the super-resolution literature: both images are Y planes
// (0..1 scale, compared on the 0..255 scale), with `shave` pixels removed
// from every border first.

// shaved returns the interior of p without `shave` pixels on each side.
func shaved(p imaging.Plane, shave int) (imaging.Plane, error) {
	w, h := p.W-2*shave, p.H-2*shave
	if w <= 0 || h <= 0 {
		return imaging.Plane{}, fmt.Errorf("metrics: a %dx%d image has nothing left after shaving %d pixels", p.W, p.H, shave)
	}
	out := imaging.NewPlane(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w:][:w], p.Pix[(y+shave)*p.W+shave:][:w])
	}
	return out, nil
}

// shavedPair checks that two planes have one size and shaves both.
func shavedPair(a, b imaging.Plane, shave int) (imaging.Plane, imaging.Plane, error) {
	if a.W != b.W || a.H != b.H {
		return imaging.Plane{}, imaging.Plane{}, fmt.Errorf("metrics: sizes differ: %dx%d and %dx%d", a.W, a.H, b.W, b.H)
	}
	a, err := shaved(a, shave)
	if err != nil {
		return imaging.Plane{}, imaging.Plane{}, err
	}
	b, _ = shaved(b, shave)
	return a, b, nil
}

// PSNR returns the peak signal-to-noise ratio in dB between two planes, with
// 255 as the peak. Identical images give +Inf.
func PSNR(a, b imaging.Plane, shave int) (float64, error) {
	a, b, err := shavedPair(a, b, shave)
	if err != nil {
		return 0, err
	}
	var se float64
	for i, v := range a.Pix {
		d := (float64(v) - float64(b.Pix[i])) * 255
		se += d * d
	}
	mse := se / float64(len(a.Pix))
	return 10 * math.Log10(255*255/mse), nil
}

// ssimWindow is the 11x11 Gaussian window (sigma 1.5) of Wang et al. 2004,
// as one normalised 1-D factor.
var ssimWindow = func() []float64 {
	w := make([]float64, 11)
	var s float64
	for i := range w {
		d := float64(i - 5)
		w[i] = math.Exp(-d * d / (2 * 1.5 * 1.5))
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}()

// SSIM returns the mean structural similarity of Wang et al. 2004 (11x11
// Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255) over the
// positions where the window fits wholly inside the shaved image.
func SSIM(a, b imaging.Plane, shave int) (float64, error) {
	a, b, err := shavedPair(a, b, shave)
	if err != nil {
		return 0, err
	}
	n := len(ssimWindow)
	if a.W < n || a.H < n {
		return 0, fmt.Errorf("metrics: a %dx%d image is smaller than the %dx%d SSIM window", a.W, a.H, n, n)
	}
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	x, y := make([]float64, len(a.Pix)), make([]float64, len(b.Pix))
	xx, yy, xy := make([]float64, len(a.Pix)), make([]float64, len(a.Pix)), make([]float64, len(a.Pix))
	for i := range a.Pix {
		x[i], y[i] = float64(a.Pix[i])*255, float64(b.Pix[i])*255
		xx[i], yy[i], xy[i] = x[i]*x[i], y[i]*y[i], x[i]*y[i]
	}
	w, h := a.W-n+1, a.H-n+1
	mx, my := gaussValid(x, a.W, a.H), gaussValid(y, a.W, a.H)
	sxx, syy, sxy := gaussValid(xx, a.W, a.H), gaussValid(yy, a.W, a.H), gaussValid(xy, a.W, a.H)
	var sum float64
	for i := 0; i < w*h; i++ {
		m1, m2 := mx[i], my[i]
		v1, v2, cv := sxx[i]-m1*m1, syy[i]-m2*m2, sxy[i]-m1*m2
		sum += ((2*m1*m2 + c1) * (2*cv + c2)) / ((m1*m1 + m2*m2 + c1) * (v1 + v2 + c2))
	}
	return sum / float64(w*h), nil
}

// SSIMGrad returns the mean SSIM of x against y (w x h planes of 0..1
// values, as SSIM gives it with no shave) and its gradient with respect to
// each pixel of x: for training toward structural similarity.
func SSIMGrad(x, y []float32, w, h int) (float64, []float64) {
	n := len(ssimWindow)
	const c1, c2 = 0.01 * 0.01, 0.03 * 0.03
	xs, ys := make([]float64, w*h), make([]float64, w*h)
	xx, yy, xy := make([]float64, w*h), make([]float64, w*h), make([]float64, w*h)
	for i := range xs {
		xs[i], ys[i] = float64(x[i]), float64(y[i])
		xx[i], yy[i], xy[i] = xs[i]*xs[i], ys[i]*ys[i], xs[i]*ys[i]
	}
	ow, oh := w-n+1, h-n+1
	mx, my := gaussValid(xs, w, h), gaussValid(ys, w, h)
	sxx, syy, sxy := gaussValid(xx, w, h), gaussValid(yy, w, h), gaussValid(xy, w, h)
	// S = A1 A2 / (B1 B2) at each window; its derivatives with respect to
	// the window's mean of x, variance of x and covariance, each pixel's
	// share of those through the window's weights.
	da, db, dc := make([]float64, ow*oh), make([]float64, ow*oh), make([]float64, ow*oh)
	var sum float64
	norm := 1 / float64(ow*oh)
	for i := range da {
		m1, m2 := mx[i], my[i]
		v1, v2, cv := sxx[i]-m1*m1, syy[i]-m2*m2, sxy[i]-m1*m2
		a1, a2, b1, b2 := 2*m1*m2+c1, 2*cv+c2, m1*m1+m2*m2+c1, v1+v2+c2
		ssim := a1 * a2 / (b1 * b2)
		sum += ssim
		dMean := 2*m2*a2/(b1*b2) - ssim*2*m1/b1
		dVar := -ssim / b2
		dCov := 2 * a1 / (b1 * b2)
		da[i] = norm * (dMean - 2*dVar*m1 - dCov*m2)
		db[i] = norm * 2 * dVar
		dc[i] = norm * dCov
	}
	ga, gb, gc := gaussFull(da, w, h), gaussFull(db, w, h), gaussFull(dc, w, h)
	grad := make([]float64, w*h)
	for i := range grad {
		grad[i] = ga[i] + xs[i]*gb[i] + ys[i]*gc[i]
	}
	return sum * norm, grad
}

// gaussFull is gaussValid's adjoint: it spreads each window position's
// value over the w x h pixels the window covers, by the window's weights.
func gaussFull(src []float64, w, h int) []float64 {
	n := len(ssimWindow)
	ow, oh := w-n+1, h-n+1
	tmp := make([]float64, ow*h)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			v := src[y*ow+x]
			for k, g := range ssimWindow {
				tmp[(y+k)*ow+x] += g * v
			}
		}
	}
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < ow; x++ {
			v := tmp[y*ow+x]
			for k, g := range ssimWindow {
				out[y*w+x+k] += g * v
			}
		}
	}
	return out
}

// gaussValid filters a w x h array with the separable SSIM window, keeping
// only the positions where the window lies wholly inside.
func gaussValid(src []float64, w, h int) []float64 {
	n := len(ssimWindow)
	ow, oh := w-n+1, h-n+1
	tmp := make([]float64, ow*h)
	for y := 0; y < h; y++ {
		for x := 0; x < ow; x++ {
			var s float64
			for k, g := range ssimWindow {
				s += g * src[y*w+x+k]
			}
			tmp[y*ow+x] = s
		}
	}
	out := make([]float64, ow*oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var s float64
			for k, g := range ssimWindow {
				s += g * tmp[(y+k)*ow+x]
			}
			out[y*ow+x] = s
		}
	}
	return out
}
