//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func kern6x16Fused(k int, a, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern6x16(k int, a, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func dotFMA(n int, x, y *float32) float32

//go:noescape
func kern6x16Conv(k int, a, b *float32, boff *int32, c *float32, ldc int, bias *float32, relu int)

//go:noescape
func dotNT4x2(k int, a *float32, lda int, b *float32, ldb int, c *[8]float32)

//go:noescape
func axpyAVX2(n int, a float32, x, y *float32)

//go:noescape
func axpyFMA(n int, a float32, x, y *float32)

// What this CPU can run: the AVX2/FMA kernels, and the AVX-512 ones (which
// use AVX-512F only, beside AVX2/FMA for the edges they hand on).
var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

func init() {
	if hasAVX2 {
		// Inference keeps Go's rounding (a product, then a sum) so that the
		// command line's pixels equal the page's; training takes the FMA.
		matMul = MatMulAVX2
		convKernel = ConvAVX2
		trainMatMul = MatMulAVX2Fused
		matMulNT = ntAVX2.matMulNT
		trainDot = func(x, y []float32) float32 {
			if len(x) == 0 {
				return 0
			}
			return dotFMA(len(x), &x[0], &y[0])
		}
		axpy = func(a float32, x, y []float32) {
			if len(x) > 0 {
				_ = y[len(x)-1]
				axpyAVX2(len(x), a, &x[0], &y[0])
			}
		}
		trainAxpy = func(a float32, x, y []float32) {
			if len(x) > 0 {
				_ = y[len(x)-1]
				axpyFMA(len(x), a, &x[0], &y[0])
			}
		}
	}
	if hasAVX512 {
		// The same rounding as the AVX2 kernels, twice the width.
		matMul = MatMulAVX512
		convKernel = ConvAVX512
		trainMatMul = MatMulAVX512Fused
		matMulNT = ntAVX512.matMulNT
	}
}

// MatMulAVX2 is the amd64 kernel with Go's rounding: it gives exactly the
// numbers MatMulGo gives, several times faster.
func MatMulAVX2(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmBlocked(m, n, k, a, lda, b, nil, ldb, c, ldc, kern6x16)
}

// OffsetMatMulAVX2 is MatMulAVX2 with B's rows at offsets: the panels it
// packs are then the im2col matrix, one cache-sized block at a time.
func OffsetMatMulAVX2(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int) {
	gemmBlocked(m, n, k, a, lda, b, boff, 0, c, ldc, kern6x16)
}

// ConvAVX2 is the amd64 ConvFunc: whole 16-column blocks read B's rows in
// place and write act(bias + sum) from registers (a last panel of fewer
// than six rows goes through a zero-padded copy); the ragged columns go
// through OffsetMatMulAVX2, whose per-element instructions are the same.
func ConvAVX2(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
	convBlocked(6, 16, kern6x16Conv, ConvFromOffsets(OffsetMatMulAVX2), m, n, k, a, lda, b, boff, c, ldc, bias, relu)
}

// convMicroKernel is a convolution's mr x nr block without im2col (see
// kern6x16Conv): C = act(bias + A*B), B's row p at boff[p] floats from b.
type convMicroKernel func(k int, a, b *float32, boff *int32, c *float32, ldc int, bias *float32, relu int)

// convBlocked runs a convolution micro-kernel of mr rows by nr columns over
// every whole nr-column block of C, A packed in panels of mr rows; a last
// panel of fewer than mr rows goes through a zero-padded copy, and the
// ragged columns through rest.
func convBlocked(mr, nr int, kern convMicroKernel, rest ConvFunc,
	m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
	cols := n / nr * nr
	if m > 0 && cols > 0 && k > 0 {
		panels, packed := packPanels(m, k, a, lda, mr)
		defer packBuffers.Put(packed)
		padBias := make([]float32, panels*mr)
		copy(padBias, bias[:m])
		flag := 0
		if relu {
			flag = 1
		}
		var block [mr512 * nr512]float32 // the largest kernel's
		tmp := block[:mr*nr]
		for j := 0; j < cols; j += nr {
			for pi := 0; pi < panels; pi++ {
				i := pi * mr
				if i+mr <= m {
					kern(k, &packed[i*k], &b[j], &boff[0], &c[i*ldc+j], ldc, &padBias[i], flag)
					continue
				}
				kern(k, &packed[i*k], &b[j], &boff[0], &tmp[0], nr, &padBias[i], flag)
				for r := 0; r < m-i; r++ {
					copy(c[(i+r)*ldc+j:][:nr], tmp[r*nr:][:nr])
				}
			}
		}
	}
	if cols < n {
		rest(m, n-cols, k, a, lda, b[cols:], boff, c[cols:], ldc, bias, relu)
	}
}

// MatMulAVX2Fused is the amd64 kernel with fused multiply-adds, for training.
func MatMulAVX2Fused(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmBlocked(m, n, k, a, lda, b, nil, ldb, c, ldc, kern6x16Fused)
}

// packPanels lays A out in panels of mr rows, k steps of mr values each,
// zero rows padding the last panel.
func packPanels(m, k int, a []float32, lda, mr int) (panels int, packed []float32) {
	panels = (m + mr - 1) / mr
	packed = packBuffers.Get(panels * mr * k) // the callers give it back
	for pi := 0; pi < panels; pi++ {
		dst := packed[pi*mr*k:][:mr*k]
		rows := min(mr, m-pi*mr)
		for r := 0; r < rows; r++ {
			for p, v := range a[(pi*mr+r)*lda:][:k] {
				dst[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < k; p++ {
				dst[p*mr+r] = 0
			}
		}
	}
	return panels, packed
}

// gemmBlocked drives a 6x16 micro-kernel. A is packed six rows at a time
// (zero rows pad the last panel); each 16-column panel of B is copied into
// a contiguous buffer (zero columns pad the last one) so the kernel streams
// it from cache. Every element of C thus goes through the same instructions
// in the same order, wherever it sits. Row p of B starts at boff[p], or at
// p*ldb when boff is nil.
func gemmBlocked(m, n, k int, a []float32, lda int, b []float32, boff []int32, ldb int, c []float32, ldc int,
	kern func(k int, a, b *float32, ldb int, c *float32, ldc int)) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	const mr, nr = 6, 16
	panels, packed := packPanels(m, k, a, lda, mr)
	panel := packBuffers.Get(k * nr) // cleared below where it is not overwritten
	defer packBuffers.Put(packed)
	defer packBuffers.Put(panel)
	var tmp [mr * nr]float32
	for j := 0; j < n; j += nr {
		cols := min(nr, n-j)
		if cols < nr {
			clear(panel)
		}
		for p := 0; p < k; p++ {
			start := p * ldb
			if boff != nil {
				start = int(boff[p])
			}
			copy(panel[p*nr:][:cols], b[start+j:][:cols])
		}
		for pi := 0; pi < panels; pi++ {
			i0 := pi * mr
			rows := min(mr, m-i0)
			if rows == mr && cols == nr {
				kern(k, &packed[pi*mr*k], &panel[0], nr, &c[i0*ldc+j], ldc)
				continue
			}
			tmp = [mr * nr]float32{}
			kern(k, &packed[pi*mr*k], &panel[0], nr, &tmp[0], nr)
			for r := 0; r < rows; r++ {
				crow := c[(i0+r)*ldc+j:][:cols]
				for x := range crow {
					crow[x] += tmp[r*nr+x]
				}
			}
		}
	}
}

// ntKernel computes 4 x nb dot products of four rows of a with nb rows of
// b, over k values (a multiple of step), into sums[nb*i+j].
type ntKernel struct {
	nb, step int
	dots     func(k int, a *float32, lda int, b *float32, ldb int, sums *[16]float32)
}

// The weight-gradient kernels: 4x2 dot products in YMM lanes, 4x4 in ZMM.
var (
	ntAVX2 = ntKernel{2, 8, func(k int, a *float32, lda int, b *float32, ldb int, sums *[16]float32) {
		dotNT4x2(k, a, lda, b, ldb, (*[8]float32)(sums[:8]))
	}}
	ntAVX512 = ntKernel{4, 16, dotNT4x4}
)

// matMulNT is the amd64 matMulNT, for training (weight gradients: a few
// long rows times the transpose of many long rows), as blocks of dot
// products read in place, ntChunk of the long dimension at a time so that
// the chunk of b stays in cache across the rows of a. Edges fall back to
// single dot products.
func (nt ntKernel) matMulNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var sums [16]float32
	nb := nt.nb
	for p0 := 0; p0 < k; p0 += ntChunk {
		kb := min(ntChunk, k-p0)
		kv := kb / nt.step * nt.step
		for i := 0; i < m; i += 4 {
			for j := 0; j < n; j += nb {
				if i+4 > m || j+nb > n || kv == 0 {
					for ii := i; ii < min(i+4, m); ii++ {
						for jj := j; jj < min(j+nb, n); jj++ {
							c[ii*ldc+jj] += trainDot(a[ii*lda+p0:][:kb], b[jj*ldb+p0:][:kb])
						}
					}
					continue
				}
				_ = a[(i+3)*lda+p0+kb-1]
				_ = b[(j+nb-1)*ldb+p0+kb-1]
				nt.dots(kv, &a[i*lda+p0], lda, &b[j*ldb+p0], ldb, &sums)
				for ii := 0; ii < 4; ii++ {
					for jj := 0; jj < nb; jj++ {
						s := sums[nb*ii+jj]
						for p := p0 + kv; p < p0+kb; p++ {
							s += a[(i+ii)*lda+p] * b[(j+jj)*ldb+p]
						}
						c[(i+ii)*ldc+j+jj] += s
					}
				}
			}
		}
	}
}

// ntChunk is how much of the long dimension matMulNT takes at a time.
const ntChunk = 512
