//go:build amd64 && !purego

package kernels

//go:noescape
func kern8x32(k int, a, b, s, c *float32, ldc, flags int)

//go:noescape
func kern8x32Fused(k int, a, b, s, c *float32, ldc, flags int)

//go:noescape
func kern8x32Conv(k int, a, b *float32, boff *int32, c *float32, ldc int, bias *float32, relu int)

//go:noescape
func dotNT4x4(k int, a *float32, lda int, b *float32, ldb int, c *[16]float32)

//go:noescape
func packRow32(chunks int, src, dst *float32, stride int, next *float32)

// kernel512 is an 8x32 micro-kernel; see gemm512_amd64.s for its flags.
type kernel512 func(k int, a, b, s, c *float32, ldc, flags int)

// The micro-kernels' flags.
const (
	fromSums = 1 // start from the partial sums in s, not from zero
	intoC    = 2 // add the sums into c (else store them in s)
)

// Blocking of the AVX-512 GEMM: an 8x32 block of C per kernel call, B
// packed kc512 rows by nc512 columns at a time (1 MB, the size of L2 on
// this machine; no slower here than 512 KB blocks), each
// 32-column strip of it (32 KB) used by every panel of A in turn.
const (
	mr512, nr512 = 8, 32
	kc512, nc512 = 256, 1024
)

// MatMulAVX512 is the AVX-512 kernel with Go's rounding: exactly MatMulGo's
// numbers.
func MatMulAVX512(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm512(m, n, k, a, lda, b, ldb, c, ldc, kern8x32)
}

// MatMulAVX512Fused is the AVX-512 kernel with fused multiply-adds, for
// training.
func MatMulAVX512Fused(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm512(m, n, k, a, lda, b, ldb, c, ldc, kern8x32Fused)
}

// ConvAVX512 is the amd64 ConvFunc on CPUs with AVX-512: whole 32-column
// blocks read B's rows in place and write act(bias + sum) from registers (a
// last panel of fewer than eight rows goes through a zero-padded copy); the
// ragged columns go through ConvAVX2, whose per-element instructions are the
// same.
func ConvAVX512(m, n, k int, a []float32, lda int, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
	convBlocked(mr512, nr512, kern8x32Conv, ConvAVX2, m, n, k, a, lda, b, boff, c, ldc, bias, relu)
}

// gemm512 drives an 8x32 micro-kernel in the manner of GotoBLAS: for each
// block of kc512 rows by nc512 columns of B, packed into 32-column strips
// (zero columns pad the last), every strip meets every 8-row panel of A
// (packed once, zero rows pad the last). When k is longer than one block,
// the sums carry over between blocks in a scratch buffer, so each element
// of C is still summed from zero in increasing p and added to C once. Edge
// blocks go through a zeroed buffer with the same instructions.
func gemm512(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, kern kernel512) {
	if m <= 0 || n <= 0 || k <= 0 {
		return
	}
	const mr, nr = mr512, nr512
	panels, packed := packPanels(m, k, a, lda, mr)
	defer packBuffers.Put(packed)
	maxCols := min(nc512, (n+nr-1)/nr*nr)
	maxK := min(kc512, k)
	strips := packBuffers.Get(maxK * maxCols)
	defer packBuffers.Put(strips)
	var tmp [mr * nr]float32
	var sums []float32 // partial sums between k-blocks, when there are several
	if k > kc512 {
		sums = packBuffers.Get(panels * mr * maxCols)
		defer packBuffers.Put(sums)
	}
	for jc := 0; jc < n; jc += nc512 {
		cols := min(nc512, n-jc)
		for pc := 0; pc < k; pc += kc512 {
			kb := min(kc512, k-pc)
			packStrips(kb, cols, b, ldb, pc, jc, strips)
			flags := 0
			if pc > 0 {
				flags |= fromSums
			}
			if pc+kb == k {
				flags |= intoC
			}
			for js := 0; js*nr < cols; js++ {
				j := jc + js*nr
				width := min(nr, n-j)
				strip := &strips[js*kb*nr]
				for pi := 0; pi < panels; pi++ {
					i := pi * mr
					rows := min(mr, m-i)
					s := &tmp[0] // not read or written with one k-block
					if sums != nil {
						s = &sums[(js*panels+pi)*mr*nr]
					}
					apanel := &packed[(pi*k+pc)*mr]
					if (rows == mr && width == nr) || flags&intoC == 0 {
						kern(kb, apanel, strip, s, &c[i*ldc+j], ldc, flags)
						continue
					}
					tmp = [mr * nr]float32{}
					kern(kb, apanel, strip, s, &tmp[0], nr, flags)
					for r := 0; r < rows; r++ {
						crow := c[(i+r)*ldc+j:][:width]
						for x := range crow {
							crow[x] += tmp[r*nr+x]
						}
					}
				}
			}
		}
	}
}

// packStrips copies rows pc..pc+kb of B, columns jc..jc+cols, into strips of
// 32 columns, each kb rows of 32 contiguous values; zero columns pad the
// last strip. Rows of B lie far apart, so each row asks for the one two
// rows on while it is copied.
func packStrips(kb, cols int, b []float32, ldb, pc, jc int, strips []float32) {
	const nr, ahead = nr512, 2
	full := cols / nr
	if cols%nr != 0 {
		clear(strips[full*kb*nr:][:kb*nr])
	}
	for p := 0; p < kb; p++ {
		row := b[(pc+p)*ldb+jc:][:cols]
		next := row
		if p+ahead < kb {
			next = b[(pc+p+ahead)*ldb+jc:][:cols]
		}
		if full > 0 {
			packRow32(full, &row[0], &strips[p*nr], kb*nr*4, &next[0])
		}
		if full*nr < cols {
			copy(strips[(full*kb+p)*nr:][:nr], row[full*nr:])
		}
	}
}
