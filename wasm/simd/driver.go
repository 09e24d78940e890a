package simd

import (
	"sync"

	"github.com/srcnn-web/upscaler/core/kernels"
)

// Kernel calls the module's gemm: for `panels` mr-row panels of packed A
// (a holds panels*k*mr values) and `blocks` nr-column blocks of b, it adds
// the products into c. The page's kernel passes the slices' addresses to
// the module, which works in the Go program's own memory (no copies).
type Kernel func(panels, blocks, k int, a []float32, b []float32, ldb int, c []float32, ldc int)

// MatMul returns a kernels.MatMulFunc that runs the whole mr x nr blocks of a
// product through kern and the ragged edges through kern too, on
// zero-padded copies, so that every element is computed the same way.
func MatMul(kern Kernel) kernels.MatMulFunc {
	return func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		if m <= 0 || n <= 0 || k <= 0 {
			return
		}
		panels, packed := pack(m, k, a, lda)
		full, blocks := m/mr, n/nr
		if full > 0 && blocks > 0 {
			kern(full, blocks, k, packed, b, ldb, c, ldc)
		}
		// Rows past the last whole panel, over the whole column blocks.
		if rows := m - full*mr; rows > 0 && blocks > 0 {
			tmp := make([]float32, mr*blocks*nr)
			kern(1, blocks, k, packed[full*k*mr:], b, ldb, tmp, blocks*nr)
			addInto(c[full*mr*ldc:], ldc, tmp, blocks*nr, rows, blocks*nr)
		}
		// Columns past the last whole block, for every row.
		if cols := n - blocks*nr; cols > 0 {
			tail := make([]float32, k*nr)
			for p := 0; p < k; p++ {
				copy(tail[p*nr:p*nr+cols], b[p*ldb+blocks*nr:])
			}
			tmp := make([]float32, panels*mr*nr)
			kern(panels, 1, k, packed, tail, nr, tmp, nr)
			addInto(c[blocks*nr:], ldc, tmp, nr, m, cols)
		}
	}
}

// addInto adds a rows x cols block of src into dst.
func addInto(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	for r := 0; r < rows; r++ {
		d := dst[r*ldd : r*ldd+cols]
		for x, v := range src[r*lds : r*lds+cols] {
			d[x] += v
		}
	}
}

// OffsetKernel calls the module's gemmoff: as Kernel, with B's row p at
// b[boff[p]:], and C overwritten with act(bias + sum).
type OffsetKernel func(panels, blocks, k int, a []float32, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool)

// Conv returns a kernels.ConvFunc that runs whole blocks through offs and the
// ragged edges on zero-padded copies (the column tail through kern, with
// bias and ReLU applied here the same way). A single row past the whole
// panels (a one-filter layer) goes through row, if given (the module's
// gemmoff1), 32 columns at a time, instead of a panel of three zero rows.
func Conv(kern Kernel, offs, row OffsetKernel) kernels.ConvFunc {
	return func(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
		if m <= 0 || n <= 0 || k <= 0 {
			return
		}
		panels, packed := pack(m, k, a, lda)
		full, blocks := m/mr, n/nr
		if full > 0 && blocks > 0 {
			offs(full, blocks, k, packed, b, boff, c, ldc, bias, relu)
		}
		if rows, wide := m-full*mr, n/nr1; rows == 1 && row != nil && wide > 0 {
			i := full * mr
			row(1, wide, k, a[i*lda:][:k], b, boff, c[i*ldc:], ldc, bias[i:i+1], relu)
			// The columns between the last 32-column block and the
			// ragged tail, as the panel path below would make them.
			if rest := blocks - wide*nr1/nr; rest > 0 {
				tmp := getScratch(mr * rest * nr)
				biasPad := []float32{bias[i], 0, 0, 0}
				offs(1, rest, k, packed[full*k*mr:], b[wide*nr1:], boff, *tmp, rest*nr, biasPad, relu)
				copy(c[i*ldc+wide*nr1:][:rest*nr], (*tmp)[:rest*nr])
				scratchPool.Put(tmp)
			}
		} else if rows > 0 && blocks > 0 {
			// The kernel overwrites all of tmp (a layer's width of rows:
			// pooled, as every tile's last layer comes here).
			tmp := getScratch(mr * blocks * nr)
			biasPad := make([]float32, mr)
			copy(biasPad, bias[full*mr:])
			offs(1, blocks, k, packed[full*k*mr:], b, boff, *tmp, blocks*nr, biasPad, relu)
			for r := 0; r < rows; r++ {
				copy(c[(full*mr+r)*ldc:][:blocks*nr], (*tmp)[r*blocks*nr:][:blocks*nr])
			}
			scratchPool.Put(tmp)
		}
		if cols := n - blocks*nr; cols > 0 {
			tail := make([]float32, k*nr)
			for p := 0; p < k; p++ {
				copy(tail[p*nr:p*nr+cols], b[int(boff[p])+blocks*nr:])
			}
			tmp := make([]float32, panels*mr*nr)
			kern(panels, 1, k, packed, tail, nr, tmp, nr)
			for i := 0; i < m; i++ {
				row := c[i*ldc+blocks*nr:][:cols]
				for x := range row {
					v := bias[i] + tmp[i*nr+x]
					if relu && !(v > 0) { // f32x4.max(v, 0): +0 for negatives and zeros
						v = 0
					}
					row[x] = v
				}
			}
		}
	}
}

var scratchPool sync.Pool // *[]float32

// getScratch returns a pooled slice of n floats, not zeroed.
func getScratch(n int) *[]float32 {
	p, _ := scratchPool.Get().(*[]float32)
	if p == nil || cap(*p) < n {
		s := make([]float32, n)
		return &s
	}
	*p = (*p)[:n]
	return p
}

// pack lays A out in panels of mr rows, k steps of mr values each, with
// zero rows after the last row.
func pack(m, k int, a []float32, lda int) (panels int, packed []float32) {
	panels = (m + mr - 1) / mr
	packed = make([]float32, panels*k*mr)
	for i := 0; i < m; i++ {
		dst := packed[(i/mr)*k*mr+i%mr:]
		for p, v := range a[i*lda : i*lda+k] {
			dst[p*mr] = v
		}
	}
	return panels, packed
}
