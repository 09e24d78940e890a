package adversarial

import (
	"math"
	"slices"
)

// GridError is the part of a generator's error that repeats on its
// depth-to-space grid: the checkerboard of dots an adversarially trained
// LR-space network draws inside dark strokes and on flat areas. The error
// (output minus target) comes in the network's output layout: s*s phase
// planes (the high-resolution pixel (x, y) of low-resolution cell c is
// phase (y%s)*s + x%s), each of b patches of side x side cells. At every
// cell the error's mean over the phases is taken out (what the pixel loss
// sees) and each phase's remainder is averaged over the 3x3 cells around
// it (zero outside the patch): texture that does not repeat from cell to
// cell averages away, a grid does not. Each cell's averages count with its
// weight (nil: 1 each; see FlatWeights). It returns the mean weighted
// absolute value of those averages and the gradient of their weighted sum
// of absolute values with respect to the error (each element at most 1 in
// size).
func GridError(e []float32, s, b, side int, weight []float32) (loss float64, grad []float32) {
	k := s * s
	n := b * side * side
	if len(e) != k*n || (weight != nil && len(weight) != n) {
		panic("adversarial.GridError: error or weight size does not match its layout")
	}
	centred := subtractPhaseMean(slices.Clone(e), k, n)
	sign := make([]float32, k*n)
	for p := range k {
		q := box3(centred[p*n:(p+1)*n], b, side)
		for j, v := range q {
			w := float32(1)
			if weight != nil {
				w = weight[j]
			}
			loss += float64(w) * math.Abs(float64(v))
			switch {
			case v > 0:
				sign[p*n+j] = w
			case v < 0:
				sign[p*n+j] = -w
			}
		}
	}
	// The box average is its own transpose (zero padding, a fixed divisor)
	// and so is taking out the phases' mean.
	grad = make([]float32, k*n)
	for p := range k {
		copy(grad[p*n:], box3(sign[p*n:(p+1)*n], b, side))
	}
	return loss / float64(k*n), subtractPhaseMean(grad, k, n)
}

// subtractPhaseMean takes out of each of k phase planes of n values the
// planes' mean at every position, in place, and returns x.
func subtractPhaseMean(x []float32, k, n int) []float32 {
	mean := make([]float32, n)
	for p := range k {
		for j, v := range x[p*n : (p+1)*n] {
			mean[j] += v / float32(k)
		}
	}
	for p := range k {
		for j := range n {
			x[p*n+j] -= mean[j]
		}
	}
	return x
}

// FlatWeights weighs each cell of b p x p target patches (s x s pixels
// per cell, in GridError's order) by how flat the target is there: 1 where
// its pixels' standard deviation is 0, falling linearly to 0 at limit.
// With them GridError looks for dots where the target has none to draw
// (the inside of a dark stroke, a wall) and leaves edges, whose error
// also differs from phase to phase, to the pixel loss.
func FlatWeights(target []float32, b, p, s int, limit float64) []float32 {
	side := p / s
	w := make([]float32, b*side*side)
	for i := range b {
		for cy := range side {
			for cx := range side {
				var sum, sum2 float64
				for y := cy * s; y < (cy+1)*s; y++ {
					for x := cx * s; x < (cx+1)*s; x++ {
						v := float64(target[i*p*p+y*p+x])
						sum += v
						sum2 += v * v
					}
				}
				m := float64(s * s)
				sd := math.Sqrt(max(0, sum2/m-(sum/m)*(sum/m)))
				w[i*side*side+cy*side+cx] = float32(max(0, 1-sd/limit))
			}
		}
	}
	return w
}

// box3 averages each of b side x side planes over 3x3 windows, counting
// outside the plane as zero.
func box3(x []float32, b, side int) []float32 {
	out := make([]float32, len(x))
	for i := range b {
		o := i * side * side
		for y := range side {
			for xx := range side {
				var sum float32
				for dy := -1; dy <= 1; dy++ {
					yy := y + dy
					if yy < 0 || yy >= side {
						continue
					}
					for dx := -1; dx <= 1; dx++ {
						if c := xx + dx; c >= 0 && c < side {
							sum += x[o+yy*side+c]
						}
					}
				}
				out[o+y*side+xx] = sum / 9
			}
		}
	}
	return out
}
