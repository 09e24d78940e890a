package simd

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/srcnn-web/upscaler/core/kernels"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func TestCommittedModuleIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../site/gemm-simd.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Module()) {
		t.Fatal("site/gemm-simd.wasm is stale: run go generate ./wasm/simd")
	}
}

// memoryModule is a module that only exports a memory, to stand in for the
// Go program's memory.
func memoryModule(pages uint32) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 5, append([]byte{1, 0x00}, appendU32(nil, pages)...))
	exp := appendName(appendU32(nil, 1), "memory")
	return section(m, 7, append(exp, 0x02, 0))
}

// wazeroKernel runs the module in wazero: the slices are copied into its
// memory, the kernel runs, and c is copied back.
func wazeroKernel(t testing.TB) (Kernel, func()) {
	kern, _, _, done := wazeroKernels(t)
	return kern, done
}

// wazeroKernels returns the module's gemm, gemmoff and gemmoff1 in wazero.
func wazeroKernels(t testing.TB) (kern Kernel, offs, row OffsetKernel, done func()) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	if _, err := r.InstantiateWithConfig(ctx, memoryModule(256), wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	mod, err := r.Instantiate(ctx, Module())
	if err != nil {
		t.Fatal(err)
	}
	mem := r.Module("env").Memory()
	gemm := mod.ExportedFunction("gemm")
	put := func(at uint32, s []float32) {
		buf := make([]byte, 4*len(s))
		for i, v := range s {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if !mem.Write(at, buf) {
			t.Fatal("write out of range")
		}
	}
	kern = func(panels, blocks, k int, a, b []float32, ldb int, c []float32, ldc int) {
		aAt, bAt := uint32(64), uint32(64+4*len(a))
		cAt := bAt + uint32(4*len(b))
		put(aAt, a)
		put(bAt, b)
		put(cAt, c)
		_, err := gemm.Call(ctx, api.EncodeI32(int32(panels)), api.EncodeI32(int32(blocks)), api.EncodeI32(int32(k)),
			uint64(aAt), uint64(bAt), api.EncodeI32(int32(ldb)), uint64(cAt), api.EncodeI32(int32(ldc)), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		buf, _ := mem.Read(cAt, uint32(4*len(c)))
		for i := range c {
			c[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	}
	withOffsets := func(f api.Function) OffsetKernel {
		return func(panels, blocks, k int, a, b []float32, boff []int32, c []float32, ldc int, bias []float32, relu bool) {
			aAt, bAt := uint32(64), uint32(64+4*len(a))
			tAt := bAt + uint32(4*len(b))
			biasAt := tAt + uint32(4*len(boff))
			cAt := biasAt + uint32(4*len(bias))
			put(aAt, a)
			put(bAt, b)
			put(biasAt, bias)
			flag := uint64(0)
			if relu {
				flag = 1
			}
			table := make([]byte, 4*len(boff))
			for i, v := range boff {
				binary.LittleEndian.PutUint32(table[4*i:], uint32(v))
			}
			mem.Write(tAt, table)
			put(cAt, c)
			_, err := f.Call(ctx, api.EncodeI32(int32(panels)), api.EncodeI32(int32(blocks)), api.EncodeI32(int32(k)),
				uint64(aAt), uint64(bAt), uint64(tAt), uint64(cAt), api.EncodeI32(int32(ldc)), uint64(biasAt), flag)
			if err != nil {
				t.Fatal(err)
			}
			buf, _ := mem.Read(cAt, uint32(4*len(c)))
			for i := range c {
				c[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
		}
	}
	return kern, withOffsets(mod.ExportedFunction("gemmoff")), withOffsets(mod.ExportedFunction("gemmoff1")), func() { r.Close(ctx) }
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestKernelMatchesGo: the SIMD kernel gives kernels.MatMulGo's numbers bit for
// bit, ragged edges included.
func TestKernelMatchesGo(t *testing.T) {
	kern, done := wazeroKernel(t)
	defer done()
	matMul := MatMul(kern)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{1, 1, 1}, {4, 16, 1}, {4, 16, 9}, {5, 17, 3}, {16, 100, 144}, {3, 40, 7}, {7, 15, 20}, {64, 81, 33}} {
		m, n, k := s[0], s[1], s[2]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			// Leading dimensions wider than the matrices, as in im2col rows.
			lda, ldb, ldc := k+3, n+5, n+2
			a, b, c0 := randSlice(rng, m*lda), randSlice(rng, k*ldb), randSlice(rng, m*ldc)
			want := append([]float32(nil), c0...)
			kernels.MatMulGo(m, n, k, a, lda, b, ldb, want, ldc)
			got := append([]float32(nil), c0...)
			matMul(m, n, k, a, lda, b, ldb, got, ldc)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("element %d: %g, Go gives %g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestConvKernelMatchesGo: gemmoff with shifted, overlapping rows (as a
// convolution reads them), bias and ReLU gives core's numbers bit for bit.
func TestConvKernelMatchesGo(t *testing.T) {
	kern, offs, row, done := wazeroKernels(t)
	defer done()
	ref := kernels.ConvFromOffsets(kernels.OffsetMatMulGo)
	rng := rand.New(rand.NewPCG(3, 4))
	// One-row layers (m = 1, or m = 5: a panel and a row) with and without
	// the one-row kernel, over 32-column blocks, 8-column blocks and a tail.
	shapes := [][3]int{{1, 1, 1}, {4, 8, 9}, {16, 150, 144}, {5, 13, 27}, {3, 7, 4}, {1, 40, 144},
		{1, 100, 144}, {5, 77, 27}, {1, 32, 9}, {1, 64, 3}}
	for _, s := range shapes {
		for _, c := range []struct {
			name string
			conv kernels.ConvFunc
		}{{"gemmoff", Conv(kern, offs, nil)}, {"gemmoff1", Conv(kern, offs, row)}} {
			for _, relu := range []bool{false, true} {
				m, n, k := s[0], s[1], s[2]
				boff := make([]int32, k)
				for p := range boff {
					boff[p] = int32((p/3)*(n+2) + p%3) // a 3-wide kernel over rows of n+2
				}
				b := randSlice(rng, int(boff[k-1])+n)
				a, bias := randSlice(rng, m*k), randSlice(rng, m)
				want, got := randSlice(rng, m*n), randSlice(rng, m*n)
				ref(m, n, k, a, k, b, boff, want, n, bias, relu)
				c.conv(m, n, k, a, k, b, boff, got, n, bias, relu)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %v relu %v element %d: %g, Go gives %g", c.name, s, relu, i, got[i], want[i])
					}
				}
			}
		}
	}
}
