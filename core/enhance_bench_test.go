package core

import (
	"context"
	"image"
	"math/rand/v2"
	"testing"
)

// BenchmarkEnhance reports output megapixels per second for x2 with
// srcnn-915 on a 256x256 input (512x512 output), one worker.
func BenchmarkEnhance(b *testing.B) {
	for _, preset := range []string{"srcnn-915"} {
		cfg, _ := Preset(preset, true)
		m, _ := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
		img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
		rng := rand.New(rand.NewPCG(2, 2))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		for _, tile := range []int{128, 256} {
			b.Run(preset+"/tile"+itoa(tile), func(b *testing.B) {
				e := NewEnhancer(m, 2)
				e.Tile = tile
				for i := 0; i < b.N; i++ {
					if _, err := e.Image(context.Background(), img, 1, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(512*512*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
			})
		}
	}
}

func itoa(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
