package core

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

func smallModel(t testing.TB, cfg network.Config, seed uint64) *network.Model {
	t.Helper()
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(seed, 1)))
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

func randomPlanes(rng *rand.Rand, n, w, h int) []imaging.Plane {
	ps := make([]imaging.Plane, n)
	for c := range ps {
		ps[c] = imaging.NewPlane(w, h)
		for i := range ps[c].Pix {
			ps[c].Pix[i] = float32(rng.Float64())
		}
	}
	return ps
}

var tinyY = network.Config{Preset: "tiny-y", Channels: 1, Residual: true, Layers: []network.Layer{{Size: 5, Filters: 8}, {Size: 1, Filters: 4}, {Size: 3, Filters: 1}}}
var tinyRGB = network.Config{Preset: "tiny-rgb", Channels: 3, Layers: []network.Layer{{Size: 3, Filters: 8}, {Size: 3, Filters: 3}}}

// tinyLR is a network at the input's resolution for a scale.
func tinyLR(scale int) network.Config {
	return network.Config{Preset: fmt.Sprintf("tiny-lr-x%d", scale), Channels: 1, Residual: true, Shuffle: scale,
		Layers: []network.Layer{{Size: 3, Filters: 8}, {Size: 1, Filters: 4}, {Size: 3, Filters: scale * scale}}}
}

// tinyStrength is tinyLR(2) with a strength input.
var tinyStrength = func() network.Config { c := tinyLR(2); c.Preset, c.Strength = "tiny-strength", true; return c }()

// tinyPReLURepeat is tinyLR(3) with PReLU and the repeated-input anchor.
var tinyPReLURepeat = func() network.Config {
	c := tinyLR(3)
	c.Preset, c.Activation, c.Anchor = "tiny-prelu-repeat", "prelu", "repeat"
	return c
}()

// tinySharpen is tinyLR(4) sharpening its output (as the x4 Detailed
// networks finish), its mask reaching 4 output pixels.
var tinySharpen = func() network.Config {
	c := tinyLR(4)
	c.Preset, c.Sharpen = "tiny-sharpen", imaging.UnsharpMask{Amount: 0.5, Sigma: 1.3}
	return c
}()

// referenceOutput is what a whole image must give: for a network after
// bicubic, the network on the bicubic enlargement; for one at the input's
// resolution, the network on the input, depth-to-space written out pixel
// by pixel, plus the bicubic enlargement; sharpened over the whole image
// if the network sharpens.
func referenceOutput(m *network.Model, lr []imaging.Plane, scale int, strength float32) [][]float32 {
	out := networkOutput(m, lr, scale, strength)
	for c, o := range out {
		hrW, hrH := lr[0].W*scale, lr[0].H*scale
		out[c] = m.Config.Sharpen.Apply(imaging.Plane{W: hrW, H: hrH, Pix: o}, image.Rect(0, 0, hrW, hrH)).Pix
	}
	return out
}

// networkOutput is referenceOutput before sharpening.
func networkOutput(m *network.Model, lr []imaging.Plane, scale int, strength float32) [][]float32 {
	cfg := m.Config
	w, h := lr[0].W, lr[0].H
	hrW, hrH := w*scale, h*scale
	var x, up []float32
	for _, p := range lr {
		x = append(x, p.Pix...)
		up = append(up, imaging.Resize(p, hrW, hrH, imaging.Bicubic).Pix...)
	}
	if cfg.Strength {
		for range w * h {
			x = append(x, strength)
		}
	}
	out := make([][]float32, len(lr))
	if !cfg.LowRes() {
		plain := m.Infer(up, hrH, hrW)
		for c := range out {
			out[c] = plain[c*hrW*hrH:][:hrW*hrH]
		}
		return out
	}
	net := m.Infer(x, h, w)
	s := cfg.Shuffle
	for c := range out {
		out[c] = make([]float32, hrW*hrH)
		for y := 0; y < hrH; y++ {
			for x := 0; x < hrW; x++ {
				v := net[(c*s*s+(y%s)*s+x%s)*w*h+(y/s)*w+x/s]
				anchor := up[c*hrW*hrH+y*hrW+x]
				if cfg.RepeatAnchor() {
					anchor = lr[c].Pix[(y/s)*w+x/s]
				}
				out[c][y*hrW+x] = v + anchor
			}
		}
	}
	return out
}

// TestTiledEqualsWhole: cutting the output into tiles must not change a
// single value, whatever the tile size, image shape, or worker count.
func TestTiledEqualsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		cfg    network.Config
		scales []int
	}{{tinyY, []int{2, 3}}, {tinyRGB, []int{2, 3}}, {tinyLR(2), []int{2}}, {tinyLR(3), []int{3}}, {tinyLR(4), []int{4}}, {tinyStrength, []int{2}}, {tinyPReLURepeat, []int{3}}, {tinySharpen, []int{4}}} {
		cfg := tc.cfg
		m := smallModel(t, cfg, 3)
		for i, a := range m.Slopes { // slopes of both signs, not all alike
			for j := range a.Value().Data().F32() {
				a.Value().Data().F32()[j] = float32((i+j)%5-2) * 0.3
			}
		}
		for _, size := range []image.Point{{1, 1}, {1, 9}, {9, 1}, {13, 7}, {31, 17}} {
			for _, scale := range tc.scales {
				lr := randomPlanes(rng, cfg.Channels, size.X, size.Y)
				whole := NewEnhancer(m, scale)
				whole.Tile = 1 << 20
				whole.Strength = 0.7
				want, err := whole.Planes(context.Background(), lr, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				ref := referenceOutput(m, lr, scale, 0.7)
				for c := range want {
					for i, v := range want[c].Pix {
						if ref[c][i] != v {
							t.Fatalf("%s %v x%d: one-tile output differs from the reference at channel %d pixel %d: %g, want %g",
								cfg.Preset, size, scale, c, i, v, ref[c][i])
						}
					}
				}
				for _, tile := range []int{1, 5, 7, 16} {
					for _, workers := range []int{1, 3} {
						name := fmt.Sprintf("%s/%dx%d/x%d/tile%d/w%d", cfg.Preset, size.X, size.Y, scale, tile, workers)
						e := NewEnhancer(m, scale)
						e.Tile = tile
						e.Strength = 0.7
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

// TestStrengthInputStartsNeutral: a network given a strength input and
// copied from a clean one (the strength's weights at zero) gives the clean
// network's output exactly, at any strength; changing the strength's
// weights then changes it.
func TestStrengthInputStartsNeutral(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	cfg, _ := network.Preset("ecb-m4c16", 2, true)
	clean, err := network.NewECBModel(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Strength = true
	m, err := network.NewECBModel(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Branches {
		if !m.Branches[i].CopyFrom(clean.Branches[i]) {
			t.Fatalf("layer %d not copied", i)
		}
	}
	lr := randomPlanes(rng, 1, 11, 9)
	want, _ := NewEnhancer(clean, 2).Planes(context.Background(), lr, 1, nil)
	for _, s := range []float32{0, 0.5, 1} {
		e := NewEnhancer(m, 2)
		e.Strength = s
		got, _ := e.Planes(context.Background(), lr, 1, nil)
		for i, v := range want[0].Pix {
			if got[0].Pix[i] != v {
				t.Fatalf("strength %g: pixel %d %g, clean network %g", s, i, got[0].Pix[i], v)
			}
		}
	}
	w3 := m.Branches[0].W3.Value().Data().F32()
	for o := 0; o < m.Branches[0].Out; o++ {
		w3[o*2*9+9+4] = 0.5 // the strength's centre tap
	}
	e := NewEnhancer(m, 2)
	e.Strength = 1
	got, _ := e.Planes(context.Background(), lr, 1, nil)
	same := true
	for i, v := range want[0].Pix {
		same = same && got[0].Pix[i] == v
	}
	if same {
		t.Error("the strength input has no effect")
	}
}

// TestRenderTileFrom: a tile made from the network's result computed
// elsewhere (here: the same inference, handed over as tight planes, as a
// GPU gives them) equals RenderTile's, bit for bit, inside and on the
// image's edges.
func TestRenderTileFrom(t *testing.T) {
	for _, cfg := range []network.Config{tinyLR(2), tinyStrength, tinyPReLURepeat, tinySharpen} {
		m := smallModel(t, cfg, 3)
		scale := cfg.Shuffle
		img := image.NewNRGBA(image.Rect(0, 0, 37, 29))
		rng := rand.New(rand.NewPCG(4, 5))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		e := NewEnhancer(m, scale)
		e.Strength = 0.4
		p := e.Prepare(img)
		w, h := e.OutputSize(37, 29)
		for _, r := range []image.Rectangle{image.Rect(0, 0, w, h), image.Rect(0, 0, 16, 16), image.Rect(20, 10, 41, 33), image.Rect(w-7, h-9, w, h)} {
			want, got := image.NewNRGBA(image.Rect(0, 0, w, h)), image.NewNRGBA(image.Rect(0, 0, w, h))
			e.RenderTile(p, r, want)
			in := e.TileInput(p, r)
			res := network.NewInferer(m).Run(in.X, in.H, in.W, in.Edges)
			var tight []float32
			for _, pl := range res.Crop(res.Rect) {
				tight = append(tight, pl.Pix...)
			}
			e.RenderTileFrom(p, r, got, in, network.NewMaps(tight, cfg.Layers[len(cfg.Layers)-1].Filters, res.Rect))
			if !bytes.Equal(want.Pix, got.Pix) {
				t.Errorf("%s tile %v: RenderTileFrom differs from RenderTile", cfg.Preset, r)
			}
		}
	}
}
