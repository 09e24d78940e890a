// Package simd holds the page's WebAssembly SIMD matrix kernel: the module
// itself, written here instruction by instruction and encoded by Module
// (go generate writes it to site/gemm-simd.wasm), and the Go driver that
// hands it whole blocks of a product.
//
// The module imports the Go program's memory ("env" "memory") and exports
//
//	gemm(panels, blocks, k, a, b, ldb, c, ldc)
//
// which, for every 4-row panel of a packed A (panel i holds k steps of 4
// values) and every 8-column block of B (rows ldb floats apart), adds the
// 4x8 product into C (rows ldc floats apart). Addresses are bytes. It also
// exports
//
//	gemmoff(panels, blocks, k, a, b, boff, c, ldc, bias, relu)
//
// for convolutions without im2col: B's row p starts boff[p] floats after b
// (boff is the address of an int32 table), and C is overwritten with the
// row's bias plus the sum, through ReLU (f32x4.max with zero) when relu is
// nonzero: Go's bias + sum, and core's relu, for every finite value. Each
// element is summed from zero in increasing k with a rounded product and a
// rounded sum, then added to C once: exactly Go's float32 arithmetic in
// kernels.MatMulGo, so the page's pixels equal the command line's. The third
// export,
//
//	gemmoff1(1, blocks, k, a, b, boff, c, ldc, bias, relu)
//
// is gemmoff for a single row of A (k values, not packed) and blocks of 32
// columns: a network's one-filter last layer, where a 4-row panel would be
// three quarters zero rows.
package simd

//go:generate go run gen.go

// Opcodes used below (WebAssembly 2.0 with the SIMD proposal).
const (
	opBlock         = 0x02
	opLoop          = 0x03
	opIf            = 0x04
	opElse          = 0x05
	opBr            = 0x0c
	opBrIf          = 0x0d
	opEnd           = 0x0b
	opLocalGet      = 0x20
	opLocalSet      = 0x21
	opLocalTee      = 0x22
	opI32Load       = 0x28
	opI32Const      = 0x41
	opI32Eqz        = 0x45
	opI32GeU        = 0x4f
	opI32Add        = 0x6a
	opI32Sub        = 0x6b
	opI32Mul        = 0x6c
	opI32Shl        = 0x74
	prefixSIMD      = 0xfd
	simdLoad        = 0x00
	simdLoadSplat32 = 0x09 // v128.load32_splat
	simdStore       = 0x0b
	simdConst       = 0x0c
	simdAdd         = 0xe4 // f32x4.add
	simdMax         = 0xe9 // f32x4.max
	simdMul         = 0xe6 // f32x4.mul
	typeI32         = 0x7f
	typeV128        = 0x7b
	blockVoid       = 0x40
)

// The function's parameters and locals, by index.
const (
	pPanels = iota // number of 4-row panels
	pBlocks        // number of nr-column blocks
	pK
	pA // byte address of packed A
	pB
	pLdb // floats
	pC
	pLdc  // floats
	pBias // gemmoff: byte address of the rows' biases
	pReLU // gemmoff: nonzero to apply ReLU
	lI    // panel index
	lJ    // block index
	lP    // steps left
	lAPtr
	lBPtr
	lCPtr
	lLdbBytes
	lLdcBytes
	lAcc // then v128 locals: see shape's methods
)

// Block shape of gemm and gemmoff: mr rows of A by nq groups of 4 columns
// of B. 4x8 keeps 8 accumulators, 2 vectors of B and a splat in x64's 16
// vector registers without spilling; measured in V8 against 4x16, 2x16,
// 3x16 and 6x8 it was the fastest on most SRCNN layer shapes (about 30
// GFLOP/s on the wide ones on this machine).
const (
	mr = 4
	nq = 2
	nr = 4 * nq
)

// nr1 is the block width of gemmoff1, which computes one row of C 32
// columns at a time: for a one-filter layer (a network's last), where a
// 4-row panel would be three quarters zero rows.
const nr1 = 32

// shape is a block of mr rows of A by nq groups of 4 columns of B.
type shape struct{ mr, nq int }

var (
	panelShape = shape{mr, nq}
	rowShape   = shape{1, nr1 / 4}
)

func (s shape) nr() int          { return 4 * s.nq }
func (s shape) acc(r, q int) int { return lAcc + s.nq*r + q }    // accumulator of row r, column group q
func (s shape) b(q int) int      { return lAcc + s.mr*s.nq + q } // B's column group q at this step
func (s shape) splat() int       { return s.b(s.nq) }            // A's value splatted

// code accumulates a function body.
type code []byte

func (c *code) op(b ...byte) *code { *c = append(*c, b...); return c }
func (c *code) u32(v uint32) *code { *c = appendU32(*c, v); return c }
func (c *code) get(i int) *code    { return c.op(opLocalGet).u32(uint32(i)) }
func (c *code) set(i int) *code    { return c.op(opLocalSet).u32(uint32(i)) }
func (c *code) tee(i int) *code    { return c.op(opLocalTee).u32(uint32(i)) }
func (c *code) i32(v int32) *code  { *c = appendS32(append(*c, opI32Const), v); return c }
func (c *code) simd(op uint32) *code {
	return c.op(prefixSIMD).u32(op)
}

// memarg: alignment as a power of two (a hint), then an offset.
func (c *code) v128Load(offset uint32) *code  { return c.simd(simdLoad).u32(2).u32(offset) }
func (c *code) v128Store(offset uint32) *code { return c.simd(simdStore).u32(2).u32(offset) }

// gemmBody is the kernel, as structured loops. With offsets, B's rows are
// not ldb floats apart: parameter pLdb is then the byte address of an int32
// table holding each row's offset in floats from b (gemmoff).
func gemmBody(s shape, offsets bool) []byte {
	mr, nq, nr := int32(s.mr), s.nq, int32(s.nr())
	var c code
	// Byte strides.
	if !offsets {
		c.get(pLdb).i32(2).op(opI32Shl).set(lLdbBytes)
	}
	c.get(pLdc).i32(2).op(opI32Shl).set(lLdcBytes)
	// Blocks of B outside, panels of A inside: an nr-column block of B (k x nr*4
	// bytes) stays in cache while every panel uses it.
	c.i32(0).set(lJ)
	c.op(opBlock, blockVoid).op(opLoop, blockVoid) // blocks
	{
		c.get(lJ).get(pBlocks).op(opI32GeU).op(opBrIf).u32(1)
		c.i32(0).set(lI)
		c.op(opBlock, blockVoid).op(opLoop, blockVoid) // panels
		{
			c.get(lI).get(pPanels).op(opI32GeU).op(opBrIf).u32(1)
			for i := 0; i < s.mr*nq; i++ { // accumulators = 0
				c.simd(simdConst).op(make([]byte, 16)...).set(lAcc + i)
			}
			// aPtr = a + i*k*mr*4; bPtr = b + j*nr*4
			c.get(pA).get(lI).get(pK).op(opI32Mul).i32(mr * 4).op(opI32Mul).op(opI32Add).set(lAPtr)
			if offsets {
				// lLdbBytes: this block's base; lBPtr: the offset table.
				c.get(pB).get(lJ).i32(nr * 4).op(opI32Mul).op(opI32Add).set(lLdbBytes)
				c.get(pLdb).set(lBPtr)
			} else {
				c.get(pB).get(lJ).i32(nr * 4).op(opI32Mul).op(opI32Add).set(lBPtr)
			}
			c.get(pK).set(lP)
			c.op(opBlock, blockVoid)
			c.get(lP).op(opI32Eqz).op(opBrIf).u32(0)
			c.op(opLoop, blockVoid) // steps of k
			{
				row := lBPtr
				if offsets { // row address = base + 4*table[p], in lCPtr for now
					c.get(lBPtr).op(opI32Load).u32(2).u32(0).i32(2).op(opI32Shl).get(lLdbBytes).op(opI32Add).set(lCPtr)
					row = lCPtr
				}
				if mr == 1 {
					// One row: A's value once, then each group of B as it
					// is loaded (nq vectors of B need not be live at once).
					c.get(lAPtr).simd(simdLoadSplat32).u32(2).u32(0).set(s.splat())
					for q := 0; q < nq; q++ {
						c.get(s.acc(0, q)).get(s.splat()).get(row).v128Load(uint32(16 * q)).simd(simdMul).simd(simdAdd).set(s.acc(0, q))
					}
				} else {
					for q := 0; q < nq; q++ {
						c.get(row).v128Load(uint32(16 * q)).set(s.b(q))
					}
					for r := 0; r < s.mr; r++ {
						c.get(lAPtr).simd(simdLoadSplat32).u32(2).u32(uint32(4 * r)).set(s.splat())
						for q := 0; q < nq; q++ {
							// acc = acc + s*b
							c.get(s.acc(r, q)).get(s.splat()).get(s.b(q)).simd(simdMul).simd(simdAdd).set(s.acc(r, q))
						}
					}
				}
				c.get(lAPtr).i32(mr * 4).op(opI32Add).set(lAPtr)
				if offsets {
					c.get(lBPtr).i32(4).op(opI32Add).set(lBPtr)
				} else {
					c.get(lBPtr).get(lLdbBytes).op(opI32Add).set(lBPtr)
				}
				c.get(lP).i32(1).op(opI32Sub).tee(lP).op(opBrIf).u32(0)
			}
			c.op(opEnd).op(opEnd)
			// C rows: c + (mr*i)*ldcBytes + j*nr*4.
			c.get(pC).get(lI).i32(mr).op(opI32Mul).get(lLdcBytes).op(opI32Mul).op(opI32Add).get(lJ).i32(nr * 4).op(opI32Mul).op(opI32Add).set(lCPtr)
			if !offsets {
				// Each element += its accumulator.
				for r := 0; r < s.mr; r++ {
					for q := 0; q < nq; q++ {
						c.get(lCPtr) // address for the store
						c.get(lCPtr).v128Load(uint32(16 * q)).get(s.acc(r, q)).simd(simdAdd)
						c.v128Store(uint32(16 * q))
					}
					c.get(lCPtr).get(lLdcBytes).op(opI32Add).set(lCPtr)
				}
			} else {
				// Each element = act(bias of its row + its accumulator); lP,
				// free now, points at the panel's biases.
				c.get(pBias).get(lI).i32(mr * 4).op(opI32Mul).op(opI32Add).set(lP)
				c.get(pReLU).op(opIf, blockVoid)
				storeBiased(&c, s, true)
				c.op(opElse)
				storeBiased(&c, s, false)
				c.op(opEnd)
			}
			c.get(lI).i32(1).op(opI32Add).set(lI)
			c.op(opBr).u32(0)
		}
		c.op(opEnd).op(opEnd)
		c.get(lJ).i32(1).op(opI32Add).set(lJ)
		c.op(opBr).u32(0)
	}
	c.op(opEnd).op(opEnd)
	c.op(opEnd) // function
	// Locals: 8 i32, then the v128 ones.
	var body []byte
	body = appendU32(body, 2)
	body = appendU32(append(appendU32(body, lAcc-lI), typeI32), uint32(s.splat()+1-lAcc))
	body = append(body, typeV128)
	return append(body, c...)
}

// storeBiased writes bias + accumulators (through ReLU when withReLU) into
// the block of C at lCPtr, the biases at lP.
func storeBiased(c *code, s shape, withReLU bool) {
	for r := 0; r < s.mr; r++ {
		c.get(lP).simd(simdLoadSplat32).u32(2).u32(uint32(4 * r)).set(s.splat())
		for q := 0; q < s.nq; q++ {
			c.get(lCPtr) // address for the store
			c.get(s.splat()).get(s.acc(r, q)).simd(simdAdd)
			if withReLU {
				c.simd(simdConst).op(make([]byte, 16)...).simd(simdMax)
			}
			c.v128Store(uint32(16 * q))
		}
		c.get(lCPtr).get(lLdcBytes).op(opI32Add).set(lCPtr)
	}
}

// Module returns the encoded module.
func Module() []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	// Type section: one function type, 10 x i32 -> () (gemm ignores the
	// last two parameters).
	typ := []byte{1, 0x60, lI}
	for i := 0; i < lI; i++ {
		typ = append(typ, typeI32)
	}
	typ = append(typ, 0)
	m = section(m, 1, typ)
	// Import section: env.memory, a memory of at least one page.
	imp := appendU32(nil, 1)
	imp = appendName(imp, "env")
	imp = appendName(imp, "memory")
	imp = append(imp, 0x02, 0x00, 0x01)
	m = section(m, 2, imp)
	// The functions, all of type 0, in order.
	funcs := []struct {
		name    string
		s       shape
		offsets bool
	}{{"gemm", panelShape, false}, {"gemmoff", panelShape, true}, {"gemmoff1", rowShape, true}}
	m = section(m, 3, append(appendU32(nil, uint32(len(funcs))), make([]byte, len(funcs))...))
	exp := appendU32(nil, uint32(len(funcs)))
	code := appendU32(nil, uint32(len(funcs)))
	for i, f := range funcs {
		exp = append(appendName(exp, f.name), 0x00, byte(i))
		body := gemmBody(f.s, f.offsets)
		code = append(appendU32(code, uint32(len(body))), body...)
	}
	m = section(m, 7, exp)
	return section(m, 10, code)
}

func section(m []byte, id byte, content []byte) []byte {
	m = append(m, id)
	m = appendU32(m, uint32(len(content)))
	return append(m, content...)
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// appendS32 appends v as signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
