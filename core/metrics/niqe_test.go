package metrics

import (
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// set14 is the folder of the Set14 images beside the checkout (shared/).
const set14 = "../../../shared/data/val/Set14"

// set14Y reads a Set14 image as BasicSR scores it: the Y of MATLAB's
// rgb2ycbcr, or the grey values of a greyscale file (bridge.png).
func set14Y(t *testing.T, name string) imaging.Plane {
	t.Helper()
	f, err := os.Open(filepath.Join(set14, name))
	if err != nil {
		t.Fatalf("the NIQE oracle needs Set14 in ../shared beside the checkout: %v", err)
	}
	defer f.Close()
	img, _, err := imaging.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := img.(*image.Gray); ok {
		p := imaging.NewPlane(g.Rect.Dx(), g.Rect.Dy())
		for i := range p.Pix {
			p.Pix[i] = float32(g.Pix[i]) / 255
		}
		return p
	}
	return imaging.LumaY(img)
}

// bicubicX4 is a Set14 image shrunk x4 and enlarged again in RGB with
// MATLAB's bicubic, both rounded to 8 bits, and its Y (grey values for bridge).
func bicubicX4(t *testing.T, name string) imaging.Plane {
	f, err := os.Open(filepath.Join(set14, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := imaging.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	split := imaging.Split(img, true)
	planes := split.C[:]
	if _, grey := img.(*image.Gray); grey {
		planes = []imaging.Plane{set14Y(t, name)}
	}
	w, h := planes[0].W/4*4, planes[0].H/4*4
	for c, p := range planes {
		lr := imaging.Resize(p.Crop(w, h), w/4, h/4, imaging.Bicubic)
		for i, v := range lr.Pix { // saved as an 8-bit image
			lr.Pix[i] = float32(imaging.Round8(v) / 255)
		}
		planes[c] = imaging.Resize(lr, w, h, imaging.Bicubic)
	}
	return imaging.Luma8(planes)
}

// TestNIQEOracle: BasicSR's values (and MATLAB's) on Set14, to 1e-3.
func TestNIQEOracle(t *testing.T) {
	got, err := NIQE(set14Y(t, "baboon.png"))
	if err != nil || math.Abs(got-5.7296) > 1e-3 {
		t.Errorf("baboon: NIQE %.5f (%v), want 5.7296", got, err)
	}
	files, _ := filepath.Glob(filepath.Join(set14, "*.png"))
	if len(files) != 14 {
		t.Fatalf("%d images in %s, want Set14's 14", len(files), set14)
	}
	var hr, bicubic float64
	for _, f := range files {
		y := set14Y(t, filepath.Base(f))
		s, err := NIQE(y)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		hr += s / 14
		if s, err = NIQE(bicubicX4(t, filepath.Base(f))); err != nil {
			t.Fatalf("%s x4 bicubic: %v", f, err)
		}
		bicubic += s / 14
	}
	if math.Abs(hr-4.8410) > 1e-3 {
		t.Errorf("Set14 HR mean NIQE %.5f, want 4.8410", hr)
	}
	if math.Abs(bicubic-7.7991) > 1e-3 {
		t.Errorf("Set14 x4 bicubic mean NIQE %.5f, want 7.7991", bicubic)
	}
}

// TestNIQEBadInput: too small or flat images give an error, not a panic or
// a number.
func TestNIQEBadInput(t *testing.T) {
	noise := imaging.NewPlane(200, 100)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = rng.Float32()
	}
	for _, tc := range []struct {
		name string
		p    imaging.Plane
		ok   bool
	}{
		{"one block", imaging.NewPlane(100, 100), false},
		{"empty", imaging.NewPlane(0, 0), false},
		{"flat", imaging.NewPlane(200, 200), false},
		{"noise", noise, true},
	} {
		s, err := NIQE(tc.p)
		if (err == nil) != tc.ok || (tc.ok && (math.IsNaN(s) || s <= 0)) {
			t.Errorf("%s: %g, %v", tc.name, s, err)
		}
	}
}
