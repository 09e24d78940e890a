package main

import (
	"archive/zip"
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

func tinyWeights(t testing.TB, scale int) ([]byte, *network.Model) {
	t.Helper()
	cfg := network.Config{Preset: "tiny", Channels: 1, Residual: true, Layers: []network.Layer{{Size: 5, Filters: 8}, {Size: 1, Filters: 4}, {Size: 3, Filters: 1}}}
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := network.SaveWeights(&buf, m, scale, network.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

// sessionWith is a new session with m loaded as name (saved at x2 and
// read back, as the page hands weights over).
func sessionWith(t testing.TB, name string, m *network.Model) *Session {
	t.Helper()
	var buf bytes.Buffer
	if err := network.SaveWeights(&buf, m, 2, network.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	s := NewSession()
	if err := s.LoadModel(name, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return s
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
		// Saved as the page saves it, a row of tiles at a time: the
		// command line's PNG, byte for byte, then its JPEG and exact size.
		sv := NewSaver()
		if err := sv.Start(7, info.Width, info.Height, info.Opaque); err != nil {
			t.Fatal(err)
		}
		for y := 0; y < info.Height; y += PageTile {
			if err := sv.Rows(7, got.Pix[y*got.Stride:min(info.Height, y+PageTile)*got.Stride]); err != nil {
				t.Fatal(err)
			}
		}
		file, err := sv.Finish(7, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeCLI(t, got, "png", 0); !bytes.Equal(file, want) {
			t.Fatalf("alpha %v: the saved PNG differs from the command line's", alpha)
		}
		if jpg, err := Convert(file, "jpeg", 80); err != nil || !bytes.Equal(jpg, encodeCLI(t, got, "jpeg", 80)) {
			t.Fatalf("alpha %v: the JPEG differs from the command line's (%v)", alpha, err)
		}
		if err := sv.Start(8, info.Width, info.Height, info.Opaque); err != nil {
			t.Fatal(err)
		}
		sv.Rows(8, got.Pix)
		if small, err := sv.Finish(8, 200, 60); err != nil || !bytes.Equal(small, encodeCLI(t, imaging.ResizeNRGBA(got, 200, 60), "png", 0)) {
			t.Fatalf("alpha %v: the exact size differs from the command line's (%v)", alpha, err)
		}
		// The compare view's source is the image as decoded.
		src, err := s.Source(7)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < 45; y += 11 {
			for x := 0; x < 150; x += 7 {
				if src.NRGBAAt(x, y) != img.NRGBAAt(x, y) {
					t.Fatalf("source pixel (%d, %d) %v, want %v", x, y, src.NRGBAAt(x, y), img.NRGBAAt(x, y))
				}
			}
		}
	}
}

// encodeCLI is the file train upscale writes for an image.
func encodeCLI(t *testing.T, img *image.NRGBA, format string, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := imaging.EncodeQuality(&buf, img, format, quality); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSessionErrors(t *testing.T) {
	weights, _ := tinyWeights(t, 4)
	s, sv := NewSession(), NewSaver()
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
			_, err := s.Tile(2, image.Rect(0, 0, 33, 8))
			return err
		}, "outside"},
		{"closed", func() error {
			s.Close(2)
			_, err := s.Tile(2, image.Rect(0, 0, 8, 8))
			return err
		}, "not started"},
		{"bad denoise", func() error {
			s.Open(4, pngOf(t, noiseImage(8, 8, false)))
			_, err := s.Start(4, "general-x4", "loud")
			return err
		}, "denoise \"loud\""},
		{"save too big", func() error { return sv.Start(1, 10000, 10000, true) }, "over the page's limit"},
		{"save empty", func() error { return sv.Start(1, 0, 5, true) }, "cannot encode a 0x5"},
		{"rows of nothing started", func() error { return sv.Rows(5, make([]byte, 16)) }, "no result 5"},
		{"part of a row", func() error { sv.Start(6, 2, 2, true); return sv.Rows(6, make([]byte, 15)) }, "not whole rows"},
		{"finished early", func() error { _, err := sv.Finish(6, 0, 0); return err }, "0 of 2 rows"},
		{"cancelled", func() error { sv.Cancel(6); _, err := sv.Finish(6, 0, 0); return err }, "no result 6"},
		{"convert quality", func() error { _, err := Convert(pngOf(t, noiseImage(2, 2, false)), "jpeg", 0); return err }, "quality 0"},
		{"convert format", func() error { _, err := Convert(pngOf(t, noiseImage(2, 2, false)), "gif", 90); return err }, "unknown format"},
		{"convert a non-image", func() error { _, err := Convert([]byte("nope"), "jpeg", 90); return err }, "not an image"},
		{"zip of nothing", func() error { _, err := sv.ZipEnd(3); return err }, "no file was added"},
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
		paths := []string{"active", "go"}
		if s.Side > 0 && kernels.ActiveConv() != nil {
			paths = append(paths, "conv")
		}
		for _, k := range paths {
			if v := res[s.Name+"/"+k]; !(v > 0) {
				t.Errorf("%s/%s: %g GFLOP/s", s.Name, k, v)
			}
		}
	}
}

// TestSessionDenoise: the worker reads a JPEG's quality when it opens it,
// and a model with a strength input enhances with the strength the
// setting names (auto: from the file and, with the estimator, the pixels),
// with the network core.Networks picks, as the native path does.
func TestSessionDenoise(t *testing.T) {
	cfg, _ := network.Preset("ecb-m4c16", 2, true)
	cfg.Strength = true
	m, err := network.NewECBModel(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	s := sessionWith(t, "general-x2", m)
	// The same network, for loading as general-x2-denoise below.
	var wbuf bytes.Buffer
	if err := network.SaveWeights(&wbuf, m, 2, network.TrainingInfo{}); err != nil {
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
	img, _, _ := imaging.Decode(bytes.NewReader(file.Bytes()), 0)
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
	// A clean network with the JPEG-aware one beside it as
	// general-x2-denoise: the clean one at none, the other above 0.
	clean, _ := tinyWeights(t, 2)
	if err := s.LoadModel("general-x2-denoise", wbuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadModel("general-x2", clean); err != nil {
		t.Fatal(err)
	}
	cleanModel, _, _ := network.LoadWeights(bytes.NewReader(clean))
	for _, tc := range []struct {
		setting  string
		model    *network.Model
		strength float32
	}{{"none", cleanModel, 0}, {"auto", m.Plain(), core.StrengthForQuality(50)}, {"low", m.Plain(), 0.2}} {
		info, err := s.Start(1, "general-x2", tc.setting)
		if err != nil || info.Strength != tc.strength {
			t.Fatalf("pair, %s: strength %g (%v), want %g", tc.setting, info.Strength, err, tc.strength)
		}
		got, _ := s.enhanceAll(context.Background(), 1, info)
		e := core.NewEnhancer(tc.model, 2)
		e.Strength = tc.strength
		want, _ := e.Image(context.Background(), img, 1, nil)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("pair, %s: not the network core.Networks picks", tc.setting)
		}
	}
	// With the estimator (reading every image as 0.7) and a real-photo
	// network as general-x2-restore: auto on a PNG runs the real-photo
	// network at core.RestoreStrength and says why; a level chosen by hand
	// does the same on a PNG; the hard JPEG keeps the JPEG-aware network.
	restoreECB, err := network.NewECBModel(cfg, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	restoreModel := restoreECB.Plain()
	for name, m := range map[string]*network.Model{"estimator": trainingtest.ConstantEstimator(t, 0.7), "general-x2-restore": restoreModel} {
		var buf bytes.Buffer
		if err := network.SaveWeights(&buf, m, 2, network.TrainingInfo{}); err != nil {
			t.Fatal(err)
		}
		if err := s.LoadModel(name, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	pngImg := noiseImage(60, 40, false)
	if _, err := s.Open(2, pngOf(t, pngImg)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id       int
		in       image.Image
		setting  string
		model    *network.Model
		strength float32
		reading  string
	}{
		{2, pngImg, "auto", restoreModel, core.RestoreStrength, "looks degraded (0.70): restore 0.50 (medium) for blur and noise"},
		{2, pngImg, "high", restoreModel, 0.8, ""},
		{2, pngImg, "none", cleanModel, 0, ""},
		{1, img, "auto", m.Plain(), core.StrengthForQuality(50), "JPEG quality about 50, looks clean (0.70): restore 0.71 (high) for JPEG artifacts"},
	} {
		info, err := s.Start(tc.id, "general-x2", tc.setting)
		if err != nil || info.Strength != tc.strength || info.Reading != tc.reading || info.Restore != (tc.model == restoreModel) {
			t.Fatalf("restore, %s: %+v (%v); want strength %g, reading %q", tc.setting, info, err, tc.strength, tc.reading)
		}
		got, _ := s.enhanceAll(context.Background(), tc.id, info)
		e := core.NewEnhancer(tc.model, 2)
		e.Strength = tc.strength
		want, _ := e.Image(context.Background(), tc.in, 1, nil)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("restore, %s on image %d: not the network core.Networks picks", tc.setting, tc.id)
		}
		if info.Detailed {
			t.Errorf("restore, %s on image %d: says the Detailed network ran at the Faithful look", tc.setting, tc.id)
		}
	}
	// At the Detailed look (a network without a strength input loaded as
	// general-x2-detailed, the others beside it): StartInfo says whether
	// the Detailed network itself ran or handed the image on.
	var restoreBuf bytes.Buffer
	if err := network.SaveWeights(&restoreBuf, restoreModel, 2, network.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"general-x2-detailed": clean, "general-x2-detailed-denoise": wbuf.Bytes(), "general-x2-detailed-restore": restoreBuf.Bytes()} {
		if err := s.LoadModel(name, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id                int
		setting           string
		detailed, restore bool
	}{
		{2, "auto", false, true},  // a PNG read as degraded: the real-photo network
		{2, "none", true, false},  // the Detailed network
		{1, "auto", false, false}, // a hard JPEG: the JPEG-aware network
	} {
		info, err := s.Start(tc.id, "general-x2-detailed", tc.setting)
		if err != nil || info.Detailed != tc.detailed || info.Restore != tc.restore {
			t.Errorf("detailed, %s on image %d: %+v (%v), want Detailed %v, Restore %v", tc.setting, tc.id, info, err, tc.detailed, tc.restore)
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

// TestSaverZip: the files come back out of the zip as they went in,
// stored, under their names (a repeated name numbered).
func TestSaverZip(t *testing.T) {
	sv := NewSaver()
	files := []struct{ name, want, data string }{
		{"a-x2.png", "a-x2.png", "first"}, {"b-x2.png", "b-x2.png", "second"},
		{"a-x2.png", "a-x2 (2).png", "third"}, {`dir\a-x2.png`, "a-x2 (3).png", "fourth"},
	}
	for _, f := range files {
		if err := sv.ZipAdd(1, f.name, []byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := sv.ZipEnd(1)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) != len(files) {
		t.Fatalf("zip: %v, %d files", err, len(zr.File))
	}
	for i, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name != files[i].want || string(got) != files[i].data || f.Method != zip.Store {
			t.Errorf("file %d: %q %q method %d, want %q %q stored", i, f.Name, got, f.Method, files[i].want, files[i].data)
		}
	}
	if _, err := sv.ZipEnd(1); err == nil {
		t.Error("a zip ended twice")
	}
}

// gpuReference runs layers as the WGSL shader (site/gpu.js) does, in
// float64: each layer a "valid" convolution that keeps the input's size on
// the sides in edges, reading there the input's edge pixel instead (a
// clamped coordinate), and shrinks by its radius elsewhere. It returns the
// last layer's planes and where they lie.
func gpuReference(layers []GPULayer, x []float32, w, h int, edges network.Edges) ([]float32, image.Rectangle) {
	cur, rect := x, image.Rect(0, 0, w, h)
	for _, l := range layers {
		r := l.Size / 2
		out := rect
		if !edges.Left {
			out.Min.X += r
		}
		if !edges.Top {
			out.Min.Y += r
		}
		if !edges.Right {
			out.Max.X -= r
		}
		if !edges.Bottom {
			out.Max.Y -= r
		}
		iw, ih, ow, oh := rect.Dx(), rect.Dy(), out.Dx(), out.Dy()
		next := make([]float32, l.Out*ow*oh)
		for o := 0; o < l.Out; o++ {
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					sum := float64(l.Bias[o])
					for c := 0; c < l.In; c++ {
						for dy := 0; dy < l.Size; dy++ {
							for dx := 0; dx < l.Size; dx++ {
								sx := min(max(out.Min.X-rect.Min.X+xx+dx-r, 0), iw-1)
								sy := min(max(out.Min.Y-rect.Min.Y+y+dy-r, 0), ih-1)
								sum += float64(l.Weight[((o*l.In+c)*l.Size+dy)*l.Size+dx]) * float64(cur[(c*ih+sy)*iw+sx])
							}
						}
					}
					v := float32(sum)
					switch {
					case l.Last:
					case l.Slope != nil && v <= 0:
						v *= l.Slope[o]
					case l.Slope == nil && v < 0:
						v = 0
					}
					next[(o*oh+y)*ow+xx] = v
				}
			}
		}
		cur, rect = next, out
	}
	return cur, rect
}

// TestSessionGPUPath: the page's GPU path in Go: GPULayers, TileInput, the
// shader's arithmetic (gpuReference), TileFrom. Its tiles are Tile's
// pixels to within one level (the float sums differ in order), and a
// result of the wrong size is refused.
func TestSessionGPUPath(t *testing.T) {
	cfg, _ := network.Preset("ecb-m4c16", 2, true)
	cfg.Strength, cfg.Activation = true, "prelu"
	m, err := network.NewECBModel(cfg, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		t.Fatal(err)
	}
	for _, sl := range m.Slopes {
		for i := range sl.Value().Data().F32() {
			sl.Value().Data().F32()[i] = 0.1 * float32(i%5)
		}
	}
	s := sessionWith(t, "general-x2", m)
	if _, err := s.Open(1, pngOf(t, noiseImage(150, 110, true))); err != nil {
		t.Fatal(err)
	}
	info, err := s.Start(1, "general-x2", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	key, layers, err := s.GPULayers(1)
	if err != nil || key == "" || len(layers) != 6 || !layers[5].Last || layers[0].In != 2 || layers[0].Slope == nil {
		t.Fatalf("GPULayers: %q, %d layers, %v", key, len(layers), err)
	}
	var diff, n int
	for _, r := range info.Tiles {
		want, err := s.Tile(1, r)
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.TileInput(1, r)
		if err != nil {
			t.Fatal(err)
		}
		out, rect := gpuReference(layers, in.X, in.W, in.H, in.Edges)
		got, err := s.TileFrom(1, r, out, rect)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			d := int(want[i]) - int(got[i])
			if d > 1 || d < -1 {
				t.Fatalf("tile %v byte %d: %d, Tile gives %d", r, i, got[i], want[i])
			}
			if d != 0 {
				diff++
			}
			n++
		}
		if _, err := s.TileFrom(1, r, out[1:], rect); err == nil {
			t.Fatal("a result of the wrong size was taken")
		}
	}
	if float64(diff) > 0.001*float64(n) {
		t.Errorf("%d of %d bytes differ by one level", diff, n)
	}
}
