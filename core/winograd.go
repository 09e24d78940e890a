package core

// Inference runs 3x3 convolutions of four or more filters with Winograd's
// F(2,3) along rows: a pair of neighbouring outputs of one kernel row,
//
//	y0 = g0 d0 + g1 d1 + g2 d2,  y1 = g0 d1 + g1 d2 + g2 d3,
//
// comes from four products instead of six,
//
//	m0 = g0 (d0 - d2),  m1 = (g0+g1+g2)/2 (d1 + d2),
//	m2 = (g0-g1+g2)/2 (d2 - d1),  m3 = g2 (d1 - d3),
//	y0 = m0 + m1 + m2,  y1 = m1 - m2 - m3,
//
// so the layer is four matrix products with a third of the direct one's
// depth each: two thirds of its multiply-adds. The products go through the
// same kernels as the direct convolution, and the transforms are plain Go,
// so every platform (and the page) still gives the same numbers.
//
// The two formulas round differently, so which of them makes a pixel must
// not depend on how the image was cut: pairs start at even image columns
// (maps.x0 says where a region lies), and a region's rows are an even
// number of floats apart, so the pairing holds on every row.

// winogradFilters is a 3x3 layer's weights transformed for F(2,3): one
// [out][in*3] matrix per product, row by row (input channel, kernel row).
type winogradFilters [4][]float32

// usesWinograd reports whether inference runs the layer with F(2,3).
func (l *convLayer) usesWinograd() bool { return l.k == 3 && !l.narrow() }

// transformFilters returns the layer's weights for F(2,3).
func (l *convLayer) transformFilters() *winogradFilters {
	var g winogradFilters
	rows := l.in * 3
	for i := range g {
		g[i] = make([]float32, l.out*rows)
	}
	for o := 0; o < l.out; o++ {
		for r := 0; r < rows; r++ {
			w := l.weight[o*rows*3+r*3:][:3]
			at := o*rows + r
			g[0][at] = w[0]
			g[1][at] = (w[0] + w[1] + w[2]) * 0.5
			g[2][at] = (w[0] - w[1] + w[2]) * 0.5
			g[3][at] = w[2]
		}
	}
	return &g
}

// winograd sets out[o*plane+j] = bias[o] + (the layer's valid convolution
// of in at flat output j), for 0 <= j < n, with F(2,3); first is the image
// column of output 0 (only its parity matters).
func (l *convLayer) winograd(in maps, first, n int, out []float32, plane int, s *scratch) {
	if l.wino == nil {
		l.wino = l.transformFilters()
	}
	start := -(first & 1) // flat index of the first pair's left output
	pairs := (n - start + 1) / 2
	half := in.stride / 2
	// u[i][c][P] is transform i of the four inputs from channel c's
	// offset start+2P: kernel row dy of pair q reads P = q + dy*half.
	length := pairs + in.stride
	s.u = grow(s.u, 4*l.in*length)
	for c := 0; c < l.in; c++ {
		transformInputs(in.data, c*in.plane+start, length, s.u[c*length:], l.in*length)
	}
	rows := l.in * 3
	boff := make([]int32, rows)
	for c := 0; c < l.in; c++ {
		for dy := 0; dy < 3; dy++ {
			boff[c*3+dy] = int32(c*length + dy*half)
		}
	}
	s.m = grow(s.m, 4*l.out*pairs)
	zero := make([]float32, l.out)
	mlen := l.out * pairs
	for i := range 4 {
		product(l.out, pairs, rows, l.wino[i], s.u[i*l.in*length:][:l.in*length], boff, s.m[i*mlen:][:mlen], pairs, zero, s)
	}
	for o := 0; o < l.out; o++ {
		row := out[o*plane:][:n]
		bias := l.bias[o]
		m0, m1, m2, m3 := s.m[o*pairs:][:pairs], s.m[mlen+o*pairs:][:pairs], s.m[2*mlen+o*pairs:][:pairs], s.m[3*mlen+o*pairs:][:pairs]
		q := 0
		if start < 0 { // the first pair's left output lies before the map
			row[0] = bias + ((m1[0] - m2[0]) - m3[0])
			q = 1
		}
		for ; q < pairs; q++ {
			j := start + 2*q
			row[j] = bias + ((m0[q] + m1[q]) + m2[q])
			if j+1 < n {
				row[j+1] = bias + ((m1[q] - m2[q]) - m3[q])
			}
		}
	}
}

// transformInputs writes, for P in [0, length), the four F(2,3) input
// transforms of src[at+2P : at+2P+4] to u[P], u[stride+P], u[2*stride+P]
// and u[3*stride+P]. Positions outside src read as zero: they only reach
// outputs that are discarded.
func transformInputs(src []float32, at, length int, u []float32, stride int) {
	u0, u1, u2, u3 := u[:length], u[stride:][:length], u[2*stride:][:length], u[3*stride:][:length]
	p := 0
	for ; p < length && at+2*p < 0; p++ {
		setTransform(src, at+2*p, u0, u1, u2, u3, p)
	}
	for ; p < length && at+2*p+3 < len(src); p++ {
		d := src[at+2*p:][:4]
		u0[p] = d[0] - d[2]
		u1[p] = d[1] + d[2]
		u2[p] = d[2] - d[1]
		u3[p] = d[1] - d[3]
	}
	for ; p < length; p++ {
		setTransform(src, at+2*p, u0, u1, u2, u3, p)
	}
}

// setTransform is one position of transformInputs, bounds-checked.
func setTransform(src []float32, at int, u0, u1, u2, u3 []float32, p int) {
	var d [4]float32
	for t := range d {
		if i := at + t; i >= 0 && i < len(src) {
			d[t] = src[i]
		}
	}
	u0[p] = d[0] - d[2]
	u1[p] = d[1] + d[2]
	u2[p] = d[2] - d[1]
	u3[p] = d[1] - d[3]
}

// product sets c[i*ldc+j] = bias[i] + sum over p of a[i*k+p]*b[boff[p]+j]
// through the convolution kernel, or im2col and the matrix kernel: the
// same numbers either way.
func product(m, n, k int, a, b []float32, boff []int32, c []float32, ldc int, bias []float32, s *scratch) {
	if convKernel != nil {
		convKernel(m, n, k, a, k, b, boff, c, ldc, bias, false)
		return
	}
	s.cols = grow(s.cols, k*n)
	for p, off := range boff {
		copy(s.cols[p*n:][:n], b[off:][:n])
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc:][:n]
		for j := range row {
			row[j] = bias[i]
		}
	}
	matMul(m, n, k, a, k, s.cols, n, c, ldc)
}
