package core

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestGridPlanes(t *testing.T) {
	const a, b = -1, -1.0 / 3 // distance 0 and 1 to the block's edge
	const c, d = 1.0 / 3, 1   // 2 and 3
	for _, tc := range []struct {
		origin image.Point
		across []float32 // the first row, left to right
		down   []float32 // the first column, top to bottom
	}{
		{image.Pt(0, 0), []float32{a, b, c, d, d, c, b, a, a, b}, []float32{a, b, c}},
		{image.Pt(6, 3), []float32{b, a, a, b, c, d, d, c, b, a}, []float32{d, d, c}},
		{image.Pt(-3, -9), []float32{c, b, a, a, b, c, d, d, c, b}, []float32{a, a, b}},
	} {
		w, h := len(tc.across), len(tc.down)
		p := make([]float32, 2*w*h)
		GridPlanes(p, w, h, tc.origin)
		for y := range h {
			for x := range w {
				if got := p[y*w+x]; !near(got, tc.across[x]) {
					t.Errorf("origin %v: across at (%d, %d) = %g, want %g", tc.origin, x, y, got, tc.across[x])
				}
				if got := p[w*h+y*w+x]; !near(got, tc.down[y]) {
					t.Errorf("origin %v: down at (%d, %d) = %g, want %g", tc.origin, x, y, got, tc.down[y])
				}
			}
		}
	}
}

func near(a, b float32) bool { return a-b < 1e-6 && b-a < 1e-6 }

// TestJPEGGridFollowsOrientation: for every EXIF orientation, the planes
// of the upright image at JPEGGrid's origin equal the stored pixels'
// distances to their blocks' edges.
func TestJPEGGridFollowsOrientation(t *testing.T) {
	const w, h = 13, 22 // not multiples of 8, nor alike modulo 8: a reversed axis moves the grid
	var file bytes.Buffer
	if err := jpeg.Encode(&file, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	// Each stored pixel holds its own coordinates, to follow it through Orient.
	coords := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			copy(coords.Pix[coords.PixOffset(x, y):], []uint8{uint8(x), uint8(y), 0, 255})
		}
	}
	for o := 1; o <= 8; o++ {
		origin := JPEGGrid(withOrientation(file.Bytes(), uint16(o), false))
		up := Orient(coords, o).(*image.NRGBA)
		if o == 1 {
			up = coords
		}
		uw, uh := up.Rect.Dx(), up.Rect.Dy()
		p := make([]float32, 2*uw*uh)
		GridPlanes(p, uw, uh, origin)
		for y := range uh {
			for x := range uw {
				sx, sy := int(up.Pix[up.PixOffset(x, y)]), int(up.Pix[up.PixOffset(x, y)+1])
				across, down := gridValue(sx), gridValue(sy)
				if o >= 5 { // transposed: across the upright image is down the stored one
					across, down = down, across
				}
				if p[y*uw+x] != across || p[uw*uh+y*uw+x] != down {
					t.Fatalf("orientation %d, origin %v: planes at (%d, %d) are %g, %g; the stored pixel (%d, %d) has %g, %g",
						o, origin, x, y, p[y*uw+x], p[uw*uh+y*uw+x], sx, sy, across, down)
				}
			}
		}
	}
	// Files that are not JPEGs, or whose header is cut short, keep the origin.
	var pngFile bytes.Buffer
	if err := png.Encode(&pngFile, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string][]byte{"png": pngFile.Bytes(), "truncated": withOrientation(file.Bytes(), 3, false)[:40], "empty": nil} {
		if got := JPEGGrid(f); got != (image.Point{}) {
			t.Errorf("%s: origin %v, want (0, 0)", name, got)
		}
	}
}
