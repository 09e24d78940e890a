package network

import (
	"image"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
)

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
// computed from offset y*stride, the last values of each row (which read
// into the next row) being computed and then ignored or overwritten. So a
// layer reads its input where the previous one wrote it, with no copies. A
// layer writes its output with room around it for the next layer's
// replicated border, and fills that border in place.

// Edges says which sides of a region lie on the image border.
type Edges struct{ Left, Top, Right, Bottom bool }

// allEdges is a region that is the whole image.
var allEdges = Edges{true, true, true, true}

// EdgesOf returns which sides of r lie on the border of an image of w x h.
func EdgesOf(r image.Rectangle, w, h int) Edges {
	return Edges{r.Min.X == 0, r.Min.Y == 0, r.Max.X == w, r.Max.Y == h}
}

// Maps is a stack of feature maps: planes `plane` floats apart, each h rows
// of `stride` floats of which the first w are pixels.
type Maps struct {
	Data          []float32 // the planes
	plane, stride int
	w, h          int
	Rect          image.Rectangle // where the Maps lie, in the coordinates of the network's input
	channels      int
}

// NewMaps wraps tight planes (channels of r's size, one after the other)
// as Maps lying at r: a network's result computed elsewhere.
func NewMaps(data []float32, channels int, r image.Rectangle) Maps {
	return Maps{Data: data, plane: r.Dx() * r.Dy(), stride: r.Dx(), w: r.Dx(), h: r.Dy(), Rect: r, channels: channels}
}

// Pixel returns the index of pixel (x, y) of channel c.
func (m Maps) Pixel(c, x, y int) int { return c*m.plane + y*m.stride + x }

// border is how many pixels a map is extended by on each side.
type border struct{ l, t, r, b int }

// borderFor returns the replicated border a layer of radius r needs on the
// sides of e.
func borderFor(e Edges, r int) border {
	side := func(on bool) int {
		if on {
			return r
		}
		return 0
	}
	return border{side(e.Left), side(e.Top), side(e.Right), side(e.Bottom)}
}

// extend sets the border pixels of m (b around its inner pixels) to copies
// of the nearest inner pixel.
func (m Maps) extend(b border) {
	iw := m.w - b.l - b.r
	for c := 0; c < m.channels; c++ {
		p := m.Data[c*m.plane:][:m.plane]
		for y := b.t; y < m.h-b.b; y++ {
			row := p[y*m.stride:][:m.w]
			for x := 0; x < b.l; x++ {
				row[x] = row[b.l]
			}
			for x := b.l + iw; x < m.w; x++ {
				row[x] = row[b.l+iw-1]
			}
		}
		for y := 0; y < b.t; y++ {
			copy(p[y*m.stride:][:m.w], p[b.t*m.stride:][:m.w])
		}
		for y := m.h - b.b; y < m.h; y++ {
			copy(p[y*m.stride:][:m.w], p[(m.h-b.b-1)*m.stride:][:m.w])
		}
	}
}

// withBorder copies src into dst as Maps of the given stride, extended by b
// with replicated pixels.
func withBorder(dst []float32, src Maps, b border, stride int) Maps {
	w, h := src.w+b.l+b.r, src.h+b.t+b.b
	out := Maps{Data: grow(dst, src.channels*h*stride), plane: h * stride, stride: stride, w: w, h: h,
		Rect: image.Rect(src.Rect.Min.X-b.l, src.Rect.Min.Y-b.t, src.Rect.Max.X+b.r, src.Rect.Max.Y+b.b), channels: src.channels}
	for c := 0; c < src.channels; c++ {
		for y := 0; y < src.h; y++ {
			copy(out.Data[out.Pixel(c, b.l, b.t+y):][:src.w], src.Data[src.Pixel(c, 0, y):][:src.w])
		}
	}
	out.extend(b)
	return out
}

// valid computes the layer's valid convolution of in into out (grown as
// needed and returned with the Maps), through its activation (ReLU, or
// PReLU with its slopes) when activate is set,
// with a replicated border b around it for the next layer. Whichever path
// runs, each output is bias + (the sum of its products in weight-row
// order), so all paths give identical numbers.
func (l *convLayer) valid(in Maps, b border, out []float32, activate bool, scratch *[]float32) Maps {
	// ReLU runs inside the kernels; PReLU after them.
	withReLU := activate && l.slope == nil
	k := l.k
	oh, ow := in.h-k+1, in.w-k+1
	res := Maps{stride: in.stride, w: ow + b.l + b.r, h: oh + b.t + b.b, channels: l.out}
	if res.w > res.stride {
		panic("core: a layer's border does not fit its stride")
	}
	res.plane = res.h * res.stride
	r := in.Rect.Inset(k / 2)
	res.Rect = image.Rect(r.Min.X-b.l, r.Min.Y-b.t, r.Max.X+b.r, r.Max.Y+b.b)
	res.Data = grow(out, l.out*res.plane)
	// The outputs start inside the border; the last row needs only its
	// pixels, so the reads end inside the input's last plane.
	at := b.t*res.stride + b.l
	n := (oh-1)*in.stride + ow
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
	case l.narrow() && !kernels.NarrowByGEMM():
		// Narrow layers: one weight at a time over whole rows of the map.
		for o := 0; o < l.out; o++ {
			row := res.Data[o*res.plane+at:][:n]
			clear(row)
			for p, wv := range l.weight[o*kk:][:kk] {
				kernels.Axpy(wv, in.Data[boff[p]:][:n], row)
			}
			bias := l.bias[o]
			for i := range row {
				row[i] = bias + row[i]
			}
		}
		if withReLU {
			kernels.ReLU(res.Data)
		}
	case kernels.ActiveConv() != nil:
		kernels.ActiveConv()(l.out, n, kk, l.weight, kk, in.Data, boff, res.Data[at:], res.plane, l.bias, withReLU)
	default:
		// The im2col matrix, gathered from the offsets, and the GEMM,
		// which adds each sum into out once: starting out at the bias gives
		// bias + sum.
		*scratch = grow(*scratch, kk*n)
		cols := *scratch
		for p, off := range boff {
			copy(cols[p*n:][:n], in.Data[off:][:n])
		}
		for o, bias := range l.bias {
			row := res.Data[o*res.plane+at:][:n]
			for i := range row {
				row[i] = bias
			}
		}
		kernels.MatMul(l.out, n, kk, l.weight, kk, cols, n, res.Data[at:], res.plane)
		if withReLU {
			kernels.ReLU(res.Data)
		}
	}
	if activate && l.slope != nil {
		kernels.PReLU(res.Data, res.plane, l.slope)
	}
	if b != (border{}) {
		res.extend(b)
	}
	return res
}

// Inferer holds an inference's buffers so that tiles can reuse them.
type Inferer struct {
	layers                []convLayer
	residual              bool
	a, b, padded, scratch []float32
}

// NewInferer returns an inferer for model m.
func NewInferer(m *Model) *Inferer {
	return &Inferer{layers: m.layers(), residual: m.Config.Residual && !m.Config.LowRes()}
}

// Run returns the network's output for x, the tight h x w planes of a
// region whose sides e lie on the image border. The output covers the
// region less the network's radius on its other sides; its data is the
// Inferer's own, overwritten by the next call.
func (f *Inferer) Run(x []float32, h, w int, e Edges) Maps {
	channels := len(x) / (h * w)
	cur := Maps{Data: x, plane: h * w, stride: w, w: w, h: h, Rect: image.Rect(0, 0, w, h), channels: channels}
	// One stride for all layers, wide enough for the widest border.
	maxR := 0
	for _, l := range f.layers {
		maxR = max(maxR, l.k/2)
	}
	// A region with a border side starts in a copy at that stride (with the
	// first layer's border, none for a 1x1 layer); one without keeps x's.
	if wide := borderFor(e, maxR); wide != (border{}) {
		cur = withBorder(f.padded, cur, borderFor(e, f.layers[0].k/2), w+wide.l+wide.r)
		f.padded = cur.Data
	}
	for i := range f.layers {
		var next border // the next layer's border, none after the last
		if i+1 < len(f.layers) {
			next = borderFor(e, f.layers[i+1].k/2)
		}
		cur = f.layers[i].valid(cur, next, f.a, i < len(f.layers)-1, &f.scratch)
		f.a, f.b = f.b, cur.Data
	}
	if f.residual {
		for c := 0; c < channels; c++ {
			for y := 0; y < cur.h; y++ {
				row := cur.Data[cur.Pixel(c, 0, y):][:cur.w]
				src := x[c*h*w+(cur.Rect.Min.Y+y)*w+cur.Rect.Min.X:][:cur.w]
				for i, v := range src {
					row[i] += v
				}
			}
		}
	}
	return cur
}

// Crop copies rectangle r (in the coordinates of m.Rect) out of m, as
// tight planes.
func (m Maps) Crop(r image.Rectangle) []imaging.Plane {
	out := make([]imaging.Plane, m.channels)
	at := r.Min.Sub(m.Rect.Min)
	for c := range out {
		out[c] = imaging.NewPlane(r.Dx(), r.Dy())
		for y := 0; y < r.Dy(); y++ {
			copy(out[c].Pix[y*r.Dx():][:r.Dx()], m.Data[m.Pixel(c, at.X, at.Y+y):][:r.Dx()])
		}
	}
	return out
}

// Infer runs the network on one pre-upsampled h x w image x ([channels][h*w])
// and returns the output in a new slice.
func (m *Model) Infer(x []float32, h, w int) []float32 {
	out := NewInferer(m).Run(x, h, w, allEdges)
	var res []float32
	for _, p := range out.Crop(image.Rect(0, 0, w, h)) {
		res = append(res, p.Pix...)
	}
	return res
}
