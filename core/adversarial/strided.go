// Package adversarial holds what adversarial training adds to the
// networks: for now the stride-2 convolution a discriminator shrinks its
// maps with (the discriminator, its losses and the training loop's part
// come with the Detailed look). Only training uses it; the page never runs
// it.
package adversarial

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"

	"github.com/srcnn-web/upscaler/core/kernels"
)

// StridedConvOp is a spago autograd function for a 2-D convolution with
// stride 2 and edge-replicating borders: output pixel (x, y) is the kernel
// centred on input pixel (2x, 2y), so an h x w map becomes ceil(h/2) x
// ceil(w/2). Discriminators shrink their maps with it; only training runs
// it. Operands are as ConvOp's: x ([in][batch*h*w]), the weights
// ([out][in*k*k]) and the bias ([out][1]); the product runs in the
// training kernels (im2col at the stride, then GEMM).
type StridedConvOp struct {
	x, w, b mat.Tensor
	k       int
	in, out geom // the input's and the output's geometry
	cols    []float32
}

var _ ag.AutoGradFunction = (*StridedConvOp)(nil)

// geom is a batch of maps' size.
type geom struct{ batch, h, w int }

func (g geom) plane() int  { return g.h * g.w }
func (g geom) pixels() int { return g.batch * g.h * g.w }

// Conv2DStride2 returns the graph node of a stride-2 convolution of x, a
// batch of `batch` maps of h x w pixels, with kernel size k (odd).
func Conv2DStride2(x, w, b mat.Tensor, batch, h, width, k int) mat.Tensor {
	return ag.NewOperator(&StridedConvOp{x: x, w: w, b: b, k: k,
		in: geom{batch, h, width}, out: geom{batch, (h + 1) / 2, (width + 1) / 2}}).Run()
}

// Operands returns x, the weights and the bias.
func (c *StridedConvOp) Operands() []mat.Tensor { return []mat.Tensor{c.x, c.w, c.b} }

// shape returns the filters and input channels, checking the operands.
func (c *StridedConvOp) shape() (out, in int, err error) {
	ws, xs := c.w.Value().Shape(), c.x.Value().Shape()
	if c.k <= 0 || c.k%2 == 0 || ws[1]%(c.k*c.k) != 0 {
		return 0, 0, fmt.Errorf("strided conv: weights %v do not fit a %dx%d kernel", ws, c.k, c.k)
	}
	out, in = ws[0], ws[1]/(c.k*c.k)
	if xs[0] != in || xs[1] != c.in.pixels() {
		return 0, 0, fmt.Errorf("strided conv: input %v, want [%d %d]", xs, in, c.in.pixels())
	}
	if c.b.Value().Size() != out {
		return 0, 0, fmt.Errorf("strided conv: bias has %d values, want %d", c.b.Value().Size(), out)
	}
	return out, in, nil
}

// Forward computes the convolution.
func (c *StridedConvOp) Forward() (mat.Tensor, error) {
	out, in, err := c.shape()
	if err != nil {
		return nil, err
	}
	n, kk := c.out.pixels(), in*c.k*c.k
	c.cols = make([]float32, kk*n)
	c.taps(in, func(row []float32, i int, src []float32, j int) { row[i] = src[j] }, c.x.Value().Data().F32(), c.cols)
	y := make([]float32, out*n)
	kernels.TrainMatMul(out, n, kk, c.w.Value().Data().F32(), kk, c.cols, n, y, n)
	kernels.AddBias(y, c.b.Value().Data().F32(), n)
	return mat.NewDense[float32](mat.WithShape(out, n), mat.WithBacking(y)), nil
}

// taps visits, for every input channel and kernel tap, every output pixel
// and the input pixel it reads (clamped to the map): f(cols row, output
// index, x, input index). Forward copies x into the rows (im2col at the
// stride); Backward adds the rows back into x's gradient (col2im).
func (c *StridedConvOp) taps(in int, f func(row []float32, i int, x []float32, j int), x, cols []float32) {
	k, r := c.k, c.k/2
	n, hw, ohw := c.out.pixels(), c.in.plane(), c.out.plane()
	for ch := 0; ch < in; ch++ {
		for dy := 0; dy < k; dy++ {
			for dx := 0; dx < k; dx++ {
				row := cols[((ch*k+dy)*k+dx)*n:][:n]
				for b := 0; b < c.in.batch; b++ {
					src := x[ch*c.in.pixels()+b*hw:][:hw]
					for y := 0; y < c.out.h; y++ {
						sy := min(max(2*y+dy-r, 0), c.in.h-1)
						for xx := 0; xx < c.out.w; xx++ {
							f(row, b*ohw+y*c.out.w+xx, src, sy*c.in.w+min(max(2*xx+dx-r, 0), c.in.w-1))
						}
					}
				}
			}
		}
	}
}

// Backward accumulates the gradients of x, the weights and the bias.
func (c *StridedConvOp) Backward(gy mat.Tensor) error {
	out, in, err := c.shape()
	if err != nil {
		return err
	}
	n, kk := c.out.pixels(), in*c.k*c.k
	g := gy.Data().F32()
	if len(g) != out*n {
		return fmt.Errorf("strided conv: output gradient has %d values, want %d", len(g), out*n)
	}
	if c.w.RequiresGrad() {
		gw := make([]float32, out*kk)
		kernels.MatMulNT(out, kk, n, g, n, c.cols, n, gw, kk)
		c.w.AccGrad(mat.NewDense[float32](mat.WithShape(out, kk), mat.WithBacking(gw)))
	}
	if c.b.RequiresGrad() {
		c.b.AccGrad(mat.NewDense[float32](mat.WithShape(out, 1), mat.WithBacking(kernels.RowSums(g, out, n))))
	}
	if c.x.RequiresGrad() {
		w := c.w.Value().Data().F32()
		wt := make([]float32, kk*out)
		for o := 0; o < out; o++ {
			for p := 0; p < kk; p++ {
				wt[p*out+o] = w[o*kk+p]
			}
		}
		gcols := make([]float32, kk*n)
		kernels.TrainMatMul(kk, n, out, wt, out, g, n, gcols, n)
		gx := make([]float32, in*c.in.pixels())
		c.taps(in, func(row []float32, i int, dst []float32, j int) { dst[j] += row[i] }, gx, gcols)
		c.x.AccGrad(mat.NewDense[float32](mat.WithShape(in, c.in.pixels()), mat.WithBacking(gx)))
	}
	c.cols = nil
	return nil
}
