//go:build amd64 && !purego

#include "textflag.h"

// The 8x32 AVX-512 micro-kernels multiply an 8-row panel of A (eight
// values per step of k) by a 32-column panel of B (32 values per step), both
// packed contiguously, in sixteen ZMM accumulators: row r's columns 0-15 in
// Z(2r), 16-31 in Z(2r+1). The flags say where the sums start and where they
// go, so that a long k can be cut into cache-sized blocks without changing
// a single rounding:
//
//	flags&1 == 0: start from zero       flags&1 == 1: start from s (8x32, packed)
//	flags&2 == 0: store the sums in s   flags&2 == 2: add them into c, once
//
// kern8x32Fused rounds once per step (FMA); kern8x32 rounds the product,
// then the sum, exactly as Go's float32 arithmetic does.

// ZERO16, LOAD16 and STORE16 clear the accumulators, load them from s (R8)
// and store them there.
#define ZERO16 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD Z12, Z12, Z12 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14 \
	VPXORD Z15, Z15, Z15

#define LOAD16 \
	VMOVUPS 0(R8), Z0 \
	VMOVUPS 64(R8), Z1 \
	VMOVUPS 128(R8), Z2 \
	VMOVUPS 192(R8), Z3 \
	VMOVUPS 256(R8), Z4 \
	VMOVUPS 320(R8), Z5 \
	VMOVUPS 384(R8), Z6 \
	VMOVUPS 448(R8), Z7 \
	VMOVUPS 512(R8), Z8 \
	VMOVUPS 576(R8), Z9 \
	VMOVUPS 640(R8), Z10 \
	VMOVUPS 704(R8), Z11 \
	VMOVUPS 768(R8), Z12 \
	VMOVUPS 832(R8), Z13 \
	VMOVUPS 896(R8), Z14 \
	VMOVUPS 960(R8), Z15

#define STORE16 \
	VMOVUPS Z0, 0(R8) \
	VMOVUPS Z1, 64(R8) \
	VMOVUPS Z2, 128(R8) \
	VMOVUPS Z3, 192(R8) \
	VMOVUPS Z4, 256(R8) \
	VMOVUPS Z5, 320(R8) \
	VMOVUPS Z6, 384(R8) \
	VMOVUPS Z7, 448(R8) \
	VMOVUPS Z8, 512(R8) \
	VMOVUPS Z9, 576(R8) \
	VMOVUPS Z10, 640(R8) \
	VMOVUPS Z11, 704(R8) \
	VMOVUPS Z12, 768(R8) \
	VMOVUPS Z13, 832(R8) \
	VMOVUPS Z14, 896(R8) \
	VMOVUPS Z15, 960(R8)

// ADDC16 adds the accumulators into the 8x32 block of C at DI, rows SI
// bytes apart.
#define ADDC16 \
	VADDPS 0(DI), Z0, Z0 \
	VMOVUPS Z0, 0(DI) \
	VADDPS 64(DI), Z1, Z1 \
	VMOVUPS Z1, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z2, Z2 \
	VMOVUPS Z2, 0(DI) \
	VADDPS 64(DI), Z3, Z3 \
	VMOVUPS Z3, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z4, Z4 \
	VMOVUPS Z4, 0(DI) \
	VADDPS 64(DI), Z5, Z5 \
	VMOVUPS Z5, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z6, Z6 \
	VMOVUPS Z6, 0(DI) \
	VADDPS 64(DI), Z7, Z7 \
	VMOVUPS Z7, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z8, Z8 \
	VMOVUPS Z8, 0(DI) \
	VADDPS 64(DI), Z9, Z9 \
	VMOVUPS Z9, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z10, Z10 \
	VMOVUPS Z10, 0(DI) \
	VADDPS 64(DI), Z11, Z11 \
	VMOVUPS Z11, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z12, Z12 \
	VMOVUPS Z12, 0(DI) \
	VADDPS 64(DI), Z13, Z13 \
	VMOVUPS Z13, 64(DI) \
	ADDQ SI, DI \
	VADDPS 0(DI), Z14, Z14 \
	VMOVUPS Z14, 0(DI) \
	VADDPS 64(DI), Z15, Z15 \
	VMOVUPS Z15, 64(DI)

// PREFETCHC asks for the block of C (DI, rows SI bytes apart) early: its
// eight rows lie far apart in memory, and the sums are added into it last.
#define PREFETCHC \
	MOVQ DI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9) \
	ADDQ SI, R9 \
	PREFETCHT0 0(R9) \
	PREFETCHT0 64(R9) \
	PREFETCHT0 124(R9)

// PROLOGUE loads the arguments, asks for C if the sums go there, and starts
// the accumulators as flags say.
#define PROLOGUE \
	MOVQ k+0(FP), CX \
	MOVQ a+8(FP), AX \
	MOVQ b+16(FP), BX \
	MOVQ s+24(FP), R8 \
	MOVQ c+32(FP), DI \
	MOVQ ldc+40(FP), SI \
	SHLQ $2, SI \
	MOVQ flags+48(FP), DX \
	TESTQ $2, DX \
	JE nocprefetch \
	PREFETCHC \
nocprefetch: \
	TESTQ $1, DX \
	JNZ fromsums \
	ZERO16 \
	JMP started \
fromsums: \
	LOAD16 \
started: \
	TESTQ CX, CX \
	JE finish

// EPILOGUE sends the sums where flags say.
#define EPILOGUE \
finish: \
	TESTQ $2, DX \
	JNZ intoc \
	STORE16 \
	VZEROUPPER \
	RET \
intoc: \
	ADDC16 \
	VZEROUPPER \
	RET

// FMAROW adds row r of a step: a[r] times both halves of B's row.
#define FMAROW(off, z0, z1) \
	VFMADD231PS.BCST off(AX), Z16, z0 \
	VFMADD231PS.BCST off(AX), Z17, z1

// MULROW is FMAROW with a rounded product, then a rounded sum. The
// broadcasts are embedded in the instructions: a separate VBROADCASTSS
// took a vector pipe on this CPU and held the kernel at two thirds of its
// peak.
#define MULROW(off, z0, z1) \
	VMULPS.BCST off(AX), Z16, Z19 \
	VMULPS.BCST off(AX), Z17, Z20 \
	VADDPS Z19, z0, z0 \
	VADDPS Z20, z1, z1

// NTROW adds row a (at the register's address plus AX) times the four rows
// of b in Z16-Z19 into four accumulators.
#define NTROW(ra, z0, z1, z2, z3) \
	VMOVUPS (ra)(AX*1), Z20 \
	VFMADD231PS Z16, Z20, z0 \
	VFMADD231PS Z17, Z20, z1 \
	VFMADD231PS Z18, Z20, z2 \
	VFMADD231PS Z19, Z20, z3

// STEP applies ROW to the eight rows of one step of k and moves on.
#define STEP(ROW) \
	VMOVUPS 0(BX), Z16 \
	VMOVUPS 64(BX), Z17 \
	ROW(0, Z0, Z1) \
	ROW(4, Z2, Z3) \
	ROW(8, Z4, Z5) \
	ROW(12, Z6, Z7) \
	ROW(16, Z8, Z9) \
	ROW(20, Z10, Z11) \
	ROW(24, Z12, Z13) \
	ROW(28, Z14, Z15) \
	ADDQ $32, AX \
	ADDQ $128, BX

// func kern8x32Fused(k int, a, b, s, c *float32, ldc, flags int)
TEXT ·kern8x32Fused(SB), NOSPLIT, $0-56
	PROLOGUE
loop:
	STEP(FMAROW)
	DECQ CX
	JNZ loop
	EPILOGUE

// func kern8x32(k int, a, b, s, c *float32, ldc, flags int)
TEXT ·kern8x32(SB), NOSPLIT, $0-56
	PROLOGUE
loop:
	STEP(MULROW)
	DECQ CX
	JNZ loop
	EPILOGUE

// func packRow32(chunks int, src, dst *float32, stride int, next *float32)
//
// packRow32 copies chunks runs of 32 floats from src (contiguous) to dst,
// stride bytes apart, and asks the memory for the same span at next (the
// row packed after the next one).
TEXT ·packRow32(SB), NOSPLIT, $0-40
	MOVQ chunks+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVQ stride+24(FP), DX
	MOVQ next+32(FP), R8
	TESTQ CX, CX
	JE packed
pack:
	PREFETCHT0 0(R8)
	PREFETCHT0 64(R8)
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, R8
	ADDQ DX, DI
	DECQ CX
	JNZ pack
packed:
	VZEROUPPER
	RET

// func kern8x32Conv(k int, a, b *float32, boff *int32, c *float32, ldc int, bias *float32, relu int)
//
// kern8x32Conv is a convolution's 8x32 block without im2col: row p of B
// starts boff[p] floats after b. C is overwritten with bias + sum (through
// ReLU when relu is nonzero), each sum made with Go's rounding, as
// kern6x16Conv does.
TEXT ·kern8x32Conv(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ boff+24(FP), R8
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), SI
	SHLQ $2, SI
	MOVQ bias+48(FP), R11
	ZERO16
	TESTQ CX, CX
	JE sums
loop:
	MOVLQSX (R8), R9
	LEAQ (BX)(R9*4), R10
	VMOVUPS 0(R10), Z16
	VMOVUPS 64(R10), Z17
	PREFETCHT0 256(R10)
	PREFETCHT0 320(R10)
	MULROW(0, Z0, Z1)
	MULROW(4, Z2, Z3)
	MULROW(8, Z4, Z5)
	MULROW(12, Z6, Z7)
	MULROW(16, Z8, Z9)
	MULROW(20, Z10, Z11)
	MULROW(24, Z12, Z13)
	MULROW(28, Z14, Z15)
	ADDQ $4, R8
	ADDQ $32, AX
	DECQ CX
	JNZ loop
sums:
	VBROADCASTSS 0(R11), Z18
	VADDPS Z18, Z0, Z0
	VADDPS Z18, Z1, Z1
	VBROADCASTSS 4(R11), Z18
	VADDPS Z18, Z2, Z2
	VADDPS Z18, Z3, Z3
	VBROADCASTSS 8(R11), Z18
	VADDPS Z18, Z4, Z4
	VADDPS Z18, Z5, Z5
	VBROADCASTSS 12(R11), Z18
	VADDPS Z18, Z6, Z6
	VADDPS Z18, Z7, Z7
	VBROADCASTSS 16(R11), Z18
	VADDPS Z18, Z8, Z8
	VADDPS Z18, Z9, Z9
	VBROADCASTSS 20(R11), Z18
	VADDPS Z18, Z10, Z10
	VADDPS Z18, Z11, Z11
	VBROADCASTSS 24(R11), Z18
	VADDPS Z18, Z12, Z12
	VADDPS Z18, Z13, Z13
	VBROADCASTSS 28(R11), Z18
	VADDPS Z18, Z14, Z14
	VADDPS Z18, Z15, Z15
	MOVQ relu+56(FP), R12
	TESTQ R12, R12
	JE write
	VPXORD Z19, Z19, Z19
	VMAXPS Z19, Z0, Z0
	VMAXPS Z19, Z1, Z1
	VMAXPS Z19, Z2, Z2
	VMAXPS Z19, Z3, Z3
	VMAXPS Z19, Z4, Z4
	VMAXPS Z19, Z5, Z5
	VMAXPS Z19, Z6, Z6
	VMAXPS Z19, Z7, Z7
	VMAXPS Z19, Z8, Z8
	VMAXPS Z19, Z9, Z9
	VMAXPS Z19, Z10, Z10
	VMAXPS Z19, Z11, Z11
	VMAXPS Z19, Z12, Z12
	VMAXPS Z19, Z13, Z13
	VMAXPS Z19, Z14, Z14
	VMAXPS Z19, Z15, Z15
write:
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z2, 0(DI)
	VMOVUPS Z3, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z4, 0(DI)
	VMOVUPS Z5, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z6, 0(DI)
	VMOVUPS Z7, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z8, 0(DI)
	VMOVUPS Z9, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z10, 0(DI)
	VMOVUPS Z11, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z12, 0(DI)
	VMOVUPS Z13, 64(DI)
	ADDQ SI, DI
	VMOVUPS Z14, 0(DI)
	VMOVUPS Z15, 64(DI)
	VZEROUPPER
	RET

// func dotNT4x4(k int, a *float32, lda int, b *float32, ldb int, c *[16]float32)
//
// dotNT4x4 sets c[4*i+j] = sum over p < k (k a multiple of 16) of
// a[i*lda+p] * b[j*ldb+p], for i, j < 4: sixteen dot products at once, each
// summed in sixteen lanes with fused multiply-adds and then across the
// lanes. Eight loads feed sixteen FMAs (dotNT4x2: six feed eight).
TEXT ·dotNT4x4(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ c+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (DI)(R9*1), R13
	LEAQ (R13)(R9*1), BX
	LEAQ (BX)(R9*1), R9
	ZERO16
	XORQ AX, AX
	SHRQ $4, CX
	JE reduce
loop:
	VMOVUPS (DI)(AX*1), Z16
	VMOVUPS (R13)(AX*1), Z17
	VMOVUPS (BX)(AX*1), Z18
	VMOVUPS (R9)(AX*1), Z19
	NTROW(SI, Z0, Z1, Z2, Z3)
	NTROW(R10, Z4, Z5, Z6, Z7)
	NTROW(R11, Z8, Z9, Z10, Z11)
	NTROW(R12, Z12, Z13, Z14, Z15)
	ADDQ $64, AX
	DECQ CX
	JNZ loop
reduce:
	// Each ZMM's upper half onto its lower one (whole-ZMM adds: a YMM add
	// of Y16 would need AVX512VL), then the AVX2 kernel's horizontal sums.
	VEXTRACTF64X4 $1, Z0, Y16
	VADDPS Z16, Z0, Z0
	VEXTRACTF64X4 $1, Z1, Y16
	VADDPS Z16, Z1, Z1
	VEXTRACTF64X4 $1, Z2, Y16
	VADDPS Z16, Z2, Z2
	VEXTRACTF64X4 $1, Z3, Y16
	VADDPS Z16, Z3, Z3
	VEXTRACTF64X4 $1, Z4, Y16
	VADDPS Z16, Z4, Z4
	VEXTRACTF64X4 $1, Z5, Y16
	VADDPS Z16, Z5, Z5
	VEXTRACTF64X4 $1, Z6, Y16
	VADDPS Z16, Z6, Z6
	VEXTRACTF64X4 $1, Z7, Y16
	VADDPS Z16, Z7, Z7
	VEXTRACTF64X4 $1, Z8, Y16
	VADDPS Z16, Z8, Z8
	VEXTRACTF64X4 $1, Z9, Y16
	VADDPS Z16, Z9, Z9
	VEXTRACTF64X4 $1, Z10, Y16
	VADDPS Z16, Z10, Z10
	VEXTRACTF64X4 $1, Z11, Y16
	VADDPS Z16, Z11, Z11
	VEXTRACTF64X4 $1, Z12, Y16
	VADDPS Z16, Z12, Z12
	VEXTRACTF64X4 $1, Z13, Y16
	VADDPS Z16, Z13, Z13
	VEXTRACTF64X4 $1, Z14, Y16
	VADDPS Z16, Z14, Z14
	VEXTRACTF64X4 $1, Z15, Y16
	VADDPS Z16, Z15, Z15
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y5, Y4, Y4
	VHADDPS Y7, Y6, Y6
	VHADDPS Y2, Y0, Y0
	VHADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VMOVUPS X0, (DX)
	VMOVUPS X4, 16(DX)
	VHADDPS Y9, Y8, Y8
	VHADDPS Y11, Y10, Y10
	VHADDPS Y13, Y12, Y12
	VHADDPS Y15, Y14, Y14
	VHADDPS Y10, Y8, Y8
	VHADDPS Y14, Y12, Y12
	VEXTRACTF128 $1, Y8, X9
	VADDPS X9, X8, X8
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X12
	VMOVUPS X8, 32(DX)
	VMOVUPS X12, 48(DX)
	VZEROUPPER
	RET
