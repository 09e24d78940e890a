// Package trainingtest writes small synthetic image folders for the tests
// of training and of the train command, as httptest serves for net/http.
package trainingtest

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// WriteNoiseImages writes n PNG images of w x h into dir (imga.png,
// imgb.png, ...): a colour wave with random grain, from seed.
func WriteNoiseImages(tb testing.TB, dir string, n, w, h int, seed uint64) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		fx, fy := rng.Float64()*0.3, rng.Float64()*0.3
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := uint8(128 + 100*triangle(float64(x)*fx+float64(y)*fy) + rng.Float64()*20)
				img.Set(x, y, color.RGBA{v, uint8(255 - int(v)), uint8(x * 255 / w), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, "img"+string(rune('a'+i))+".png"))
		if err != nil {
			tb.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
}

// triangle is a triangle wave in [-1, 1] of period 2π: smooth enough for a
// test image.
func triangle(x float64) float64 {
	x = x/(2*math.Pi) - math.Floor(x/(2*math.Pi))
	if x < 0.5 {
		return 4*x - 1
	}
	return 3 - 4*x
}
