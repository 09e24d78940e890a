package network

import "github.com/srcnn-web/upscaler/core/kernels"

// Feature Maps are float32 slices laid out channel by channel; a batch of
// images sits side by side inside each channel row ([C][B][H][W]), so one
// matrix product covers the whole batch. Convolutions are "same" size with
// edge-replicating borders: a pixel outside the map takes the value of the
// nearest pixel inside, in every layer.

// convGeom is the shape of the Maps a convolution sees.
type convGeom struct {
	batch, h, w int
}

func (g convGeom) plane() int  { return g.h * g.w }
func (g convGeom) pixels() int { return g.batch * g.h * g.w }

// clampIndex returns i clamped to [0, n).
func clampIndex(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// im2col writes the k*k shifted copies of every input channel as rows of
// cols ([c*k*k][pixels]), row (ch*k+dy)*k+dx holding in[ch][y+dy-r][x+dx-r]
// with coordinates clamped into the map.
func im2col(in []float32, channels int, g convGeom, k int, cols []float32) {
	r := k / 2
	n, hw := g.pixels(), g.plane()
	for ch := 0; ch < channels; ch++ {
		for dy := 0; dy < k; dy++ {
			for dx := 0; dx < k; dx++ {
				row := cols[((ch*k+dy)*k+dx)*n:][:n]
				for b := 0; b < g.batch; b++ {
					shiftPlane(row[b*hw:][:hw], in[ch*n+b*hw:][:hw], g.w, g.h, dx-r, dy-r)
				}
			}
		}
	}
}

// shiftPlane sets dst[y][x] = src[clamp(y+sy)][clamp(x+sx)] for a w x h
// plane. The rows that read inside src move as one block (a single copy,
// which matters in wasm, where every copy call costs); the few clamped
// pixels at the Edges are set afterwards.
func shiftPlane(dst, src []float32, w, h, sx, sy int) {
	y0, y1 := max(0, -sy), min(h, h-sy) // rows reading inside src
	if y0 < y1 {
		s := sy*w + sx
		a, b := max(y0*w, -s), min(y1*w, len(src)-s)
		if a < b {
			copy(dst[a:b], src[a+s:b+s])
		}
		lo, hi := max(0, -sx), min(w, w-sx) // columns reading inside a row
		for y := y0; y < y1; y++ {
			srow, drow := src[(y+sy)*w:][:w], dst[y*w:][:w]
			if lo >= hi {
				shiftRow(drow, srow, sx)
				continue
			}
			for x := 0; x < lo; x++ {
				drow[x] = srow[0]
			}
			for x := hi; x < w; x++ {
				drow[x] = srow[w-1]
			}
			// a and b cut the block copy short only inside these edge
			// columns, which were just set.
		}
	}
	for y := 0; y < h; y++ {
		if y < y0 || y >= y1 {
			shiftRow(dst[y*w:][:w], src[clampIndex(y+sy, h)*w:][:w], sx)
		}
	}
}

// shiftRow sets dst[x] = src[clamp(x+s)].
func shiftRow(dst, src []float32, s int) {
	w := len(src)
	lo, hi := max(0, -s), min(w, w-s) // x in [lo, hi) reads inside src
	if lo >= hi {
		for x := range dst {
			dst[x] = src[clampIndex(x+s, w)]
		}
		return
	}
	for x := 0; x < lo; x++ {
		dst[x] = src[0]
	}
	copy(dst[lo:hi], src[lo+s:hi+s])
	for x := hi; x < w; x++ {
		dst[x] = src[w-1]
	}
}

// col2im is the adjoint of im2col: it adds every entry of cols back into the
// input pixel it was copied from.
func col2im(cols []float32, channels int, g convGeom, k int, in []float32) {
	r := k / 2
	n, hw := g.pixels(), g.plane()
	for ch := 0; ch < channels; ch++ {
		for dy := 0; dy < k; dy++ {
			for dx := 0; dx < k; dx++ {
				row := cols[((ch*k+dy)*k+dx)*n:][:n]
				for b := 0; b < g.batch; b++ {
					dst := in[ch*n+b*hw:][:hw]
					src := row[b*hw:][:hw]
					for y := 0; y < g.h; y++ {
						drow := dst[clampIndex(y+dy-r, g.h)*g.w:][:g.w]
						unshiftRowAdd(drow, src[y*g.w:][:g.w], dx-r)
					}
				}
			}
		}
	}
}

// unshiftRowAdd adds src[x] into dst[clamp(x+s)]: a vector add inside,
// the clamped ends piling onto the edge pixels.
func unshiftRowAdd(dst, src []float32, s int) {
	w := len(dst)
	lo, hi := max(0, -s), min(w, w-s)
	if lo >= hi {
		for x, v := range src {
			dst[clampIndex(x+s, w)] += v
		}
		return
	}
	for _, v := range src[:lo] {
		dst[0] += v
	}
	kernels.TrainAxpy(1, src[lo:hi], dst[lo+s:hi+s])
	for _, v := range src[hi:] {
		dst[w-1] += v
	}
}

// convLayer is one convolution's parameters as flat slices: weights
// [out][in*k*k] and bias [out].
type convLayer struct {
	in, out, k int
	weight     []float32
	bias       []float32
	slope      []float32 // PReLU's per output channel; nil for ReLU
}

// directMaxOut is the widest layer that runs as a direct convolution rather
// than im2col + GEMM. Narrow layers (1 or 3 outputs) are bound by memory
// traffic, and writing k*k copies of the input costs more than it saves.
const directMaxOut = 3

// narrow reports whether the layer is narrow enough for the direct
// convolution (which training always uses for such layers).
func (l *convLayer) narrow() bool { return l.k > 1 && l.out <= directMaxOut }

// direct sums the products of a narrow convolution straight into out, one
// weight (input channel, dy, dx) at a time, in weight-row order, with the
// given axpy kernel.
func (l *convLayer) direct(in []float32, g convGeom, out []float32, axpy func(a float32, x, y []float32)) {
	n, hw, k := g.pixels(), g.plane(), l.k
	kk := l.in * k * k
	for o := 0; o < l.out; o++ {
		wrow := l.weight[o*kk:][:kk]
		for b := 0; b < g.batch; b++ {
			dst := out[o*n+b*hw:][:hw]
			for ch := 0; ch < l.in; ch++ {
				src := in[ch*n+b*hw:][:hw]
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						wv := wrow[(ch*k+dy)*k+dx]
						for y := 0; y < g.h; y++ {
							srow := src[clampIndex(y+dy-k/2, g.h)*g.w:][:g.w]
							shiftedAxpy(wv, srow, dst[y*g.w:][:g.w], dx-k/2, axpy)
						}
					}
				}
			}
		}
	}
}

// shiftedAxpy adds a*src[clamp(x+s)] into dst[x] for every x.
func shiftedAxpy(a float32, src, dst []float32, s int, axpy func(a float32, x, y []float32)) {
	w := len(src)
	lo, hi := max(0, -s), min(w, w-s) // x in [lo, hi) reads inside src
	for x := 0; x < min(lo, w); x++ {
		dst[x] += float32(a * src[clampIndex(x+s, w)])
	}
	if lo < hi {
		axpy(a, src[lo+s:hi+s], dst[lo:hi])
	}
	for x := max(hi, lo); x < w; x++ {
		dst[x] += float32(a * src[clampIndex(x+s, w)])
	}
}

// directGrads computes a narrow layer's weight gradient (returned) and adds
// its input gradient into gx (if not nil), without an im2col matrix.
func (l *convLayer) directGrads(in, gy []float32, g convGeom, gx []float32) []float32 {
	n, hw, k, r := g.pixels(), g.plane(), l.k, l.k/2
	kk := l.in * k * k
	gw := make([]float32, l.out*kk)
	shifted := make([]float32, g.w)
	for o := 0; o < l.out; o++ {
		for b := 0; b < g.batch; b++ {
			grad := gy[o*n+b*hw:][:hw]
			for ch := 0; ch < l.in; ch++ {
				src := in[ch*n+b*hw:][:hw]
				for dy := 0; dy < k; dy++ {
					for dx := 0; dx < k; dx++ {
						p := (ch*k+dy)*k + dx
						wv := l.weight[o*kk+p]
						var s float32
						for y := 0; y < g.h; y++ {
							sy := clampIndex(y+dy-r, g.h)
							shiftRow(shifted, src[sy*g.w:][:g.w], dx-r)
							s += kernels.TrainDot(grad[y*g.w:][:g.w], shifted)
							if gx != nil {
								unshiftAxpy(wv, grad[y*g.w:][:g.w], gx[ch*n+b*hw+sy*g.w:][:g.w], dx-r)
							}
						}
						gw[o*kk+p] += s
					}
				}
			}
		}
	}
	return gw
}

// unshiftAxpy adds a*src[x] into dst[clamp(x+s)] for every x: the adjoint
// of shiftedAxpy.
func unshiftAxpy(a float32, src, dst []float32, s int) {
	w := len(src)
	lo, hi := max(0, -s), min(w, w-s)
	for x := 0; x < min(lo, w); x++ {
		dst[clampIndex(x+s, w)] += a * src[x]
	}
	if lo < hi {
		kernels.TrainAxpy(a, src[lo:hi], dst[lo+s:hi+s])
	}
	for x := max(hi, lo); x < w; x++ {
		dst[clampIndex(x+s, w)] += a * src[x]
	}
}

// grow returns s resliced to n, or a new slice if s is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
