package network

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/srcnn-web/upscaler/core/kernels"
)

// ConvOp is a spago autograd function for a same-size 2-D convolution with
// edge-replicating borders over a batch of feature Maps. Operands are x
// ([in][batch*h*w]), the weights ([out][in*k*k]) and the bias ([out][1]).
// Forward runs im2col + GEMM (or the direct kernel for narrow layers);
// Backward gives the gradients of all three.
type ConvOp struct {
	x, w, b mat.Tensor
	k       int
	geom    convGeom
	cols    []float32 // the im2col matrix of x, kept for the weight gradient
	pooled  bool      // cols came from getBuffer
}

var _ ag.AutoGradFunction = (*ConvOp)(nil)

// Conv2D returns the graph node of a convolution of x, a batch of `batch`
// Maps of h x w pixels, with kernel size k (odd).
func Conv2D(x, w, b mat.Tensor, batch, h, width, k int) mat.Tensor {
	return ag.NewOperator(&ConvOp{x: x, w: w, b: b, k: k, geom: convGeom{batch, h, width}}).Run()
}

// Operands returns x, the weights and the bias.
func (c *ConvOp) Operands() []mat.Tensor { return []mat.Tensor{c.x, c.w, c.b} }

func (c *ConvOp) layer() (*convLayer, error) {
	ws, xs := c.w.Value().Shape(), c.x.Value().Shape()
	out := ws[0]
	if c.k <= 0 || c.k%2 == 0 || ws[1]%(c.k*c.k) != 0 {
		return nil, fmt.Errorf("conv: weights %v do not fit a %dx%d kernel", ws, c.k, c.k)
	}
	in := ws[1] / (c.k * c.k)
	if xs[0] != in || xs[1] != c.geom.pixels() {
		return nil, fmt.Errorf("conv: input %v, want [%d %d]", xs, in, c.geom.pixels())
	}
	if c.b.Value().Size() != out {
		return nil, fmt.Errorf("conv: bias has %d values, want %d", c.b.Value().Size(), out)
	}
	return &convLayer{in: in, out: out, k: c.k,
		weight: c.w.Value().Data().F32(), bias: c.b.Value().Data().F32()}, nil
}

// Forward computes the convolution.
func (c *ConvOp) Forward() (mat.Tensor, error) {
	l, err := c.layer()
	if err != nil {
		return nil, err
	}
	x := c.x.Value().Data().F32()
	n := c.geom.pixels()
	out := make([]float32, l.out*n)
	if l.narrow() {
		l.direct(x, c.geom, out, kernels.TrainAxpy)
		kernels.AddBias(out, l.bias, n)
		return mat.NewDense[float32](mat.WithShape(l.out, n), mat.WithBacking(out)), nil
	}
	kk := l.in * l.k * l.k
	if l.k == 1 {
		c.cols = x
	} else {
		c.cols = getBuffer(kk * n)
		c.pooled = true
		im2col(x, l.in, c.geom, l.k, c.cols)
	}
	kernels.TrainMatMul(l.out, n, kk, l.weight, kk, c.cols, n, out, n)
	kernels.AddBias(out, l.bias, n)
	return mat.NewDense[float32](mat.WithShape(l.out, n), mat.WithBacking(out)), nil
}

// Backward accumulates the gradients of x, the weights and the bias.
func (c *ConvOp) Backward(gy mat.Tensor) error {
	l, err := c.layer()
	if err != nil {
		return err
	}
	n := c.geom.pixels()
	kk := l.in * l.k * l.k
	g := gy.Data().F32()
	if len(g) != l.out*n {
		return fmt.Errorf("conv: output gradient has %d values, want %d", len(g), l.out*n)
	}
	if l.narrow() {
		x := c.x.Value().Data().F32()
		var gx []float32
		if c.x.RequiresGrad() {
			gx = make([]float32, l.in*n)
		}
		gw := l.directGrads(x, g, c.geom, gx)
		c.w.AccGrad(mat.NewDense[float32](mat.WithShape(l.out, kk), mat.WithBacking(gw)))
		c.b.AccGrad(mat.NewDense[float32](mat.WithShape(l.out, 1), mat.WithBacking(kernels.RowSums(g, l.out, n))))
		if gx != nil {
			c.x.AccGrad(mat.NewDense[float32](mat.WithShape(l.in, n), mat.WithBacking(gx)))
		}
		return nil
	}
	if c.w.RequiresGrad() {
		gw := make([]float32, l.out*kk)
		kernels.MatMulNT(l.out, kk, n, g, n, c.cols, n, gw, kk)
		c.w.AccGrad(mat.NewDense[float32](mat.WithShape(l.out, kk), mat.WithBacking(gw)))
	}
	if c.b.RequiresGrad() {
		c.b.AccGrad(mat.NewDense[float32](mat.WithShape(l.out, 1), mat.WithBacking(kernels.RowSums(g, l.out, n))))
	}
	if c.x.RequiresGrad() {
		wt := make([]float32, kk*l.out)
		for o := 0; o < l.out; o++ {
			for p := 0; p < kk; p++ {
				wt[p*l.out+o] = l.weight[o*kk+p]
			}
		}
		var gx []float32
		if l.k == 1 {
			gx = make([]float32, kk*n)
			kernels.TrainMatMul(kk, n, l.out, wt, l.out, g, n, gx, n)
		} else {
			gcols := getBuffer(kk * n)
			clear(gcols)
			kernels.TrainMatMul(kk, n, l.out, wt, l.out, g, n, gcols, n)
			gx = make([]float32, l.in*n)
			col2im(gcols, l.in, c.geom, l.k, gx)
			putBuffer(gcols)
		}
		c.x.AccGrad(mat.NewDense[float32](mat.WithShape(l.in, n), mat.WithBacking(gx)))
	}
	if c.pooled {
		putBuffer(c.cols)
	}
	c.cols, c.pooled = nil, false
	return nil
}

// colBuffers holds training's im2col matrices (twice per layer and step),
// apart from the kernels' own buffers, as their sizes differ.
var colBuffers kernels.Pool

func getBuffer(n int) []float32 { return colBuffers.Get(n) }

func putBuffer(b []float32) { colBuffers.Put(b) }

// ReLUOp is max(0, x) as a spago autograd function; spago's own ReLU calls a
// function per element, which costs more than a whole convolution here.
type ReLUOp struct {
	x mat.Tensor
	y []float32
}

// ReLU returns the graph node of max(0, x).
func ReLU(x mat.Tensor) mat.Tensor {
	return ag.NewOperator(&ReLUOp{x: x}).Run()
}

// Operands returns x.
func (r *ReLUOp) Operands() []mat.Tensor { return []mat.Tensor{r.x} }

// Forward computes max(0, x).
func (r *ReLUOp) Forward() (mat.Tensor, error) {
	v := r.x.Value()
	r.y = append([]float32(nil), v.Data().F32()...)
	kernels.ReLU(r.y)
	return mat.NewDense[float32](mat.WithShape(v.Shape()...), mat.WithBacking(r.y)), nil
}

// Backward passes the gradient where the output is positive.
func (r *ReLUOp) Backward(gy mat.Tensor) error {
	if !r.x.RequiresGrad() {
		return nil
	}
	g := gy.Data().F32()
	gx := make([]float32, len(g))
	for i, y := range r.y[:len(g)] {
		if y > 0 {
			gx[i] = g[i]
		}
	}
	r.x.AccGrad(mat.NewDense[float32](mat.WithShape(gy.Shape()...), mat.WithBacking(gx)))
	return nil
}

// PReLUOp is PReLU as a spago autograd function: x ([channels][n]) where
// it is positive, else x times its channel's slope (a: [channels][1]).
type PReLUOp struct {
	x, a mat.Tensor
}

// PReLU returns the graph node of PReLU(x) with per-channel slopes a.
func PReLU(x, a mat.Tensor) mat.Tensor {
	return ag.NewOperator(&PReLUOp{x: x, a: a}).Run()
}

// Operands returns x and the slopes.
func (p *PReLUOp) Operands() []mat.Tensor { return []mat.Tensor{p.x, p.a} }

// Forward computes x or a*x per element.
func (p *PReLUOp) Forward() (mat.Tensor, error) {
	v := p.x.Value()
	y := append([]float32(nil), v.Data().F32()...)
	a := p.a.Value().Data().F32()
	kernels.PReLU(y, len(y)/len(a), a)
	return mat.NewDense[float32](mat.WithShape(v.Shape()...), mat.WithBacking(y)), nil
}

// Backward passes the gradient where x is positive, a times it elsewhere,
// and sums x times the gradient over each channel's negative values into
// the slope's gradient.
func (p *PReLUOp) Backward(gy mat.Tensor) error {
	g, x, a := gy.Data().F32(), p.x.Value().Data().F32(), p.a.Value().Data().F32()
	n := len(x) / len(a)
	gx, ga := make([]float32, len(g)), make([]float32, len(a))
	for c, s := range a {
		for i := c * n; i < (c+1)*n; i++ {
			if x[i] > 0 {
				gx[i] = g[i]
				continue
			}
			gx[i] = s * g[i]
			ga[c] += x[i] * g[i]
		}
	}
	if p.x.RequiresGrad() {
		p.x.AccGrad(mat.NewDense[float32](mat.WithShape(gy.Shape()...), mat.WithBacking(gx)))
	}
	if p.a.RequiresGrad() {
		p.a.AccGrad(mat.NewDense[float32](mat.WithShape(p.a.Value().Shape()...), mat.WithBacking(ga)))
	}
	return nil
}
