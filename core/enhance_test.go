package core

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func smallModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := NewModel(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Give the last layer full-size weights so that the network's output
	// matters (NewModel starts it near zero).
	for i := range m.Weights[len(m.Weights)-1].Value().Data().F32() {
		m.Weights[len(m.Weights)-1].Value().Data().F32()[i] *= 10
	}
	return m
}

func randomPlanes(rng *rand.Rand, n, w, h int) []Plane {
	ps := make([]Plane, n)
	for c := range ps {
		ps[c] = NewPlane(w, h)
		for i := range ps[c].Pix {
			ps[c].Pix[i] = float32(rng.Float64())
		}
	}
	return ps
}

var tinyY = Config{Preset: "tiny-y", Channels: 1, Residual: true, Layers: []Layer{{5, 8}, {1, 4}, {3, 1}}}
var tinyRGB = Config{Preset: "tiny-rgb", Channels: 3, Layers: []Layer{{3, 8}, {3, 3}}}

// TestTiledEqualsWhole: cutting the output into tiles must not change a
// single value, whatever the tile size, image shape, or worker count.
func TestTiledEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, cfg := range []Config{tinyY, tinyRGB} {
		m := smallModel(t, cfg, 3)
		for _, size := range []image.Point{{1, 1}, {1, 9}, {9, 1}, {13, 7}, {31, 17}} {
			for _, scale := range []int{2, 3} {
				lr := randomPlanes(rng, cfg.Channels, size.X, size.Y)
				whole := NewEnhancer(m, scale)
				whole.Tile = 1 << 20
				want, err := whole.Planes(context.Background(), lr, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				// The whole image in one piece is the plain network on bicubic.
				hrW, hrH := size.X*scale, size.Y*scale
				x := make([]float32, 0, cfg.Channels*hrW*hrH)
				for _, p := range lr {
					x = append(x, Resize(p, hrW, hrH, Bicubic).Pix...)
				}
				plain := m.Infer(x, hrH, hrW)
				for c := range want {
					for i, v := range want[c].Pix {
						if plain[c*hrW*hrH+i] != v {
							t.Fatalf("%s %v x%d: one-tile output differs from Infer", cfg.Preset, size, scale)
						}
					}
				}
				for _, tile := range []int{1, 5, 16} {
					for _, workers := range []int{1, 3} {
						name := fmt.Sprintf("%s/%dx%d/x%d/tile%d/w%d", cfg.Preset, size.X, size.Y, scale, tile, workers)
						e := NewEnhancer(m, scale)
						e.Tile = tile
						got, err := e.Planes(context.Background(), lr, workers, nil)
						if err != nil {
							t.Fatal(err)
						}
						for c := range want {
							for i, v := range want[c].Pix {
								if got[c].Pix[i] != v {
									t.Fatalf("%s: channel %d pixel %d: tiled %g, whole %g", name, c, i, got[c].Pix[i], v)
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestImageTiledEqualsWholeWithAlpha(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	img := image.NewNRGBA(image.Rect(0, 0, 23, 11))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	m := smallModel(t, tinyY, 4)
	whole := NewEnhancer(m, 2)
	whole.Tile = 1000
	want, err := whole.Image(context.Background(), img, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEnhancer(m, 2)
	e.Tile = 7
	var calls, lastTotal int
	got, err := e.Image(context.Background(), img, 2, func(done, total int) { calls++; lastTotal = total })
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Pix) != string(want.Pix) {
		t.Fatal("tiled image differs from whole image")
	}
	if calls != len(e.Tiles(46, 22)) || lastTotal != calls {
		t.Errorf("progress called %d times with total %d, want %d", calls, lastTotal, len(e.Tiles(46, 22)))
	}
	// Alpha is kept: a fully transparent input pixel block stays transparent.
	for i := 3; i < len(got.Pix); i += 4 {
		if got.Pix[i] == 255 {
			continue
		}
		return // some alpha below 255 survived, as the input had
	}
	t.Error("alpha was lost: every output pixel is opaque")
}

func TestImageCancel(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	m := smallModel(t, tinyY, 5)
	e := NewEnhancer(m, 2)
	e.Tile = 16
	ctx, cancel := context.WithCancel(context.Background())
	done := 0
	_, err := e.Image(ctx, img, 1, func(d, total int) {
		done = d
		if d == 2 {
			cancel()
		}
	})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if done >= len(e.Tiles(128, 128)) {
		t.Errorf("all %d tiles ran despite the cancel", done)
	}
}

func TestOpaqueImageStaysOpaqueAndGrey(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 9, 9))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 120, 120, 120, 255
	}
	got, err := NewEnhancer(nil, 3).Image(context.Background(), img, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds().Dx() != 27 || got.Bounds().Dy() != 27 {
		t.Fatalf("size %v, want 27x27", got.Bounds())
	}
	for y := 0; y < 27; y++ {
		for x := 0; x < 27; x++ {
			if c := got.NRGBAAt(x, y); c != (color.NRGBA{120, 120, 120, 255}) {
				t.Fatalf("pixel (%d,%d) = %v, want flat grey", x, y, c)
			}
		}
	}
}
