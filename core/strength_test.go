package core

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

// jpegAt is img saved as a JPEG of quality q.
func jpegAt(t *testing.T, q int, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := imaging.EncodeQuality(&buf, img, "jpeg", q); err != nil {
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

// constantEstimator is an estimator-c8 whose value is v everywhere (and
// its weight 0).
func constantEstimator(t *testing.T, v float32) *network.Model {
	cfg, err := network.Preset("estimator-c8", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	last := len(m.Weights) - 1
	clear(m.Weights[last].Value().Data().F32())
	m.Biases[last].Value().Data().F32()[0] = v
	m.Biases[last].Value().Data().F32()[1] = 0
	return m
}

// TestEstimateStrength: the estimate is the mean of the estimator's output,
// clamped to 0..1, for any image size (1x1 included), and an empty image
// reads as clean.
func TestEstimateStrength(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		out  float32
		w, h int
		want float32
	}{
		{0.3, 500, 300, 0.3}, {0.3, 1, 1, 0.3}, {0.7, 64, 9, 0.7}, {0.5, 65, 200, 0.5},
		{1.8, 100, 100, 1}, {-0.4, 100, 100, 0}, {0.3, 0, 0, 0},
	} {
		y := imaging.NewPlane(tc.w, tc.h)
		for i := range y.Pix {
			y.Pix[i] = rng.Float32()
		}
		if got := EstimateStrength(constantEstimator(t, tc.out), y); math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("output %g on %dx%d: estimate %g, want %g", tc.out, tc.w, tc.h, got, tc.want)
		}
	}
	// A real (random) estimator reads a grey image and a noisy one
	// differently, and the same image the same way twice.
	cfg, _ := network.Preset("estimator-c8", 2, false)
	m, _ := network.NewModel(cfg, rand.New(rand.NewPCG(5, 6)))
	grey, noisy := imaging.NewPlane(300, 200), imaging.NewPlane(300, 200)
	for i := range grey.Pix {
		grey.Pix[i], noisy.Pix[i] = 0.5, rng.Float32()
	}
	g, n := m.Infer(grey.Pix[:64*64], 64, 64), m.Infer(noisy.Pix[:64*64], 64, 64) // values, then weights
	if g[0] == n[0] && g[100] == n[100] {
		t.Fatal("the random estimator ignores its input")
	}
	if EstimateStrength(m, noisy) != EstimateStrength(m, noisy) {
		t.Error("two estimates of one image differ")
	}
}

// TestRead: auto runs at the larger of the file's JPEG strength and the
// pixels' reading, a reading under CleanBelow counting as clean.
func TestRead(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	var pngFile bytes.Buffer
	if err := imaging.Encode(&pngFile, img, "png"); err != nil {
		t.Fatal(err)
	}
	q50, q90 := jpegAt(t, 50, img), jpegAt(t, 90, img)
	y := imaging.LumaY(img)
	for _, tc := range []struct {
		name     string
		file     []byte
		est      float32 // < 0: no estimator
		strength float32
		says     string
	}{
		{"png, no estimator", pngFile.Bytes(), -1, 0, "no JPEG, pixels not read: denoise 0.00 (none)"},
		{"q50, no estimator", q50, -1, 50.0 / 70, "JPEG quality about 50: denoise 0.71 (high)"},
		{"png read as clean", pngFile.Bytes(), 0.1, 0, "looks clean (0.10): denoise 0.00 (none)"},
		{"png read as degraded", pngFile.Bytes(), 0.6, 0.6, "looks degraded (0.60): denoise 0.60 (medium)"},
		{"q50 looking mildly degraded", q50, 0.3, 50.0 / 70, "JPEG quality about 50, looks degraded (0.30): denoise 0.71 (high)"},
		{"q90 looking degraded", q90, 0.5, 0.5, "JPEG quality about 90, looks degraded (0.50): denoise 0.50 (medium)"},
	} {
		var est *network.Model
		if tc.est >= 0 {
			est = constantEstimator(t, tc.est)
		}
		r := Read(tc.file, y, est)
		if math.Abs(float64(r.Strength-tc.strength)) > 1e-6 || r.String() != tc.says {
			t.Errorf("%s: strength %g, says %q; want %g, %q", tc.name, r.Strength, r, tc.strength, tc.says)
		}
	}
}
