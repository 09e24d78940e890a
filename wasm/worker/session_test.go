package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/srcnn-web/upscaler/core"
)

func tinyWeights(t testing.TB, scale int) ([]byte, *core.Model) {
	t.Helper()
	cfg := core.Config{Preset: "tiny", Channels: 1, Residual: true, Layers: []core.Layer{{Size: 5, Filters: 8}, {Size: 1, Filters: 4}, {Size: 3, Filters: 1}}}
	m, err := core.NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := core.SaveWeights(&buf, m, scale, core.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func noiseImage(w, h int, alpha bool) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
		img.Pix[i+3] = 255
		if alpha {
			img.Pix[i+3] = uint8(rng.IntN(256))
		}
	}
	return img
}

// TestSessionMatchesNative: the worker's tiles, assembled, are the pixels
// the command line's path (core.Enhancer.Image) makes.
func TestSessionMatchesNative(t *testing.T) {
	for _, alpha := range []bool{false, true} {
		weights, m := tinyWeights(t, 3)
		img := noiseImage(150, 45, alpha)
		s := NewSession()
		if err := s.LoadModel("general-x3", weights); err != nil {
			t.Fatal(err)
		}
		opened, err := s.Open(7, pngOf(t, img))
		if err != nil || opened.Size != (image.Point{150, 45}) || opened.Quality != 0 || opened.Auto != 0 {
			t.Fatalf("open: %+v %v", opened, err)
		}
		info, err := s.Start(7, "general-x3", "auto")
		if err != nil {
			t.Fatal(err)
		}
		tiles := ((450 + PageTile - 1) / PageTile) * ((135 + PageTile - 1) / PageTile)
		if info.Width != 450 || info.Height != 135 || len(info.Tiles) != tiles || tiles < 2 {
			t.Fatalf("start: %dx%d, %d tiles", info.Width, info.Height, len(info.Tiles))
		}
		got, err := s.enhanceAll(context.Background(), 7, info)
		if err != nil {
			t.Fatal(err)
		}
		want, err := core.NewEnhancer(m, 3).Image(context.Background(), img, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("alpha %v: the worker's result differs from the native one", alpha)
		}
		// The PNG it encodes decodes to the same pixels.
		data, err := Encode(info.Width, info.Height, got.Pix, "png", 0)
		if err != nil {
			t.Fatal(err)
		}
		back, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < info.Height; y += 17 {
			for x := 0; x < info.Width; x += 13 {
				if color.NRGBAModel.Convert(back.At(x, y)) != got.NRGBAAt(x, y) {
					t.Fatalf("PNG pixel (%d,%d) changed", x, y)
				}
			}
		}
		// The bicubic side is the plain enlargement.
		_, bic, err := s.Tile(7, info.Tiles[0])
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := core.NewEnhancer(nil, 3).Image(context.Background(), img, 1, nil)
		r := info.Tiles[0]
		if !bytes.Equal(bic[:4*r.Dx()], ref.Pix[:4*r.Dx()]) {
			t.Error("the bicubic tile is not the bicubic enlargement")
		}
	}
}

func TestSessionErrors(t *testing.T) {
	weights, _ := tinyWeights(t, 4)
	s := NewSession()
	if err := s.LoadModel("general-x4", weights); err != nil {
		t.Fatal(err)
	}
	big := image.NewGray(image.Rect(0, 0, 2100, 2000)) // 4.2 MP in, 67 MP out at x4
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"not an image", func() error { _, err := s.Open(1, []byte("%PDF-1.4")); return err }, "not an image"},
		{"truncated", func() error { _, err := s.Open(1, pngOf(t, noiseImage(20, 20, false))[:100]); return err }, "corrupt or truncated"},
		{"bad weights", func() error { return s.LoadModel("portrait-x2", []byte("<html>404</html>")) }, "portrait-x2 weights failed to load"},
		{"no image", func() error { _, err := s.Start(99, "general-x4", "auto"); return err }, "no image 99"},
		{"no model", func() error {
			s.Open(2, pngOf(t, noiseImage(8, 8, false)))
			_, err := s.Start(2, "portrait-x2", "auto")
			return err
		}, "not loaded"},
		{"result too big", func() error {
			if _, err := s.Open(3, pngOf(t, big)); err != nil {
				return err
			}
			_, err := s.Start(3, "general-x4", "auto")
			return err
		}, "over the page's limit"},
		{"tile outside", func() error {
			s.Start(2, "general-x4", "auto")
			_, _, err := s.Tile(2, image.Rect(0, 0, 33, 8))
			return err
		}, "outside"},
		{"closed", func() error {
			s.Close(2)
			_, _, err := s.Tile(2, image.Rect(0, 0, 8, 8))
			return err
		}, "not started"},
		{"bad denoise", func() error {
			s.Open(4, pngOf(t, noiseImage(8, 8, false)))
			_, err := s.Start(4, "general-x4", "loud")
			return err
		}, "denoise \"loud\""},
		{"encode size", func() error { _, err := Encode(2, 2, make([]byte, 15), "png", 0); return err }, "15 bytes"},
		{"encode quality", func() error { _, err := Encode(2, 2, make([]byte, 16), "jpeg", 0); return err }, "quality 0"},
		{"encode format", func() error { _, err := Encode(2, 2, make([]byte, 16), "gif", 90); return err }, "unknown output format"},
	}
	for _, tc := range cases {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestBenchKernelsReportsEveryShape(t *testing.T) {
	shapes := []KernelShape{{"a", 4, 9, 64, 0}, {"b", 8, 3, 100, 0}, {"3x3x2to4", 4, 18, 100, 3}, {"1x1x5to2", 2, 5, 100, 1}}
	res := BenchKernels(shapes, time.Millisecond)
	for _, s := range shapes {
		kernels := []string{"active", "go"}
		if s.Side > 0 && core.ActiveConv() != nil {
			kernels = append(kernels, "conv")
		}
		for _, k := range kernels {
			if v := res[s.Name+"/"+k]; !(v > 0) {
				t.Errorf("%s/%s: %g GFLOP/s", s.Name, k, v)
			}
		}
	}
}

// TestSessionDenoise: the worker reads a JPEG's quality when it opens it,
// and a model with a strength input enhances with the strength the
// setting names (auto: from the file), as the native path does with it.
func TestSessionDenoise(t *testing.T) {
	cfg, _ := core.Preset("ecb-m4c16", 2, true)
	cfg.Strength = true
	m, err := core.NewECBModel(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	var wbuf bytes.Buffer
	if err := core.SaveWeights(&wbuf, m, 2, core.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	s := NewSession()
	if err := s.LoadModel("general-x2", wbuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := jpeg.Encode(&file, noiseImage(40, 30, false), &jpeg.Options{Quality: 50}); err != nil {
		t.Fatal(err)
	}
	opened, err := s.Open(1, file.Bytes())
	if err != nil || opened.Quality != 50 || opened.Auto != core.StrengthForQuality(50) {
		t.Fatalf("open: %+v, %v", opened, err)
	}
	img, _, _ := core.Decode(bytes.NewReader(file.Bytes()), 0)
	for _, tc := range []struct {
		setting string
		want    float32
	}{{"auto", core.StrengthForQuality(50)}, {"none", 0}, {"high", 0.8}, {"0.3", 0.3}} {
		info, err := s.Start(1, "general-x2", tc.setting)
		if err != nil || info.Strength != tc.want {
			t.Fatalf("%s: strength %g (%v), want %g", tc.setting, info.Strength, err, tc.want)
		}
		got, err := s.enhanceAll(context.Background(), 1, info)
		if err != nil {
			t.Fatal(err)
		}
		e := core.NewEnhancer(m.Plain(), 2)
		e.Strength = tc.want
		want, _ := e.Image(context.Background(), img, 1, nil)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%s: the worker's result differs from the native one", tc.setting)
		}
	}
}

func TestSessionPreview(t *testing.T) {
	s := NewSession()
	for _, tc := range []struct{ w, h, pw, ph int }{{300, 200, 300, 200}, {1500, 1000, 1024, 683}, {700, 2100, 341, 1024}} {
		img := noiseImage(tc.w, tc.h, false)
		if _, err := s.Open(1, pngOf(t, img)); err != nil {
			t.Fatal(err)
		}
		p, err := s.Preview(1)
		if err != nil || p.Rect.Dx() != tc.pw || p.Rect.Dy() != tc.ph {
			t.Fatalf("%dx%d: preview %v (%v), want %dx%d", tc.w, tc.h, p.Rect, err, tc.pw, tc.ph)
		}
		if tc.w == tc.pw && !bytes.Equal(p.Pix, img.Pix) {
			t.Errorf("%dx%d: a preview at full size differs from the image", tc.w, tc.h)
		}
	}
	if _, err := s.Preview(9); err == nil {
		t.Error("a preview of no image")
	}
}
