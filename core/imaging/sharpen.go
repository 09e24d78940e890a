package imaging

import (
	"fmt"
	"image"
	"math"
)

// UnsharpMask sharpens a plane by adding Amount times its difference from
// its Gaussian blur of standard deviation Sigma pixels: edges overshoot a
// little on both sides, over about Sigma pixels. (At a wide sigma it is
// what photo editors call clarity.) The zero value does nothing.
type UnsharpMask struct {
	Amount, Sigma float32
}

// Check reports a mask that is not the zero value nor an amount up to 2
// with a sigma up to 16 pixels.
func (u UnsharpMask) Check() error {
	a, s := u.Amount, u.Sigma
	if !(a >= 0 && a <= 2) || !(s >= 0 && s <= 16) || (a > 0) != (s > 0) {
		return fmt.Errorf("unsharp mask amount %g and sigma %g: want both 0, or an amount up to 2 and a sigma up to 16 pixels", a, s)
	}
	return nil
}

// Radius is how many pixels on each side the mask reads beyond a pixel it
// sharpens (three sigmas); 0 for a mask that does nothing.
func (u UnsharpMask) Radius() int {
	if u.Amount == 0 || u.Sigma <= 0 {
		return 0
	}
	return int(math.Ceil(3 * float64(u.Sigma)))
}

// gaussian returns the blur's 2*Radius+1 taps, summing to one.
func (u UnsharpMask) gaussian() []float64 {
	r := u.Radius()
	w := make([]float64, 2*r+1)
	var sum float64
	for i := range w {
		d := float64(i-r) / float64(u.Sigma)
		w[i] = math.Exp(-d * d / 2)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// Apply returns the pixels in r (a rectangle of p) of p sharpened, where
// pixels past p's edges read as copies of the nearest edge pixel. So the
// pixels in r of a region of an image that extends Radius pixels beyond r
// (or to the image's edge) are those of the whole image sharpened: tiles
// with that margin make the whole image's pixels. It blurs rows, then
// columns, in float64.
func (u UnsharpMask) Apply(p Plane, r image.Rectangle) Plane {
	rad := u.Radius()
	if rad == 0 {
		return p.Rect(r)
	}
	out := NewPlane(r.Dx(), r.Dy())
	w := u.gaussian()
	clamp := func(i, n int) int { return min(n-1, max(0, i)) }
	// Each row the columns read, blurred along the row, over r's columns:
	// the row's stretch under r and the mask's reach, padded with copies
	// of the row's edge pixels.
	y0, y1 := max(0, r.Min.Y-rad), min(p.H, r.Max.Y+rad)
	rows := make([]float64, (y1-y0)*r.Dx())
	pad := make([]float64, r.Dx()+2*rad)
	for y := y0; y < y1; y++ {
		src := p.Pix[y*p.W:][:p.W]
		for i := range pad {
			pad[i] = float64(src[clamp(r.Min.X-rad+i, p.W)])
		}
		dst := rows[(y-y0)*r.Dx():][:r.Dx()]
		for i := range dst {
			win := pad[i:][:len(w)]
			var sum float64
			for k, wk := range w {
				sum += wk * win[k]
			}
			dst[i] = sum
		}
	}
	amount := float64(u.Amount)
	blur := make([]float64, r.Dx())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		clear(blur)
		for k, wk := range w {
			row := rows[(clamp(y-rad+k, p.H)-y0)*r.Dx():][:r.Dx()]
			for i, v := range row {
				blur[i] += wk * v
			}
		}
		dst := out.Pix[(y-r.Min.Y)*out.W:][:out.W]
		src := p.Pix[y*p.W+r.Min.X:][:out.W]
		for i, b := range blur {
			v := float64(src[i])
			dst[i] = float32(v + amount*(v-b))
		}
	}
	return out
}
