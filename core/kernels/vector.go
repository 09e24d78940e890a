package kernels

import (
	"math"
	"sync"
)

// Axpy adds a*x to y, element by element (y holds at least len(x)), with
// the fastest kernel this CPU has and Go's rounding (a product, then a sum):
// inference's.
func Axpy(a float32, x, y []float32) { axpy(a, x, y) }

// TrainAxpy is Axpy for training, which may fuse the multiply-add.
func TrainAxpy(a float32, x, y []float32) { trainAxpy(a, x, y) }

// TrainDot returns the dot product of x and y[:len(x)], for training (it
// may fuse).
func TrainDot(x, y []float32) float32 { return trainDot(x, y) }

func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(a * v)
	}
}

// axpy is the inference kernel for y += a*x (Go's rounding, always);
// trainAxpy may fuse.
var (
	axpy      = axpyGo
	trainAxpy = axpyGo
)

// ReLU sets negative values to zero, without branches: clearing every bit
// when the sign bit is set (so -0 becomes +0 too).
func ReLU(x []float32) {
	for i, v := range x {
		b := math.Float32bits(v)
		x[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
	}
}

// PReLU multiplies the negative values of each of len(slope) planes of
// `plane` floats by its slope: a single rounding, so every platform gives
// the same numbers.
func PReLU(x []float32, plane int, slope []float32) {
	for c, a := range slope {
		p := x[c*plane:][:plane]
		for i, v := range p {
			if v <= 0 {
				p[i] = a * v
			}
		}
	}
}

// AddBias adds bias[o] to each of the n values of row o of out.
func AddBias(out, bias []float32, n int) {
	for o, b := range bias {
		row := out[o*n:][:n]
		for i := range row {
			row[i] = b + row[i]
		}
	}
}

// RowSums returns the sums of the rows of n values of g (rows of them):
// a bias's gradient.
func RowSums(g []float32, rows, n int) []float32 {
	sums := make([]float32, rows)
	for o := range sums {
		var s float32
		for _, v := range g[o*n:][:n] {
			s += v
		}
		sums[o] = s
	}
	return sums
}

// Pool recycles float32 buffers of varying sizes.
type Pool struct{ sync.Pool }

// Get returns a buffer of n floats, not cleared.
func (bp *Pool) Get(n int) []float32 {
	if b, ok := bp.Pool.Get().(*[]float32); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]float32, n)
}

// Put hands a buffer back for reuse.
func (bp *Pool) Put(b []float32) { bp.Pool.Put(&b) }

// packBuffers holds the GEMM kernels' packed panels.
var packBuffers Pool
