package network

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// ECB is a 3x3 convolution trained as the parallel branches of ECBSR's
// edge-oriented block (Zhang et al. 2021), whose sum is one 3x3 kernel and
// bias:
//
//   - a 3x3 convolution;
//   - a 1x1 convolution widening to Mid channels, then a 3x3 one;
//   - for each of Sobel-x, Sobel-y and the Laplacian: a 1x1 convolution,
//     then the fixed filter on each channel, scaled by a learned factor;
//   - the identity, when the block Maps a width to itself.
//
// Training collapses the branches into that kernel at every step (Weight
// and Bias are graph nodes), so a step costs about what the plain
// convolution costs while every branch parameter gets its gradient.
// Weights files keep only the collapsed kernel. With edge-replicating
// borders the collapse is exact: replicating the border commutes with 1x1
// convolutions and with sums.
type ECB struct {
	In, Out, Mid int
	Identity     bool

	W3, B3 *nn.Param // [Out][In*9], [Out][1]
	A, Ab  *nn.Param // 1x1 widening: [Mid][In], [Mid][1]
	B, Bb  *nn.Param // 3x3 after it: [Out][Mid*9], [Out][1]
	// Edge branches, one per filter of edgeFilters: 1x1 [Out][In] and its
	// bias, the per-channel scale and the bias after the fixed filter.
	P, Pb, S, Sb [3]*nn.Param
}

// edgeFilters are the fixed 3x3 filters of the edge branches: Sobel-x,
// Sobel-y and the Laplacian, row by row.
var edgeFilters = [3][9]float32{
	{1, 0, -1, 2, 0, -2, 1, 0, -1},
	{1, 2, 1, 0, 0, 0, -1, -2, -1},
	{0, 1, 0, 1, -4, 1, 0, 1, 0},
}

// ecbMidFactor is how much wider than its output the 1x1-3x3 branch's
// middle is (ECBSR's depth multiplier).
const ecbMidFactor = 2

// NewECB returns a block of in to out channels with weights drawn from rng:
// the 3x3 branch He-initialised (scaled by gain), the others small, as
// ECBSR starts them. identity adds the identity branch (in must equal
// out); ECBSR gives it to the body's blocks, not to the head or the tail.
func NewECB(in, out int, identity bool, gain float64, rng *rand.Rand) *ECB {
	e := &ECB{In: in, Out: out, Mid: ecbMidFactor * out, Identity: identity && in == out}
	normal := func(rows, cols int, std float64) *nn.Param {
		d := make([]float32, rows*cols)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
		return newParam(d, rows, cols)
	}
	he := func(fanIn int) float64 { return gain * math.Sqrt(2/float64(fanIn)) }
	e.W3, e.B3 = normal(out, in*9, he(in*9)), normal(out, 1, 0)
	e.A, e.Ab = normal(e.Mid, in, he(in)), normal(e.Mid, 1, 0)
	e.B, e.Bb = normal(out, e.Mid*9, he(e.Mid*9)*0.1), normal(out, 1, 0)
	for f := range edgeFilters {
		e.P[f], e.Pb[f] = normal(out, in, he(in)), normal(out, 1, 0)
		e.S[f], e.Sb[f] = normal(out, 1, 1e-3), normal(out, 1, 1e-3)
	}
	return e
}

// Params lists the block's parameters in a fixed order.
func (e *ECB) Params() []*nn.Param {
	ps := []*nn.Param{e.W3, e.B3, e.A, e.Ab, e.B, e.Bb}
	for f := range edgeFilters {
		ps = append(ps, e.P[f], e.Pb[f], e.S[f], e.Sb[f])
	}
	return ps
}

// Clone returns a block with copies of e's parameters.
func (e *ECB) Clone() *ECB {
	c := *e
	cp := func(p *nn.Param) *nn.Param { return nn.NewParam(p.Value().(mat.Matrix)) }
	c.W3, c.B3, c.A, c.Ab, c.B, c.Bb = cp(e.W3), cp(e.B3), cp(e.A), cp(e.Ab), cp(e.B), cp(e.Bb)
	for f := range edgeFilters {
		c.P[f], c.Pb[f], c.S[f], c.Sb[f] = cp(e.P[f]), cp(e.Pb[f]), cp(e.S[f]), cp(e.Sb[f])
	}
	return &c
}

// f32 is a parameter's values.
func f32(p *nn.Param) []float32 { return p.Value().Data().F32() }

// Collapse returns the single 3x3 kernel ([Out][In*9]) and bias ([Out])
// that the branches sum to.
func (e *ECB) Collapse() (w, b []float32) {
	in, out, mid := e.In, e.Out, e.Mid
	w = append([]float32(nil), f32(e.W3)...)
	b = append([]float32(nil), f32(e.B3)...)
	A, Ab, B, Bb := f32(e.A), f32(e.Ab), f32(e.B), f32(e.Bb)
	for o := 0; o < out; o++ {
		wo := w[o*in*9:][:in*9]
		bo := Bb[o]
		for m := 0; m < mid; m++ {
			bk := B[(o*mid+m)*9:][:9]
			am := A[m*in:][:in]
			for i, a := range am {
				for k, v := range bk {
					wo[i*9+k] += v * a
				}
			}
			for _, v := range bk {
				bo += v * Ab[m]
			}
		}
		b[o] += bo
		for f, mask := range edgeFilters {
			s, P := f32(e.S[f])[o], f32(e.P[f])[o*in:][:in]
			sum := float32(0)
			for _, v := range mask {
				sum += v
			}
			for i, p := range P {
				for k, v := range mask {
					wo[i*9+k] += s * v * p
				}
			}
			b[o] += s*sum*f32(e.Pb[f])[o] + f32(e.Sb[f])[o]
		}
		if e.Identity {
			wo[o*9+4]++
		}
	}
	return w, b
}

// collapseGrads returns the gradients of the branch parameters, in Params
// order, given those of the collapsed kernel (gw) and bias (gb); either
// may be nil.
func (e *ECB) collapseGrads(gw, gb []float32) [][]float32 {
	in, out, mid := e.In, e.Out, e.Mid
	if gw == nil {
		gw = make([]float32, out*in*9)
	}
	if gb == nil {
		gb = make([]float32, out)
	}
	A, Ab, B := f32(e.A), f32(e.Ab), f32(e.B)
	gA, gAb, gB := make([]float32, mid*in), make([]float32, mid), make([]float32, out*mid*9)
	for o := 0; o < out; o++ {
		gwo := gw[o*in*9:][:in*9]
		for m := 0; m < mid; m++ {
			bk := B[(o*mid+m)*9:][:9]
			gbk := gB[(o*mid+m)*9:][:9]
			am := A[m*in:][:in]
			for i := range am {
				for k := range bk {
					gbk[k] += gwo[i*9+k] * am[i]
					gA[m*in+i] += gwo[i*9+k] * bk[k]
				}
			}
			for k, v := range bk {
				gbk[k] += gb[o] * Ab[m]
				gAb[m] += gb[o] * v
			}
		}
	}
	grads := [][]float32{append([]float32(nil), gw...), append([]float32(nil), gb...), gA, gAb, gB, append([]float32(nil), gb...)}
	for f, mask := range edgeFilters {
		S, P, Pb := f32(e.S[f]), f32(e.P[f]), f32(e.Pb[f])
		gP, gPb, gS := make([]float32, out*in), make([]float32, out), make([]float32, out)
		sum := float32(0)
		for _, v := range mask {
			sum += v
		}
		for o := 0; o < out; o++ {
			gwo := gw[o*in*9:][:in*9]
			for i := 0; i < in; i++ {
				var d float32 // the gradient along the mask
				for k, v := range mask {
					d += gwo[i*9+k] * v
				}
				gP[o*in+i] = S[o] * d
				gS[o] += d * P[o*in+i]
			}
			gS[o] += gb[o] * sum * Pb[o]
			gPb[o] = gb[o] * S[o] * sum
		}
		grads = append(grads, gP, gPb, gS, append([]float32(nil), gb...))
	}
	return grads
}

// collapseOp is the autograd node of the collapsed kernel (bias false) or
// bias (bias true) of an ECB.
type collapseOp struct {
	e    *ECB
	bias bool
}

// Weight returns the graph node of the collapsed kernel, [Out][In*9].
func (e *ECB) Weight() mat.Tensor { return ag.NewOperator(&collapseOp{e: e}).Run() }

// Bias returns the graph node of the collapsed bias, [Out][1].
func (e *ECB) Bias() mat.Tensor { return ag.NewOperator(&collapseOp{e: e, bias: true}).Run() }

// Operands returns the branch parameters.
func (c *collapseOp) Operands() []mat.Tensor {
	var ts []mat.Tensor
	for _, p := range c.e.Params() {
		ts = append(ts, p)
	}
	return ts
}

// Forward collapses the branches.
func (c *collapseOp) Forward() (mat.Tensor, error) {
	w, b := c.e.Collapse()
	if c.bias {
		return mat.NewDense[float32](mat.WithShape(c.e.Out, 1), mat.WithBacking(b)), nil
	}
	return mat.NewDense[float32](mat.WithShape(c.e.Out, c.e.In*9), mat.WithBacking(w)), nil
}

// Backward passes the collapsed gradient to every branch parameter.
func (c *collapseOp) Backward(gy mat.Tensor) error {
	g := gy.Data().F32()
	var grads [][]float32
	if c.bias {
		if len(g) != c.e.Out {
			return fmt.Errorf("ecb: bias gradient has %d values, want %d", len(g), c.e.Out)
		}
		grads = c.e.collapseGrads(nil, g)
	} else {
		if len(g) != c.e.Out*c.e.In*9 {
			return fmt.Errorf("ecb: kernel gradient has %d values, want %d", len(g), c.e.Out*c.e.In*9)
		}
		grads = c.e.collapseGrads(g, nil)
	}
	for i, p := range c.e.Params() {
		if p.RequiresGrad() {
			p.AccGrad(mat.NewDense[float32](mat.WithShape(p.Value().Shape()...), mat.WithBacking(grads[i])))
		}
	}
	return nil
}

// CopyFrom sets e's parameters to src's where the blocks have the same
// shape, or where e only reads more inputs (a strength plane added): then
// src's weights go to the first inputs and the others start at zero, so
// that e computes what src did. It reports whether it copied.
func (e *ECB) CopyFrom(src *ECB) bool {
	if e.Out != src.Out || e.Mid != src.Mid || e.In < src.In || e.Identity != src.Identity {
		return false
	}
	srcParams := src.Params()
	for i, p := range e.Params() {
		dst, from := f32(p), f32(srcParams[i])
		if len(dst) == len(from) {
			copy(dst, from)
			continue
		}
		// An input-indexed parameter: rows of In*9 (the 3x3 branch) or In
		// (the 1x1 convolutions).
		per := len(dst) / p.Value().Shape()[0] / e.In // 9 or 1
		clear(dst)
		rows := p.Value().Shape()[0]
		for r := 0; r < rows; r++ {
			copy(dst[r*e.In*per:][:src.In*per], from[r*src.In*per:][:src.In*per])
		}
	}
	return true
}
