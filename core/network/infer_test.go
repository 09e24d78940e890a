package network

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/mat"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
)

// sameConv runs the inference convolution of l over a batch of Maps, image
// by image, with replicated Edges on the sides in e, and returns the
// outputs as tight planes laid out as the batch was ([out][batch][h][w']),
// where the sides not in e have shrunk by the radius.
func sameConv(l *convLayer, in []float32, g convGeom, e Edges, withReLU bool) []float32 {
	var outs [][]imaging.Plane
	for b := 0; b < g.batch; b++ {
		img := make([]float32, 0, l.in*g.plane())
		for c := 0; c < l.in; c++ {
			img = append(img, in[c*g.pixels()+b*g.plane():][:g.plane()]...)
		}
		m := Maps{Data: img, plane: g.plane(), stride: g.w, w: g.w, h: g.h, Rect: image.Rect(0, 0, g.w, g.h), channels: l.in}
		var scratch []float32
		if b := borderFor(e, l.k/2); b != (border{}) {
			m = withBorder(nil, m, b, m.w+b.l+b.r)
		}
		res := l.valid(m, border{}, nil, withReLU, &scratch)
		outs = append(outs, res.Crop(res.Rect))
	}
	var flat []float32
	for o := 0; o < l.out; o++ {
		for b := range outs {
			flat = append(flat, outs[b][o].Pix...)
		}
	}
	return flat
}

// withKernels runs f with each inference path in turn: the build's own
// kernels, im2col + the pure-Go GEMM, the reference offset kernel, and
// narrow layers through the GEMM rather than directly.
func withKernels(t *testing.T, f func(path string)) {
	oldMM, oldNarrow, oldConv := kernels.ActiveMatMul(), kernels.NarrowByGEMM(), kernels.ActiveConv()
	defer func() { kernels.SetMatMul(oldMM, oldNarrow); kernels.SetConv(oldConv) }()
	for _, p := range []struct {
		name   string
		mm     kernels.MatMulFunc
		narrow bool
		conv   kernels.ConvFunc
	}{
		{"build", oldMM, oldNarrow, oldConv},
		{"im2col", kernels.MatMulGo, false, nil},
		{"im2col-narrow-gemm", kernels.MatMulGo, true, nil},
		{"offsets", kernels.MatMulGo, false, kernels.ConvFromOffsets(kernels.OffsetMatMulGo)},
		{"offsets-narrow-gemm", kernels.MatMulGo, true, kernels.ConvFromOffsets(kernels.OffsetMatMulGo)},
	} {
		kernels.SetMatMul(p.mm, p.narrow)
		kernels.SetConv(p.conv)
		f(p.name)
	}
}

// TestInferencePathsAgree: every inference path gives the same numbers bit
// for bit, for every combination of border sides, with and without ReLU.
func TestInferencePathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, tc := range []struct{ in, out, k, h, w int }{
		{1, 16, 3, 13, 17}, {16, 16, 3, 9, 8}, {3, 8, 5, 9, 6}, {2, 4, 9, 9, 9}, {4, 6, 3, 3, 12},
		{16, 1, 3, 7, 11}, {5, 3, 3, 6, 6}, {8, 4, 1, 3, 5},
	} {
		g := convGeom{1, tc.h, tc.w}
		kk := tc.in * tc.k * tc.k
		l := convLayer{in: tc.in, out: tc.out, k: tc.k, weight: randSlice(rng, tc.out*kk), bias: randSlice(rng, tc.out)}
		in := randSlice(rng, tc.in*g.pixels())
		for sides := 0; sides < 16; sides++ {
			e := Edges{sides&1 != 0, sides&2 != 0, sides&4 != 0, sides&8 != 0}
			for _, withReLU := range []bool{false, true} {
				var want []float32
				withKernels(t, func(path string) {
					got := sameConv(&l, in, g, e, withReLU)
					if want == nil {
						want = got
						return
					}
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%+v %+v relu %v: %s element %d: %g, first path %g", tc, e, withReLU, path, i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestValidSidesMatchSame: a side not on the border gives the same pixels
// as the whole map's same-size convolution there, less the radius.
func TestValidSidesMatchSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	g := convGeom{1, 12, 15}
	l := convLayer{in: 3, out: 4, k: 5, weight: randSlice(rng, 4*75), bias: randSlice(rng, 4)}
	in := randSlice(rng, 3*g.pixels())
	whole := sameConv(&l, in, g, allEdges, true)
	e := Edges{Left: true, Bottom: true} // shrinks by 2 at the top and right
	got := sameConv(&l, in, g, e, true)
	w, h := g.w-2, g.h-2
	for o := 0; o < l.out; o++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if a, b := got[o*w*h+y*w+x], whole[o*g.pixels()+(y+2)*g.w+x]; a != b {
					t.Fatalf("filter %d pixel (%d,%d): %g, whole map %g", o, x, y, a, b)
				}
			}
		}
	}
}

// TestInferMatchesGraph: inference gives the training graph's output (up
// to float rounding: training sums with fused multiply-adds).
func TestInferMatchesGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	first1x1 := Config{Preset: "first-1x1", Channels: 1, Layers: []Layer{{1, 4}, {3, 4}, {5, 1}}}
	prelu := Config{Preset: "prelu", Channels: 1, Activation: "prelu", Layers: []Layer{{3, 8}, {3, 8}, {3, 1}}}
	for _, cfg := range []Config{tinyY, tinyRGB, first1x1, prelu, Presets["srcnn-915"], Presets["vdsr16-8"]} {
		t.Run(cfg.Preset, func(t *testing.T) {
			m := smallModel(t, cfg, 7)
			for _, a := range m.Slopes {
				for j := range a.Value().Data().F32() {
					a.Value().Data().F32()[j] = float32(j%4-1) * 0.4
				}
			}
			h, w := 19, 23
			x := randSlice(rng, cfg.Channels*h*w)
			want := m.Forward(mat.NewDense[float32](mat.WithShape(cfg.Channels, h*w), mat.WithBacking(x)), 1, h, w).Value().Data().F32()
			withKernels(t, func(path string) {
				got := m.Infer(x, h, w)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("%s element %d: %g, graph %g", path, i, got[i], want[i])
					}
				}
			})
		})
	}
}

// BenchmarkLayer times whole layers of inference on a 140x140 map (a 128
// tile and its halo) with replicated Edges all round. GFLOP/s counts the
// layer's multiply-adds twice.
func BenchmarkLayer(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const side = 140
	for _, s := range []struct {
		name       string
		in, out, k int
	}{
		{"9x9x1to64", 1, 64, 9}, {"1x1x64to32", 64, 32, 1}, {"5x5x32to1", 32, 1, 5},
		{"5x5x64to32", 64, 32, 5}, {"3x3x128to64", 128, 64, 3},
		{"3x3x1to16", 1, 16, 3}, {"3x3x16to16", 16, 16, 3}, {"3x3x16to1", 16, 1, 3},
		{"3x3x1to8", 1, 8, 3}, {"3x3x8to8", 8, 8, 3}, {"3x3x8to2", 8, 2, 3},
	} {
		l := convLayer{in: s.in, out: s.out, k: s.k, weight: randSlice(rng, s.out*s.in*s.k*s.k), bias: randSlice(rng, s.out)}
		in := Maps{Data: randSlice(rng, s.in*side*side), plane: side * side, stride: side, w: side, h: side,
			Rect: image.Rect(0, 0, side, side), channels: s.in}
		var out, scratch []float32
		r := l.k / 2
		// In a network each layer writes the next one's border around its
		// output; here the border is made once, outside the timing.
		padded := withBorder(nil, in, border{r, r, r, r}, side+2*r)
		b.Run(s.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out = l.valid(padded, border{}, out, false, &scratch).Data
			}
			b.ReportMetric(2*float64(s.in*s.out*s.k*s.k*side*side)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
