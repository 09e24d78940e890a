package core

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// referenceConv is the valid 3x3 convolution of tight w x h planes in
// float64: [out][h-2][w-2].
func referenceConv(l *convLayer, in []float32, w, h int) []float64 {
	ow, oh := w-2, h-2
	out := make([]float64, l.out*ow*oh)
	for o := 0; o < l.out; o++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				s := float64(l.bias[o])
				for c := 0; c < l.in; c++ {
					for dy := 0; dy < 3; dy++ {
						for dx := 0; dx < 3; dx++ {
							s += float64(l.weight[o*l.in*9+(c*3+dy)*3+dx]) * float64(in[c*w*h+(y+dy)*w+x+dx])
						}
					}
				}
				out[(o*oh+y)*ow+x] = s
			}
		}
	}
	return out
}

// columns runs the layer on columns [a, b) of tight w x h planes, as a
// region whose left column is the image's column a, at an even stride, and
// returns the output's tight planes (columns a+1 to b-1).
func columns(l *convLayer, in []float32, w, h, a, b int) []Plane {
	cut := make([]float32, 0, l.in*(b-a)*h)
	for c := 0; c < l.in; c++ {
		for y := 0; y < h; y++ {
			cut = append(cut, in[c*w*h+y*w+a:][:b-a]...)
		}
	}
	m := maps{data: cut, plane: (b - a) * h, stride: b - a, w: b - a, h: h, rect: image.Rect(0, 0, b-a, h), channels: l.in, x0: a}
	m = withBorder(nil, m, border{}, b-a+(b-a)%2)
	var s scratch
	res := l.valid(m, border{}, nil, false, &s)
	return res.crop(res.rect)
}

// TestWinograd: F(2,3) layers give the convolution (to float32 rounding),
// every kernel path gives them bit for bit, and a region cut at any column,
// odd or even, gives exactly the whole map's pixels there.
func TestWinograd(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct{ in, out, w, h int }{
		{1, 16, 17, 9}, {16, 16, 12, 7}, {24, 4, 11, 6}, {3, 8, 9, 5}, {4, 6, 4, 4},
	} {
		l := convLayer{in: tc.in, out: tc.out, k: 3, weight: randSlice(rng, tc.out*tc.in*9), bias: randSlice(rng, tc.out)}
		if !l.usesWinograd() {
			t.Fatalf("%+v: not a Winograd layer", tc)
		}
		in := randSlice(rng, tc.in*tc.w*tc.h)
		ref := referenceConv(&l, in, tc.w, tc.h)
		ow, oh := tc.w-2, tc.h-2
		var whole []Plane
		withKernels(t, func(path string) {
			got := columns(&l, in, tc.w, tc.h, 0, tc.w)
			if whole == nil {
				whole = got
				for o, p := range got {
					for i, v := range p.Pix {
						if want := ref[o*ow*oh+i]; math.Abs(float64(v)-want) > 1e-5*math.Max(1, math.Abs(want)) {
							t.Fatalf("%+v filter %d pixel %d: %g, convolution %g", tc, o, i, v, want)
						}
					}
				}
			}
			for o := range got {
				for i, v := range got[o].Pix {
					if math.Float32bits(v) != math.Float32bits(whole[o].Pix[i]) {
						t.Fatalf("%+v %s filter %d pixel %d: %g, first path %g", tc, path, o, i, v, whole[o].Pix[i])
					}
				}
			}
			for a := 1; a < tc.w-2; a++ {
				part := columns(&l, in, tc.w, tc.h, a, tc.w)
				for o := range part {
					for y := 0; y < oh; y++ {
						for x := 0; x < ow-a; x++ {
							if v, want := part[o].Pix[y*(ow-a)+x], whole[o].Pix[y*ow+x+a]; math.Float32bits(v) != math.Float32bits(want) {
								t.Fatalf("%+v %s cut at %d: filter %d pixel (%d,%d): %g, whole map %g", tc, path, a, o, x+a, y, v, want)
							}
						}
					}
				}
			}
		})
	}
}
