package core

import "image"

// Inference runs the network on a region of an image without a graph.
// Each layer is a "valid" convolution: its output is smaller than its input
// by the kernel's radius on every side, except on the sides that lie on the
// image border, where the input is first extended by replicating its edge
// pixels (as training's "same" convolutions do everywhere). A region with
// a halo as wide as the network's radius thus shrinks, layer by layer, to
// exactly the pixels that the whole image would give, and no layer computes
// halo pixels that a later layer cannot use.
//
// Maps keep one row stride through all layers: a layer's output row y is
// computed from offset y*stride, the last k-1 values of each row (which
// read into the next row) being computed and ignored. So a layer reads its
// input where the previous one wrote it, with no copies, unless a border
// side needs padding.

// Edges says which sides of a region lie on the image border.
type Edges struct{ Left, Top, Right, Bottom bool }

// AllEdges is a region that is the whole image.
var AllEdges = Edges{true, true, true, true}

// edgesOf returns which sides of r lie on the border of an image of w x h.
func edgesOf(r image.Rectangle, w, h int) Edges {
	return Edges{r.Min.X == 0, r.Min.Y == 0, r.Max.X == w, r.Max.Y == h}
}

// maps is a stack of feature maps: planes `plane` floats apart, each h rows
// of `stride` floats of which the first w are pixels.
type maps struct {
	data          []float32
	plane, stride int
	w, h          int
	rect          image.Rectangle // where the maps lie, in the coordinates of the network's input
	channels      int
}

// pixel returns the index of pixel (x, y) of channel c.
func (m maps) pixel(c, x, y int) int { return c*m.plane + y*m.stride + x }

// padSides copies src into dst, a tight (w+l+r) x (h+t+b) map per channel,
// replicating src's edge pixels l, t, r and b pixels outward.
func padSides(dst []float32, src maps, l, t, r, b int) maps {
	pw, ph := src.w+l+r, src.h+t+b
	out := maps{data: dst[:src.channels*pw*ph], plane: pw * ph, stride: pw, w: pw, h: ph,
		rect: image.Rect(src.rect.Min.X-l, src.rect.Min.Y-t, src.rect.Max.X+r, src.rect.Max.Y+b), channels: src.channels}
	for c := 0; c < src.channels; c++ {
		p := out.data[c*out.plane:][:out.plane]
		for y := 0; y < src.h; y++ {
			row := p[(y+t)*pw:][:pw]
			copy(row[l:l+src.w], src.data[src.pixel(c, 0, y):][:src.w])
			for x := 0; x < l; x++ {
				row[x] = row[l]
			}
			for x := l + src.w; x < pw; x++ {
				row[x] = row[l+src.w-1]
			}
		}
		for y := 0; y < t; y++ {
			copy(p[y*pw:][:pw], p[t*pw:][:pw])
		}
		for y := t + src.h; y < ph; y++ {
			copy(p[y*pw:][:pw], p[(t+src.h-1)*pw:][:pw])
		}
	}
	return out
}

// valid computes the layer's valid convolution of in into out (grown as
// needed and returned with the maps), through ReLU when withReLU is set.
// Whichever path runs, each output is bias + (the sum of its products in
// weight-row order), so all paths give identical numbers.
func (l *convLayer) valid(in maps, out []float32, withReLU bool, scratch *[]float32) maps {
	k := l.k
	oh, ow := in.h-k+1, in.w-k+1
	// The last row needs only its pixels: the reads then end inside the
	// input's last plane.
	n := (oh-1)*in.stride + ow
	res := maps{plane: oh * in.stride, stride: in.stride, w: ow, h: oh,
		rect: in.rect.Inset(k / 2), channels: l.out}
	res.data = grow(out, l.out*res.plane)
	kk := l.in * k * k
	boff := make([]int32, kk)
	for c := 0; c < l.in; c++ {
		for dy := 0; dy < k; dy++ {
			for dx := 0; dx < k; dx++ {
				boff[(c*k+dy)*k+dx] = int32(c*in.plane + dy*in.stride + dx)
			}
		}
	}
	switch {
	case l.narrow() && !narrowByGEMM:
		// Narrow layers: one weight at a time over whole rows of the map.
		for o := 0; o < l.out; o++ {
			row := res.data[o*res.plane:][:n]
			clear(row)
			for p, wv := range l.weight[o*kk:][:kk] {
				axpy(wv, in.data[boff[p]:][:n], row)
			}
			b := l.bias[o]
			for i := range row {
				row[i] = b + row[i]
			}
		}
		if withReLU {
			relu(res.data)
		}
	case convKernel != nil:
		convKernel(l.out, n, kk, l.weight, kk, in.data, boff, res.data, res.plane, l.bias, withReLU)
	default:
		// The im2col matrix, gathered from the offsets, and the GEMM,
		// which adds each sum into out once: starting out at the bias gives
		// bias + sum.
		*scratch = grow(*scratch, kk*n)
		cols := *scratch
		for p, off := range boff {
			copy(cols[p*n:][:n], in.data[off:][:n])
		}
		for o, b := range l.bias {
			row := res.data[o*res.plane:][:n]
			for i := range row {
				row[i] = b
			}
		}
		matMul(l.out, n, kk, l.weight, kk, cols, n, res.data, res.plane)
		if withReLU {
			relu(res.data)
		}
	}
	return res
}

// same computes the layer's same-size convolution of in with replicated
// edges on the sides in e and a valid one on the others.
func (l *convLayer) same(in maps, e Edges, pad, out []float32, relu bool, scratch *[]float32) (maps, []float32) {
	r := l.k / 2
	side := func(on bool) int {
		if on {
			return r
		}
		return 0
	}
	pl, pt, pr, pb := side(e.Left), side(e.Top), side(e.Right), side(e.Bottom)
	if pl+pt+pr+pb > 0 {
		pad = grow(pad, in.channels*(in.w+pl+pr)*(in.h+pt+pb))
		in = padSides(pad, in, pl, pt, pr, pb)
	}
	return l.valid(in, out, relu, scratch), pad
}

// inferer holds an inference's buffers so that tiles can reuse them.
type inferer struct {
	layers             []convLayer
	residual           bool
	a, b, pad, scratch []float32
}

func newInferer(m *Model) *inferer {
	return &inferer{layers: m.layers(), residual: m.Config.Residual}
}

// run returns the network's output for x, the tight h x w planes of a
// region whose sides e lie on the image border. The output covers the
// region less the network's radius on its other sides; its data is the
// inferer's own, overwritten by the next call.
func (f *inferer) run(x []float32, h, w int, e Edges) maps {
	channels := len(x) / (h * w)
	cur := maps{data: x, plane: h * w, stride: w, w: w, h: h, rect: image.Rect(0, 0, w, h), channels: channels}
	for i := range f.layers {
		l := &f.layers[i]
		cur, f.pad = l.same(cur, e, f.pad, f.a, i < len(f.layers)-1, &f.scratch)
		f.a, f.b = f.b, cur.data
	}
	if f.residual {
		for c := 0; c < channels; c++ {
			for y := 0; y < cur.h; y++ {
				row := cur.data[cur.pixel(c, 0, y):][:cur.w]
				src := x[c*h*w+(cur.rect.Min.Y+y)*w+cur.rect.Min.X:][:cur.w]
				for i, v := range src {
					row[i] += v
				}
			}
		}
	}
	return cur
}

// crop copies rectangle r (in the coordinates of m.rect) out of m, as
// tight planes.
func (m maps) crop(r image.Rectangle) []Plane {
	out := make([]Plane, m.channels)
	at := r.Min.Sub(m.rect.Min)
	for c := range out {
		out[c] = NewPlane(r.Dx(), r.Dy())
		for y := 0; y < r.Dy(); y++ {
			copy(out[c].Pix[y*r.Dx():][:r.Dx()], m.data[m.pixel(c, at.X, at.Y+y):][:r.Dx()])
		}
	}
	return out
}

// Infer runs the network on one pre-upsampled h x w image x ([channels][h*w])
// and returns the output in a new slice.
func (m *Model) Infer(x []float32, h, w int) []float32 {
	out := newInferer(m).run(x, h, w, AllEdges)
	var res []float32
	for _, p := range out.crop(image.Rect(0, 0, w, h)) {
		res = append(res, p.Pix...)
	}
	return res
}
