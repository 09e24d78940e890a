package imaging

import (
	"image"
	"math"
	"sync"
)

// Plane is one channel of an image as float32 samples, row by row.
type Plane struct {
	W, H int
	Pix  []float32
}

// NewPlane returns a zeroed w x h plane.
func NewPlane(w, h int) Plane { return Plane{W: w, H: h, Pix: make([]float32, w*h)} }

// Crop returns a copy of the plane's top-left w x h pixels.
func (p Plane) Crop(w, h int) Plane {
	out := NewPlane(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w:][:w], p.Pix[y*p.W:][:w])
	}
	return out
}

// Rect returns a copy of the plane's pixels in r.
func (p Plane) Rect(r image.Rectangle) Plane {
	out := NewPlane(r.Dx(), r.Dy())
	for y := range r.Dy() {
		copy(out.Pix[y*out.W:][:out.W], p.Pix[(r.Min.Y+y)*p.W+r.Min.X:][:out.W])
	}
	return out
}

// At returns the sample at (x, y).
func (p Plane) At(x, y int) float32 { return p.Pix[y*p.W+x] }

// Kernel is a resampling filter as MATLAB's imresize defines it: a function
// of the distance in source pixels and the width of its support.
type Kernel struct {
	Name  string
	Width float64
	At    func(x float64) float64
}

var (
	// Nearest is MATLAB's 'nearest' (a box of width 1).
	Nearest = Kernel{"nearest", 1, func(x float64) float64 {
		if -0.5 <= x && x < 0.5 {
			return 1
		}
		return 0
	}}
	// Bilinear is MATLAB's 'bilinear' (a triangle of width 2).
	Bilinear = Kernel{"bilinear", 2, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	// Bicubic is MATLAB's 'bicubic': the Keys cubic with a = -0.5.
	Bicubic = Kernel{"bicubic", 4, cubic}
)

func cubic(x float64) float64 {
	a := math.Abs(x)
	a2, a3 := a*a, a*a*a
	switch {
	case a <= 1:
		return 1.5*a3 - 2.5*a2 + 1
	case a <= 2:
		return -0.5*a3 + 2.5*a2 - 4*a + 2
	}
	return 0
}

// taps are the source pixels and weights of one output pixel along an axis.
// tap4 is the four taps of one output pixel, flat.
type tap4 struct {
	i [4]int32
	w [4]float64
}

type taps struct {
	idx     []int // source indices, mirrored into range
	weights []float64
}

// axisWeights computes, as MATLAB's imresize does (contributions.m), the
// taps of every output pixel when an axis of inN pixels becomes outN pixels:
// the kernel is stretched by the factor when shrinking (antialiasing),
// weights are normalised to sum to one, and sources past an edge are
// mirrored back inside.
func axisWeights(k Kernel, inN, outN int) []taps {
	scale := float64(outN) / float64(inN)
	h, width := k.At, k.Width
	if scale < 1 {
		width = k.Width / scale
		h = func(x float64) float64 { return scale * k.At(scale*x) }
	}
	p := int(math.Ceil(width)) + 2
	out := make([]taps, outN)
	for i := range out {
		u := (float64(i)+0.5)/scale - 0.5 // 0-based source coordinate of the centre
		left := int(math.Floor(u - width/2))
		t := taps{idx: make([]int, 0, p), weights: make([]float64, 0, p)}
		var sum float64
		ws := make([]float64, p)
		for j := 0; j < p; j++ {
			ws[j] = h(u - float64(left+j))
			sum += ws[j]
		}
		for j := 0; j < p; j++ {
			if ws[j] == 0 {
				continue
			}
			t.idx = append(t.idx, mirror(left+j, inN))
			t.weights = append(t.weights, ws[j]/sum)
		}
		out[i] = t
	}
	return out
}

// mirror reflects an index into [0, n) the way MATLAB does: ..., 1, 0, 0, 1, ...
func mirror(i, n int) int {
	period := 2 * n
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - 1 - i
	}
	return i
}

// weightCache keeps the taps of recent axis sizes: the tiles of one image
// all need the same ones.
var weightCache struct {
	sync.Mutex
	m map[weightKey][]taps
}

type weightKey struct {
	kernel    string
	inN, outN int
}

func cachedAxisWeights(k Kernel, inN, outN int) []taps {
	key := weightKey{k.Name, inN, outN}
	weightCache.Lock()
	defer weightCache.Unlock()
	if t, ok := weightCache.m[key]; ok {
		return t
	}
	if weightCache.m == nil || len(weightCache.m) >= 32 {
		weightCache.m = map[weightKey][]taps{}
	}
	t := axisWeights(k, inN, outN)
	weightCache.m[key] = t
	return t
}

// Resize resamples a whole plane to w x h with kernel k.
func Resize(src Plane, w, h int, k Kernel) Plane {
	return ResizeRegion(src, w, h, k, image.Rect(0, 0, w, h))
}

// ResizeRegion computes only the pixels in r of the w x h resampling of
// src, with the same numbers as Resize gives there. Like MATLAB, it
// resamples vertically first, then horizontally, in float64.
func ResizeRegion(src Plane, w, h int, k Kernel, r image.Rectangle) Plane {
	xs, ys := cachedAxisWeights(k, src.W, w), cachedAxisWeights(k, src.H, h)
	out := NewPlane(r.Dx(), r.Dy())
	// The source columns the horizontal pass needs.
	lo, hi := src.W, 0
	for x := r.Min.X; x < r.Max.X; x++ {
		for _, i := range xs[x].idx {
			lo, hi = min(lo, i), max(hi, i+1)
		}
	}
	if lo >= hi {
		return out
	}
	col := make([]float64, hi-lo)
	// Four taps for every column of r (bicubic enlargement): flat, with
	// indices into col.
	var four []tap4
	if r.Dy() > 1 {
		four = make([]tap4, 0, r.Dx())
		for x := r.Min.X; x < r.Max.X; x++ {
			tx := xs[x]
			if len(tx.idx) != 4 {
				four = nil
				break
			}
			var t tap4
			for j := range 4 {
				t.i[j], t.w[j] = int32(tx.idx[j]-lo), tx.weights[j]
			}
			four = append(four, t)
		}
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		// Vertical pass for this output row, over the needed columns.
		t := ys[y]
		if len(t.idx) == 4 { // bicubic enlargement: the same sums, in one pass
			r0, r1 := src.Pix[t.idx[0]*src.W+lo:][:len(col)], src.Pix[t.idx[1]*src.W+lo:][:len(col)]
			r2, r3 := src.Pix[t.idx[2]*src.W+lo:][:len(col)], src.Pix[t.idx[3]*src.W+lo:][:len(col)]
			w0, w1, w2, w3 := t.weights[0], t.weights[1], t.weights[2], t.weights[3]
			for c := range col {
				var v float64
				v += w0 * float64(r0[c])
				v += w1 * float64(r1[c])
				v += w2 * float64(r2[c])
				v += w3 * float64(r3[c])
				col[c] = v
			}
		} else {
			for c := range col {
				col[c] = 0
			}
			for j, sy := range t.idx {
				wv := t.weights[j]
				row := src.Pix[sy*src.W:][:src.W]
				for c := range col {
					col[c] += wv * float64(row[lo+c])
				}
			}
		}
		dst := out.Pix[(y-r.Min.Y)*out.W:][:out.W]
		if four != nil {
			// Bicubic enlargement: the same sums, from the region's taps
			// laid out flat (no slice headers to load per pixel).
			for i := range dst {
				t := &four[i]
				var s float64
				s += t.w[0] * col[t.i[0]]
				s += t.w[1] * col[t.i[1]]
				s += t.w[2] * col[t.i[2]]
				s += t.w[3] * col[t.i[3]]
				dst[i] = float32(s)
			}
			continue
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			tx := xs[x]
			var s float64
			if len(tx.idx) == 4 { // bicubic enlargement: the same sum, unrolled
				idx, wt := tx.idx[:4:4], tx.weights[:4:4]
				s += wt[0] * col[idx[0]-lo]
				s += wt[1] * col[idx[1]-lo]
				s += wt[2] * col[idx[2]-lo]
				s += wt[3] * col[idx[3]-lo]
			} else {
				for j, sx := range tx.idx {
					s += tx.weights[j] * col[sx-lo]
				}
			}
			dst[x-r.Min.X] = float32(s)
		}
	}
	return out
}
