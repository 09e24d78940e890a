package imaging

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestLumaYIn: the Y of a rectangle is that rectangle of the whole
// image's Y, for the decoders' image types.
func TestLumaYIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 19, 13))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.IntN(256))
	}
	ycc := image.NewYCbCr(image.Rect(0, 0, 19, 13), image.YCbCrSubsampleRatio420)
	for _, p := range [][]uint8{ycc.Y, ycc.Cb, ycc.Cr} {
		for i := range p {
			p[i] = uint8(rng.IntN(256))
		}
	}
	for _, img := range []image.Image{nrgba, ycc} {
		whole := LumaY(img)
		for _, r := range []image.Rectangle{image.Rect(0, 0, 19, 13), image.Rect(3, 2, 11, 9), image.Rect(18, 12, 19, 13)} {
			got := LumaYIn(img, r)
			if got.W != r.Dx() || got.H != r.Dy() {
				t.Fatalf("%T %v: %dx%d", img, r, got.W, got.H)
			}
			for y := range got.H {
				for x := range got.W {
					if g, w := got.Pix[y*got.W+x], whole.Pix[(r.Min.Y+y)*whole.W+r.Min.X+x]; g != w {
						t.Fatalf("%T %v (%d,%d): %v, want %v", img, r, x, y, g, w)
					}
				}
			}
		}
	}
}

func TestYCbCrRoundTrip(t *testing.T) {
	for r := 0; r < 256; r += 5 {
		for g := 0; g < 256; g += 3 {
			for b := 0; b < 256; b += 7 {
				y, cb, cr := RGBToYCbCr(uint8(r), uint8(g), uint8(b))
				r2, g2, b2 := YCbCrToRGB(y, cb, cr)
				if int(r2) != r || int(g2) != g || int(b2) != b {
					t.Fatalf("(%d,%d,%d) -> (%g,%g,%g) -> (%d,%d,%d)", r, g, b, y, cb, cr, r2, g2, b2)
				}
			}
		}
	}
}

func TestMATLABLuma(t *testing.T) {
	// rgb2ycbcr: white is Y 235, black 16, pure red 81 (16 + 65.481).
	cases := []struct {
		c    color.NRGBA
		want float32
	}{{color.NRGBA{255, 255, 255, 255}, 235}, {color.NRGBA{0, 0, 0, 255}, 16}, {color.NRGBA{255, 0, 0, 255}, 81}}
	for _, tc := range cases {
		img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
		img.SetNRGBA(0, 0, tc.c)
		if got := LumaY(img).Pix[0] * 255; got < tc.want-1e-3 || got > tc.want+1e-3 {
			t.Errorf("%v: Y %g, want %g", tc.c, got, tc.want)
		}
	}
}

func TestSplitAndWriteKeepAlpha(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{10, 200, 30, 0})
	img.SetNRGBA(1, 0, color.NRGBA{90, 80, 70, 128})
	p := Split(img, false)
	if p.Alpha == nil {
		t.Fatal("alpha plane missing")
	}
	out := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	WriteNRGBA(out, out.Rect, p.C, p.Alpha, false)
	for x := 0; x < 2; x++ {
		if out.NRGBAAt(x, 0) != img.NRGBAAt(x, 0) {
			t.Errorf("pixel %d: %v, want %v", x, out.NRGBAAt(x, 0), img.NRGBAAt(x, 0))
		}
	}
	opaque := Split(testImage(3, 3), false)
	if opaque.Alpha != nil {
		t.Error("an opaque image got an alpha plane")
	}
}

// TestRowNRGBAMatchesModel: the fast paths read every image type as
// color.NRGBAModel converts img.At, translucent pixels and sub-images
// included.
func TestRowNRGBAMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	r := image.Rect(3, 2, 20, 11)
	fill := func(set func(x, y int, c color.NRGBA)) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				a := uint8(255)
				if rng.IntN(3) == 0 {
					a = uint8(rng.IntN(256))
				}
				set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
			}
		}
	}
	nrgba, rgba, gray, n64 := image.NewNRGBA(r), image.NewRGBA(r), image.NewGray(r), image.NewNRGBA64(r)
	fill(func(x, y int, c color.NRGBA) { nrgba.Set(x, y, c) })
	fill(func(x, y int, c color.NRGBA) { rgba.Set(x, y, c) })
	fill(func(x, y int, c color.NRGBA) { gray.Set(x, y, c) })
	fill(func(x, y int, c color.NRGBA) { n64.Set(x, y, c) })
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"NRGBA", nrgba}, {"RGBA", rgba}, {"YCbCr", ycc}, {"Gray", gray}, {"NRGBA64", n64},
		{"NRGBA sub-image", nrgba.SubImage(image.Rect(5, 4, 12, 9))},
		{"YCbCr sub-image", ycc.SubImage(image.Rect(4, 3, 13, 10))},
	} {
		b := tc.img.Bounds()
		row := make([]color.NRGBA, b.Dx())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			rowNRGBA(tc.img, b.Min.X, y, row)
			for x, got := range row {
				if want := color.NRGBAModel.Convert(tc.img.At(b.Min.X+x, y)).(color.NRGBA); got != want {
					t.Fatalf("%s (%d,%d): %v, want %v", tc.name, b.Min.X+x, y, got, want)
				}
			}
		}
	}
}
