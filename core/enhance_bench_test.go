package core

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

// BenchmarkEnhance reports output megapixels per second for x2 on a
// 256x256 input (512x512 output): srcnn-915, vdsr16-8 (the shape of the
// general model before the networks at the input's resolution) and the
// ecb presets, one worker and all cores.
func BenchmarkEnhance(b *testing.B) {
	for _, preset := range []string{"srcnn-915", "vdsr16-8", "ecb-m4c16", "ecb-m4c24", "ecb-m4c32"} {
		cfg, _ := network.Preset(preset, 2, true)
		m, _ := network.NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
		img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
		rng := rand.New(rand.NewPCG(2, 2))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		for _, workers := range []int{1, 0} {
			name := preset + "/workers=1"
			if workers == 0 {
				name = preset + "/all-cores"
			}
			b.Run(name, func(b *testing.B) {
				e := NewEnhancer(m, 2)
				e.Tile = 128
				for i := 0; i < b.N; i++ {
					if _, err := e.Image(context.Background(), img, workers, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(512*512*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
			})
		}
	}
}

// BenchmarkDetailedX4 reports output megapixels per second, one worker,
// for x4 of a 256x256 input at the default tile with general-x4-detailed's
// network shape (ecb-m4c16 with a strength input), without and with its
// unsharp-mask finish (0.3, sigma 2): what the finish and the wider tiles
// it needs cost.
func BenchmarkDetailedX4(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	for _, u := range []imaging.UnsharpMask{{}, {Amount: 0.3, Sigma: 2}} {
		cfg, _ := network.Preset("ecb-m4c16", 4, true)
		cfg.Strength, cfg.Sharpen = true, u
		m, _ := network.NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
		b.Run(fmt.Sprintf("sharpen=%g,%g", u.Amount, u.Sigma), func(b *testing.B) {
			e := NewEnhancer(m, 4)
			for i := 0; i < b.N; i++ {
				if _, err := e.Image(context.Background(), img, 1, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(1024*1024*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
		})
	}
}

// BenchmarkWriteRGBA reports megapixels per second for turning Y, Cb and
// Cr planes into 8-bit RGBA, which the page does twice per tile (the
// enhanced and the bicubic image).
func BenchmarkWriteRGBA(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	const side = 256
	var planes [3]imaging.Plane
	for c := range planes {
		planes[c] = imaging.NewPlane(side, side)
		for i := range planes[c].Pix {
			planes[c].Pix[i] = float32(16+rng.IntN(220)) / 255
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < b.N; i++ {
		imaging.WriteNRGBA(dst, dst.Rect, planes, nil, false)
	}
	b.ReportMetric(side*side*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
}

// BenchmarkResizeRegion reports output megapixels per second for the
// bicubic x2 enlargement of a 256x256 tile out of a 512x512 plane, as
// every tile of the page needs it three times (Y with its halo, Cb, Cr).
func BenchmarkResizeRegion(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	src := imaging.NewPlane(512, 512)
	for i := range src.Pix {
		src.Pix[i] = rng.Float32()
	}
	r := image.Rect(256, 256, 512, 512)
	for i := 0; i < b.N; i++ {
		imaging.ResizeRegion(src, 1024, 1024, imaging.Bicubic, r)
	}
	b.ReportMetric(float64(r.Dx()*r.Dy())*float64(b.N)/b.Elapsed().Seconds()/1e6, "MP/s")
}

// BenchmarkEstimateStrength reports the time automatic restoration takes to
// read an image's pixels (EstimateImage: Y and the estimator on its
// patches), to set beside BenchmarkEnhance's upscale of the same image.
func BenchmarkEstimateStrength(b *testing.B) {
	cfg, _ := network.Preset("estimator-c8", 2, false)
	est, _ := network.NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
	for _, side := range []int{128, 256, 512, 1024} {
		img := image.NewNRGBA(image.Rect(0, 0, side, side))
		rng := rand.New(rand.NewPCG(2, 2))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		b.Run(fmt.Sprintf("%dpx", side), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				EstimateImage(est, img)
			}
		})
	}
}
