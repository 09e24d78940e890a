package kernels

// MatMulFunc multiplies row-major float32 matrices and adds the product into c:
//
//	c[i*ldc+j] += sum over p of a[i*lda+p] * b[p*ldb+j]   (0 <= i < m, 0 <= j < n, 0 <= p < k)
//
// Every implementation sums the k products of an element in increasing p,
// starting from zero, and adds that sum to c once, whatever the element's
// position. That is what makes tiled output equal whole-image output, and the
// page's output equal the command line's.
type MatMulFunc func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)

// matMul is the kernel the convolutions use. Builds with a faster kernel
// replace it at init; SetMatMul lets a host (the wasm worker) plug in its own.
var matMul MatMulFunc = MatMulGo

// SetMatMul replaces the matrix kernel used by inference; nil restores the
// pure-Go kernel. It must keep MatMulFunc's order of summation. With
// narrow set, layers of 1 to 3 filters use it too (through im2col) instead
// of the direct convolution, which is worth it for a wide SIMD kernel; the
// numbers are the same either way.
func SetMatMul(f MatMulFunc, narrow bool) {
	if f == nil {
		f, narrow = MatMulGo, false
	}
	matMul, narrowByGEMM = f, narrow
}

// ActiveMatMul returns the matrix kernel inference uses now.
func ActiveMatMul() MatMulFunc { return matMul }

// narrowByGEMM sends narrow layers through im2col and matMul.
var narrowByGEMM bool

// OffsetMatMulFunc is a MatMulFunc whose B rows lie at arbitrary offsets:
//
//	c[i*ldc+j] += sum over p of a[i*lda+p] * b[boff[p]+j]
//
// with the same order of summation. Convolutions use it without im2col:
// the rows of the im2col matrix are shifted views of the padded input, so
// row p is the input at offset boff[p].
type OffsetMatMulFunc func(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int)

// ConvFunc is a convolution's product without im2col, with the bias and
// the activation applied:
//
//	c[i*ldc+j] = act(bias[i] + sum over p of a[i*lda+p] * b[boff[p]+j])
//
// the sum as a MatMulFunc makes it, act the ReLU of relu() when relu is
// set, the identity otherwise.
type ConvFunc func(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool)

// convKernel, when set, runs inference convolutions without im2col.
var convKernel ConvFunc

// SetConv installs (or, with nil, removes) a kernel for convolutions
// without im2col. The numbers do not change: only the memory traffic of
// writing k*k copies of every input, and of the separate bias and ReLU
// passes, does.
func SetConv(f ConvFunc) { convKernel = f }

// ActiveConv returns the convolution kernel inference uses now, or nil
// when convolutions go through im2col and the matrix kernel.
func ActiveConv() ConvFunc { return convKernel }

// ConvFromOffsets makes a ConvFunc of an OffsetMatMulFunc: the rows of c
// start as the bias, the kernel adds the sums, ReLU follows.
func ConvFromOffsets(f OffsetMatMulFunc) ConvFunc {
	return func(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, withReLU bool) {
		for i := 0; i < m; i++ {
			row := c[i*ldc:][:n]
			for j := range row {
				row[j] = bias[i]
			}
		}
		f(m, n, k, a, lda, b, boff, c, ldc)
		if withReLU {
			for i := 0; i < m; i++ {
				ReLU(c[i*ldc:][:n])
			}
		}
	}
}

// OffsetMatMulGo is the reference OffsetMatMulFunc, one element at a time.
func OffsetMatMulGo(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += float32(a[i*lda+p] * b[int(boff[p])+j])
			}
			c[i*ldc+j] += s
		}
	}
}

// MatMulGo is the portable kernel: 4x8 register blocks in plain Go, about
// 5 GFLOP/s both natively and in a browser's wasm engine.
func MatMulGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		a0 := a[i*lda : i*lda+k]
		a1 := a[(i+1)*lda : (i+1)*lda+k]
		a2 := a[(i+2)*lda : (i+2)*lda+k]
		a3 := a[(i+3)*lda : (i+3)*lda+k]
		j := 0
		for ; j+8 <= n; j += 8 {
			var c00, c01, c02, c03, c04, c05, c06, c07 float32
			var c10, c11, c12, c13, c14, c15, c16, c17 float32
			var c20, c21, c22, c23, c24, c25, c26, c27 float32
			var c30, c31, c32, c33, c34, c35, c36, c37 float32
			off := j
			for p := 0; p < k; p++ {
				bp := b[off : off+8 : off+8]
				off += ldb
				b0, b1, b2, b3, b4, b5, b6, b7 := bp[0], bp[1], bp[2], bp[3], bp[4], bp[5], bp[6], bp[7]
				x := a0[p]
				c00 += float32(x * b0)
				c01 += float32(x * b1)
				c02 += float32(x * b2)
				c03 += float32(x * b3)
				c04 += float32(x * b4)
				c05 += float32(x * b5)
				c06 += float32(x * b6)
				c07 += float32(x * b7)
				x = a1[p]
				c10 += float32(x * b0)
				c11 += float32(x * b1)
				c12 += float32(x * b2)
				c13 += float32(x * b3)
				c14 += float32(x * b4)
				c15 += float32(x * b5)
				c16 += float32(x * b6)
				c17 += float32(x * b7)
				x = a2[p]
				c20 += float32(x * b0)
				c21 += float32(x * b1)
				c22 += float32(x * b2)
				c23 += float32(x * b3)
				c24 += float32(x * b4)
				c25 += float32(x * b5)
				c26 += float32(x * b6)
				c27 += float32(x * b7)
				x = a3[p]
				c30 += float32(x * b0)
				c31 += float32(x * b1)
				c32 += float32(x * b2)
				c33 += float32(x * b3)
				c34 += float32(x * b4)
				c35 += float32(x * b5)
				c36 += float32(x * b6)
				c37 += float32(x * b7)
			}
			addRow8(c[i*ldc+j:], c00, c01, c02, c03, c04, c05, c06, c07)
			addRow8(c[(i+1)*ldc+j:], c10, c11, c12, c13, c14, c15, c16, c17)
			addRow8(c[(i+2)*ldc+j:], c20, c21, c22, c23, c24, c25, c26, c27)
			addRow8(c[(i+3)*ldc+j:], c30, c31, c32, c33, c34, c35, c36, c37)
		}
		for ; j < n; j++ {
			var s0, s1, s2, s3 float32
			off := j
			for p := 0; p < k; p++ {
				y := b[off]
				off += ldb
				s0 += float32(a0[p] * y)
				s1 += float32(a1[p] * y)
				s2 += float32(a2[p] * y)
				s3 += float32(a3[p] * y)
			}
			c[i*ldc+j] += s0
			c[(i+1)*ldc+j] += s1
			c[(i+2)*ldc+j] += s2
			c[(i+3)*ldc+j] += s3
		}
	}
	for ; i < m; i++ {
		matVecRow(n, k, a[i*lda:i*lda+k], b, ldb, c[i*ldc:i*ldc+n])
	}
}

func addRow8(c []float32, v0, v1, v2, v3, v4, v5, v6, v7 float32) {
	c = c[:8:8]
	c[0] += v0
	c[1] += v1
	c[2] += v2
	c[3] += v3
	c[4] += v4
	c[5] += v5
	c[6] += v6
	c[7] += v7
}

// matVecRow adds one row of a product: c[j] += sum_p a[p]*b[p*ldb+j]. The
// partial sums live in eight registers per pass so the loads of b stream.
func matVecRow(n, k int, a []float32, b []float32, ldb int, c []float32) {
	j := 0
	for ; j+8 <= n; j += 8 {
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		off := j
		for p := 0; p < k; p++ {
			bp := b[off : off+8 : off+8]
			off += ldb
			x := a[p]
			s0 += float32(x * bp[0])
			s1 += float32(x * bp[1])
			s2 += float32(x * bp[2])
			s3 += float32(x * bp[3])
			s4 += float32(x * bp[4])
			s5 += float32(x * bp[5])
			s6 += float32(x * bp[6])
			s7 += float32(x * bp[7])
		}
		addRow8(c[j:], s0, s1, s2, s3, s4, s5, s6, s7)
	}
	for ; j < n; j++ {
		var s float32
		off := j
		for p := 0; p < k; p++ {
			s += float32(a[p] * b[off])
			off += ldb
		}
		c[j] += s
	}
}

// Training may use faster kernels whose rounding differs (fused
// multiply-adds); inference never does.
var (
	trainMatMul MatMulFunc = MatMulGo
	trainDot               = dot
)

// matMulNT adds a times the transpose of b into c: c[i*ldc+j] += sum_p
// a[i*lda+p] * b[j*ldb+p]. Training uses it for weight gradients, where
// rows are long (all pixels of a batch) and the output is small. Builds
// with a faster kernel replace it at init.
var matMulNT = matMulNTGo

// matMulNTGo is the portable matMulNT: wide outputs go through the GEMM
// kernel on transposed operands, narrow ones (1 or 3 filters) are dot
// products.
func matMulNTGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 16 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c[i*ldc+j] += trainDot(a[i*lda:][:k], b[j*ldb:][:k])
			}
		}
		return
	}
	at := make([]float32, k*m)
	for i := 0; i < m; i++ {
		for p, v := range a[i*lda:][:k] {
			at[p*m+i] = v
		}
	}
	ct := make([]float32, n*m)
	trainMatMul(n, m, k, b, ldb, at, m, ct, m)
	for j := 0; j < n; j++ {
		for i, v := range ct[j*m:][:m] {
			c[i*ldc+j] += v
		}
	}
}

func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for p, v := range x {
		s += float32(v * y[p])
	}
	return s
}

// NarrowByGEMM reports whether the installed matrix kernel also runs the
// narrow layers (1 to 3 filters), which otherwise take the direct path.
func NarrowByGEMM() bool { return narrowByGEMM }

// TrainMatMul is MatMul for training: the fastest kernel, which may fuse
// multiply-adds.
func TrainMatMul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	trainMatMul(m, n, k, a, lda, b, ldb, c, ldc)
}

// MatMulNT adds a times the transpose of b into c (see matMulNT), for
// training's weight gradients.
func MatMulNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	matMulNT(m, n, k, a, lda, b, ldb, c, ldc)
}

// MatMul runs the installed inference kernel (see SetMatMul).
func MatMul(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	matMul(m, n, k, a, lda, b, ldb, c, ldc)
}
