package imaging

import (
	"fmt"
	"image"
	"math"
)

// MaxSide is the longest side an exact output size may have.
const MaxSide = 1 << 16

// FitScale resolves an exact output size for an input of inW x inH: the
// width and the height asked, either 0 to follow the other by the aspect
// ratio. It returns that size and the smallest of the scales (ascending)
// whose enlargement covers it: the network runs at that scale, and the
// result is then shrunk to the size (ResizeNRGBA). A size that no scale
// reaches is an error.
func FitScale(inW, inH, w, h int, scales []int) (scale, outW, outH int, err error) {
	switch {
	case w < 0 || h < 0 || (w == 0 && h == 0):
		return 0, 0, 0, fmt.Errorf("size %dx%d: give a width, a height or both, positive", w, h)
	case w == 0:
		w = max(1, int(math.Round(float64(inW)*float64(h)/float64(inH))))
	case h == 0:
		h = max(1, int(math.Round(float64(inH)*float64(w)/float64(inW))))
	}
	if w > MaxSide || h > MaxSide {
		return 0, 0, 0, fmt.Errorf("size %dx%d: at most %d pixels a side", w, h, MaxSide)
	}
	for _, s := range scales {
		if inW*s >= w && inH*s >= h {
			return s, w, h, nil
		}
	}
	top := scales[len(scales)-1]
	return 0, 0, 0, fmt.Errorf("%dx%d is more than %d times the %dx%d image: choose a smaller size", w, h, top, inW, inH)
}

// ResizeNRGBA resamples an image to w x h with MATLAB's bicubic
// (antialiased when shrinking), each of R, G, B and alpha.
func ResizeNRGBA(img *image.NRGBA, w, h int) *image.NRGBA {
	p := Split(img, true)
	var planes [3]Plane
	for c := range planes {
		planes[c] = Resize(p.C[c], w, h, Bicubic)
	}
	var alpha *Plane
	if p.Alpha != nil {
		a := Resize(*p.Alpha, w, h, Bicubic)
		alpha = &a
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	WriteNRGBA(dst, dst.Rect, planes, alpha, true)
	return dst
}
