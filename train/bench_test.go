package main

import (
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/spago/optimizers/adam"

	"github.com/srcnn-web/upscaler/core"
)

// BenchmarkTrainStep times one optimizer step of srcnn-915 at x2 on a batch
// of 16 patches of 48x48.
func BenchmarkTrainStep(b *testing.B) {
	dir := b.TempDir()
	writeNoiseImages(b, dir, 4, 128, 128, 1)
	for _, preset := range []string{"srcnn-915", "vdsr16-8"} {
		b.Run(preset, func(b *testing.B) {
			cfg, _ := core.Preset(preset, 2, true)
			ds, err := openDataset([]string{dir}, 2, 48, cfg.Channels, jpegBand{}, degradeBand{}, 1<<26, func(string) {})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			m, _ := core.NewModel(cfg, rng)
			t := &trainer{opts: fitOptions{Scale: 2, Patch: 48, Batch: 16, Shard: 4, LR: 1e-3}, data: ds, workers: 2,
				model: m, rng: rng, opt: adam.New(adam.NewDefaultConfig())}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := t.trainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "patches/s")
			b.ReportMetric(6*float64(cfg.MACsPerPixel())*16*48*48*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkUpscaleCommand times the whole command as a user runs it: a
// built train binary upscaling a 512x512 PNG to PNG at x2 with the shipped
// general model on all cores (process start, decode, enhance, encode,
// write). It reports output megapixels per second.
func BenchmarkUpscaleCommand(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "train")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	writeNoiseImages(b, dir, 1, 512, 512, 3)
	in, out := filepath.Join(dir, "imga.png"), filepath.Join(dir, "out.png")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if msg, err := exec.Command(bin, "upscale", "-quiet", "-scale", "2", in, out).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, msg)
		}
	}
	b.ReportMetric(1024*1024*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
}

// writeNoiseImages writes n smooth random PNG images of w x h.
func writeNoiseImages(tb testing.TB, dir string, n, w, h int, seed uint64) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		fx, fy := rng.Float64()*0.3, rng.Float64()*0.3
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := uint8(128 + 100*sinApprox(float64(x)*fx+float64(y)*fy) + rng.Float64()*20)
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
		f.Close()
	}
}

func sinApprox(x float64) float64 {
	// a triangle wave in [-1, 1]: smooth enough for a test image
	x = x/6.283185307179586 - float64(int(x/6.283185307179586))
	if x < 0 {
		x++
	}
	if x < 0.5 {
		return 4*x - 1
	}
	return 3 - 4*x
}

// BenchmarkMakePatch times making one training patch (crop, flip, shrink,
// and for a JPEG run the JPEG round trip, and the bicubic anchor) for a
// network at the input's resolution, clean and JPEG-degraded, at x2 and x3.
func BenchmarkMakePatch(b *testing.B) {
	dir := b.TempDir()
	writeNoiseImages(b, dir, 2, 320, 320, 1)
	for _, tc := range []struct {
		name  string
		scale int
		jpeg  jpegBand
		deg   degradeBand
	}{
		{"x2-clean", 2, jpegBand{}, degradeBand{}}, {"x2-jpeg", 2, jpegBand{Lo: 30, Hi: 95}, degradeBand{}},
		{"x3-clean", 3, jpegBand{}, degradeBand{}}, {"x3-jpeg", 3, jpegBand{Lo: 30, Hi: 95}, degradeBand{}},
		{"x4-jpeg", 4, jpegBand{Lo: 30, Hi: 95}, degradeBand{}}, {"x4-degrade", 4, jpegBand{}, degradeBand{On: true, Clean: 0.05}},
		{"x2-degrade", 2, jpegBand{}, degradeBand{On: true, Clean: 0.05}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			patch := 48 * tc.scale
			ds, err := openDataset([]string{dir}, tc.scale, patch, 1, tc.jpeg, tc.deg, 1<<28, func(string) {})
			if err != nil {
				b.Fatal(err)
			}
			ds.lowRes = true
			rng := rand.New(rand.NewPCG(1, 2))
			side := patch / tc.scale
			in, anchor, target := make([]float32, side*side), make([]float32, patch*patch), make([]float32, patch*patch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := ds.make(ds.sample(rng), in, anchor, target); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "patches/s")
		})
	}
}
