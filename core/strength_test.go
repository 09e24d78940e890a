package core

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
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
		if got := EstimateStrength(trainingtest.ConstantEstimator(t, tc.out), y); math.Abs(float64(got-tc.want)) > 1e-6 {
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

// TestEstimateImage: reading an image's patches gives the estimate of its
// whole Y plane, whatever its size and origin.
func TestEstimateImage(t *testing.T) {
	cfg, _ := network.Preset("estimator-c8", 2, false)
	m, _ := network.NewModel(cfg, rand.New(rand.NewPCG(5, 6)))
	rng := rand.New(rand.NewPCG(7, 8))
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 1, 1), image.Rect(0, 0, 30, 70), image.Rect(0, 0, 200, 150), image.Rect(0, 0, 700, 260), image.Rect(13, 9, 250, 140),
	} {
		img := image.NewNRGBA(r)
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		if got, want := EstimateImage(m, img), EstimateStrength(m, imaging.LumaY(img)); got != want {
			t.Errorf("%v: %g, want the plane's %g", r, got, want)
		}
	}
}

// TestRead: a hard JPEG gets the JPEG-aware network at its quality's
// strength; pixels that read as degraded (from DegradedFrom, raised for a
// JPEG by JPEGLift) in a file that is not a hard JPEG get the real-photo
// network at RestoreStrength; clean ones keep the file's strength.
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
	for _, tc := range []struct {
		name     string
		file     []byte
		est      float32 // < 0: no estimator
		scale    int
		strength float32
		restore  bool
		says     string
	}{
		{"png, no estimator", pngFile.Bytes(), -1, 4, 0, false, "no JPEG, pixels not read: restore 0.00 (none)"},
		{"q50, no estimator", q50, -1, 4, 50.0 / 70, false, "JPEG quality about 50: restore 0.71 (high) for JPEG artifacts"},
		{"png read as clean", pngFile.Bytes(), 0.3, 4, 0, false, "looks clean (0.30): restore 0.00 (none)"},
		{"png read as degraded", pngFile.Bytes(), 0.7, 4, RestoreStrength, true, "looks degraded (0.70): restore 0.50 (medium) for blur and noise"},
		{"q50 looking degraded", q50, 0.9, 4, 50.0 / 70, false, "JPEG quality about 50, looks degraded (0.90): restore 0.71 (high) for JPEG artifacts"},
		// A JPEG's threshold rises by JPEGLift times its strength: 0.57 at q90, x4.
		{"q50 at 0.8, its blocks", q50, 0.8, 4, 50.0 / 70, false, "JPEG quality about 50, looks clean (0.80): restore 0.71 (high) for JPEG artifacts"},
		{"q90 at 0.55, its blocks", q90, 0.55, 4, 10.0 / 70, false, "JPEG quality about 90, looks clean (0.55): restore 0.14 (low) for JPEG artifacts"},
		{"q90 looking degraded", q90, 0.6, 4, RestoreStrength, true, "JPEG quality about 90, looks degraded (0.60): restore 0.50 (medium) for blur and noise"},
		{"q90 looking clean", q90, 0.2, 4, 10.0 / 70, false, "JPEG quality about 90, looks clean (0.20): restore 0.14 (low) for JPEG artifacts"},
		// At x2 a soft original reads softer: from 0.65.
		{"png at 0.6, x2", pngFile.Bytes(), 0.6, 2, 0, false, "looks clean (0.60): restore 0.00 (none)"},
		{"png at 0.6, x3", pngFile.Bytes(), 0.6, 3, RestoreStrength, true, "looks degraded (0.60): restore 0.50 (medium) for blur and noise"},
		{"png at 0.7, x2", pngFile.Bytes(), 0.7, 2, RestoreStrength, true, "looks degraded (0.70): restore 0.50 (medium) for blur and noise"},
	} {
		var est *network.Model
		if tc.est >= 0 {
			est = trainingtest.ConstantEstimator(t, tc.est)
		}
		r := Read(tc.file, img, est, tc.scale)
		if math.Abs(float64(r.Strength-tc.strength)) > 1e-6 || r.Restore != tc.restore || r.String() != tc.says {
			t.Errorf("%s: strength %g restore %v, says %q; want %g %v, %q", tc.name, r.Strength, r.Restore, r, tc.strength, tc.restore, tc.says)
		}
	}
}

// TestAtLook: at the Detailed look, pixels read as degraded that the
// Detailed network restores itself get DetailedRestoreStrength; every
// other reading is left as it is.
func TestAtLook(t *testing.T) {
	clean, denoise, restore := testNet(t, false, 1), testNet(t, true, 2), testNet(t, true, 3)
	degraded := readLooks(0, 0.7, 4)
	for _, tc := range []struct {
		name     string
		n        Networks
		r        Reading
		strength float32
	}{
		{"Detailed that restores itself, degraded", Networks{restore, denoise, nil, true}, degraded, DetailedRestoreStrength},
		{"Detailed that restores itself, a light JPEG read clean", Networks{restore, denoise, nil, true}, readLooks(90, 0.3, 4), StrengthForQuality(90)},
		{"Detailed that restores itself, a level by hand", Networks{restore, denoise, nil, true}, Chosen(0, 0.5), 0.5},
		{"Detailed that restores itself, a hard JPEG", Networks{restore, denoise, nil, true}, readLooks(50, 0.95, 4), StrengthForQuality(50)},
		{"Faithful with a real-photo network, degraded", Networks{clean, denoise, restore, false}, degraded, RestoreStrength},
		{"Detailed beside a real-photo network, degraded", Networks{clean, denoise, restore, true}, degraded, RestoreStrength},
		{"Detailed that reads no strength, degraded", Networks{clean, denoise, nil, true}, degraded, RestoreStrength},
		{"Detailed that restores itself beside a real-photo network, degraded", Networks{restore, denoise, testNet(t, true, 4), true}, degraded, DetailedRestoreStrength},
	} {
		if got := tc.n.atLook(tc.r); got.Strength != tc.strength || got.Restore != tc.r.Restore || got.Looks != tc.r.Looks {
			t.Errorf("%s: %+v, want strength %g and the rest of %+v", tc.name, got, tc.strength, tc.r)
		}
	}
}

// TestNetworksFor: the network each reading runs and the strength it gets.
func TestNetworksFor(t *testing.T) {
	clean, denoise, restore := testNet(t, false, 1), testNet(t, true, 2), testNet(t, true, 3)
	all := Networks{clean, denoise, restore, false}
	for _, tc := range []struct {
		name     string
		n        Networks
		r        Reading
		want     *network.Model
		strength float32
	}{
		{"clean", all, Reading{}, clean, 0},
		{"JPEG", all, Reading{Quality: 50, Strength: 0.7}, denoise, 0.7},
		{"degraded", all, Reading{Strength: 0.5, Restore: true}, restore, 0.5},
		{"degraded, no real-photo network", Networks{clean, denoise, nil, false}, Reading{Strength: 0.5, Restore: true}, denoise, 0.5},
		{"degraded, no network with a strength input", Networks{clean, nil, nil, false}, Reading{Strength: 0.5, Restore: true}, clean, 0},
		{"JPEG, no JPEG-aware network", Networks{clean, nil, restore, false}, Reading{Quality: 50, Strength: 0.7}, clean, 0},
		{"chosen by hand for a PNG", all, Chosen(0, 0.8), restore, 0.8},
		{"chosen by hand for a q50 JPEG", all, Chosen(50, 0.2), denoise, 0.2},
		{"chosen by hand for a q95 JPEG", all, Chosen(95, 0.2), restore, 0.2},
		{"none chosen", all, Chosen(0, 0), clean, 0},
		{"degraded, a network that restores itself", Networks{restore, nil, nil, false}, Reading{Strength: 0.5, Restore: true}, restore, 0.5},
		{"JPEG, a network that restores itself alone", Networks{restore, nil, nil, false}, Reading{Quality: 50, Strength: 0.7}, restore, 0.7},
		{"degraded, a network that restores itself beside a JPEG-aware one", Networks{restore, denoise, nil, false}, Reading{Strength: 0.5, Restore: true}, restore, 0.5},
		{"JPEG, a network that restores itself beside a JPEG-aware one", Networks{restore, denoise, nil, false}, Reading{Quality: 50, Strength: 0.7}, denoise, 0.7},
		{"Detailed, a hard JPEG", Networks{clean, denoise, nil, true}, Reading{Quality: 50, Strength: 0.7}, denoise, 0.7},
		{"Detailed, a light JPEG", Networks{clean, denoise, nil, true}, Reading{Quality: 90, Strength: 0.14}, clean, 0},
		{"Detailed that reads a strength, a light JPEG", Networks{restore, denoise, nil, true}, Reading{Quality: 90, Strength: 0.14}, restore, 0.14},
		{"Detailed, a level by hand on a PNG", Networks{clean, denoise, nil, true}, Chosen(0, 0.8), clean, 0},
		{"Detailed without a strength input hands degraded pixels on", Networks{clean, denoise, restore, true}, Reading{Strength: 0.5, Restore: true}, restore, 0.5},
		{"Detailed that restores itself keeps degraded pixels beside a real-photo network", Networks{restore, denoise, testNet(t, true, 5), true}, Reading{Strength: 0.9, Restore: true}, restore, 0.9},
		{"Faithful that reads a strength beside a real-photo network", Networks{denoise, nil, restore, false}, Reading{Strength: 0.5, Restore: true}, restore, 0.5},
	} {
		m, s := tc.n.For(tc.r)
		if m != tc.want || s != tc.strength {
			t.Errorf("%s: ran %p at %g, want %p at %g", tc.name, m, s, tc.want, tc.strength)
		}
	}
}

// testNet is a small random low-resolution network, with a strength input
// or without.
func TestRestorer(t *testing.T) {
	clean, denoise, restore := testNet(t, false, 1), testNet(t, true, 2), testNet(t, true, 3)
	for _, tc := range []struct {
		name string
		n    Networks
		want *network.Model
	}{
		{"a real-photo network", Networks{clean, denoise, restore, false}, restore},
		{"only a JPEG-aware companion", Networks{clean, denoise, nil, false}, nil},
		{"a clean network alone", Networks{clean, nil, nil, false}, nil},
		{"a network with a strength input alone", Networks{restore, nil, nil, false}, restore},
		{"a network with a strength input beside a JPEG-aware one", Networks{restore, denoise, nil, false}, restore},
	} {
		if got := tc.n.Restorer(); got != tc.want {
			t.Errorf("%s: restorer %p, want %p", tc.name, got, tc.want)
		}
	}
}

func testNet(t *testing.T, strength bool, seed uint64) *network.Model {
	t.Helper()
	cfg, err := network.Preset("ecb-m4c16", 2, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Strength = strength
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
