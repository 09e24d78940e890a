package training

import (
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/optimizers/adam"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

// BenchmarkTrainStep times one optimizer step of srcnn-915 at x2 on a batch
// of 16 patches of 48x48.
func BenchmarkTrainStep(b *testing.B) {
	dir := b.TempDir()
	trainingtest.WriteNoiseImages(b, dir, 4, 128, 128, 1)
	for _, preset := range []string{"srcnn-915", "vdsr16-8"} {
		b.Run(preset, func(b *testing.B) {
			cfg, _ := network.Preset(preset, 2, true)
			ds, err := OpenDataset([]string{dir}, 2, 48, cfg.Channels, JPEGBand{}, DegradeBand{}, 1<<26, func(string) {})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			m, _ := network.NewModel(cfg, rng)
			t := &Trainer{opts: Options{Scale: 2, Patch: 48, Batch: 16, Shard: 4, LR: 1e-3}, data: ds, workers: 2,
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

// BenchmarkMakePatch times making one training patch (crop, flip, shrink,
// and for a JPEG run the JPEG round trip, and the bicubic anchor) for a
// network at the input's resolution, clean and JPEG-degraded, at x2 and x3.
func BenchmarkMakePatch(b *testing.B) {
	dir := b.TempDir()
	trainingtest.WriteNoiseImages(b, dir, 2, 320, 320, 1)
	for _, tc := range []struct {
		name  string
		scale int
		jpeg  JPEGBand
		deg   DegradeBand
	}{
		{"x2-clean", 2, JPEGBand{}, DegradeBand{}}, {"x2-jpeg", 2, JPEGBand{Lo: 30, Hi: 95}, DegradeBand{}},
		{"x3-clean", 3, JPEGBand{}, DegradeBand{}}, {"x3-jpeg", 3, JPEGBand{Lo: 30, Hi: 95}, DegradeBand{}},
		{"x4-jpeg", 4, JPEGBand{Lo: 30, Hi: 95}, DegradeBand{}}, {"x4-degrade", 4, JPEGBand{}, DegradeBand{On: true, Clean: 0.05}},
		{"x2-degrade", 2, JPEGBand{}, DegradeBand{On: true, Clean: 0.05}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			patch := 48 * tc.scale
			ds, err := OpenDataset([]string{dir}, tc.scale, patch, 1, tc.jpeg, tc.deg, 1<<28, func(string) {})
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
