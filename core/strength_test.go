package core

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

func jpegAt(t *testing.T, q int, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAutoStrength(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var pngFile bytes.Buffer
	if err := imaging.Encode(&pngFile, img, "png"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		file  []byte
		q     int
		s     float32
		level string
	}{
		{"png", pngFile.Bytes(), 0, 0, "none"},
		{"q100", jpegAt(t, 100, img), 100, 0, "none"},
		{"q97", jpegAt(t, 97, img), 97, 3.0 / 70, "low"},
		{"q90", jpegAt(t, 90, img), 90, 10.0 / 70, "low"},
		{"q65", jpegAt(t, 65, img), 65, 0.5, "medium"},
		{"q30", jpegAt(t, 30, img), 30, 1, "high"},
		{"q5", jpegAt(t, 5, img), 5, 1, "high"},
	} {
		s, q := AutoStrength(tc.file)
		if q != tc.q || abs32(s-tc.s) > 1e-6 || DenoiseName(s) != tc.level {
			t.Errorf("%s: strength %g (%s) from quality %d, want %g (%s) from %d", tc.name, s, DenoiseName(s), q, tc.s, tc.level, tc.q)
		}
	}
}

func TestForStrength(t *testing.T) {
	clean, denoise := &network.Model{}, &network.Model{}
	for _, c := range []struct {
		name     string
		denoise  *network.Model
		strength float32
		want     *network.Model
	}{
		{"clean input", denoise, 0, clean},
		{"a JPEG", denoise, 0.3, denoise},
		{"no JPEG-aware network", nil, 0.3, clean},
		{"neither", nil, 0, clean},
	} {
		if got := ForStrength(clean, c.denoise, c.strength); got != c.want {
			t.Errorf("%s: got the wrong network", c.name)
		}
	}
}
