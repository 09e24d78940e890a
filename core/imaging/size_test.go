package imaging

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestFitScale(t *testing.T) {
	scales := []int{2, 3, 4}
	for _, tc := range []struct {
		inW, inH, w, h    int
		scale, outW, outH int
		err               string
	}{
		{640, 480, 1920, 0, 3, 1920, 1440, ""},
		{640, 480, 0, 960, 2, 1280, 960, ""},
		{640, 480, 1000, 700, 2, 1000, 700, ""},
		{640, 480, 1300, 0, 3, 1300, 975, ""},
		{640, 480, 320, 0, 2, 320, 240, ""}, // smaller: the smallest scale, then shrunk
		{640, 480, 2561, 0, 0, 0, 0, "more than 4 times"},
		{640, 480, 0, 0, 0, 0, 0, "give a width"},
		{640, 480, -5, 10, 0, 0, 0, "give a width"},
		{1, 1, 70000, 0, 0, 0, 0, "at most"},
	} {
		s, w, h, err := FitScale(tc.inW, tc.inH, tc.w, tc.h, scales)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want one mentioning %q", tc, err, tc.err)
			}
			continue
		}
		if err != nil || s != tc.scale || w != tc.outW || h != tc.outH {
			t.Errorf("%dx%d to %dx%d: x%d %dx%d (%v), want x%d %dx%d", tc.inW, tc.inH, tc.w, tc.h, s, w, h, err, tc.scale, tc.outW, tc.outH)
		}
	}
}

// TestResizeNRGBA: the size asked, colours of a flat image kept, alpha
// resampled too.
func TestResizeNRGBA(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 30; x++ {
			img.SetNRGBA(x, y, color.NRGBA{200, 100, 50, uint8(255 * (x / 15))})
		}
	}
	out := ResizeNRGBA(img, 17, 11)
	if out.Rect.Dx() != 17 || out.Rect.Dy() != 11 {
		t.Fatalf("size %v", out.Rect)
	}
	if c := out.NRGBAAt(16, 5); c != (color.NRGBA{200, 100, 50, 255}) {
		t.Errorf("an opaque flat pixel became %v", c)
	}
	if c := out.NRGBAAt(0, 5); c.A != 0 {
		t.Errorf("a transparent pixel became %v", c)
	}
}
