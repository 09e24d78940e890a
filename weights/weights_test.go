package weights

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
)

func TestList(t *testing.T) {
	fsys := fstest.MapFS{
		"general-x2.gob":          {Data: []byte("a")},
		"general-x2-denoise.gob":  {Data: []byte("a")},
		"general-x4-detailed.gob": {Data: []byte("a")},
		"general-x4-restore.gob":  {Data: []byte("a")},
		"estimator.gob":           {Data: []byte("a")}, // not a model's
		"general-x2-jpeg.gob":     {Data: []byte("a")}, // no such kind
		"portrait-x4.gob":         {Data: []byte("b")},
		"general-x5.gob":          {Data: []byte("c")}, // no such scale
		"anime-x2.gob":            {Data: []byte("d")}, // no such model
		"general-x2.csv":          {Data: []byte("e")},
		"README.md":               {Data: []byte("f")},
	}
	es, err := List(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"general", 2, true, false, "", "general-x2-denoise.gob"}, {"general", 2, false, false, "", "general-x2.gob"},
		{"general", 4, false, false, "detailed", "general-x4-detailed.gob"}, {"general", 4, false, true, "", "general-x4-restore.gob"},
		{"portrait", 4, false, false, "", "portrait-x4.gob"}}
	if len(es) != len(want) {
		t.Fatalf("listed %v, want %v", es, want)
	}
	for i := range want {
		if es[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, es[i], want[i])
		}
	}
}

// TestShipped: every shipped model reads, and one that does not ship says
// what does.
func TestShipped(t *testing.T) {
	es, err := List(FS)
	if err != nil || len(es) == 0 {
		t.Fatalf("no shipped weights (%v)", err)
	}
	for _, e := range es {
		data, err := Read(e.Model, e.Scale)
		if e.Denoise {
			var file string
			data, file, err = ReadDenoise(e.Model, e.Scale)
			if file != e.File {
				t.Errorf("ReadDenoise(%s, %d) read %s, want %s", e.Model, e.Scale, file, e.File)
			}
		}
		if e.Restore {
			var file string
			data, file, err = ReadRestore(e.Model, e.Scale)
			if file != e.File {
				t.Errorf("ReadRestore(%s, %d) read %s, want %s", e.Model, e.Scale, file, e.File)
			}
		}
		if e.Look == "detailed" {
			var file string
			data, file, err = ReadDetailed(e.Model, e.Scale)
			if file != e.File {
				t.Errorf("ReadDetailed(%s, %d) read %s, want %s", e.Model, e.Scale, file, e.File)
			}
		}
		if err != nil || len(data) == 0 {
			t.Errorf("%s: %v", e.File, err)
		}
	}
	if data, err := fs.ReadFile(FS, Estimator); err != nil || len(data) == 0 {
		t.Errorf("the estimator does not ship: %v", err)
	}
	if _, _, err := ReadRestore("general", 7); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading unshipped real-photo weights: %v, want fs.ErrNotExist", err)
	}
	if _, _, err := ReadDetailed("general", 7); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading unshipped Detailed weights: %v, want fs.ErrNotExist", err)
	}
	if _, _, err := ReadDenoise("general", 7); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading unshipped denoise weights: %v, want fs.ErrNotExist", err)
	}
	if _, err := Read("general", 7); err == nil || !strings.Contains(err.Error(), "shipped: [general x2") {
		t.Errorf("reading an unshipped model: %v", err)
	} else if n := strings.Count(err.Error(), "general x2"); n != 1 { // its companions are not models
		t.Errorf("reading an unshipped model: %v lists general x2 %d times, want once", err, n)
	}
}

// TestCompanion: a model's own JPEG-aware network where it ships, else
// general's of the same scale, else none.
func TestCompanion(t *testing.T) {
	fsys := fstest.MapFS{
		"general-x2.gob":           {Data: []byte("a")},
		"general-x2-denoise.gob":   {Data: []byte("a")},
		"portrait-x2.gob":          {Data: []byte("a")},
		"portrait-x4.gob":          {Data: []byte("a")},
		"portrait-x4-denoise.gob":  {Data: []byte("a")},
		"general-x3.gob":           {Data: []byte("a")},
		"general-x3-denoise.gob":   {Mode: fs.ModeDir}, // a folder, not a file
		"general-x3-denoise.gob/x": {Data: []byte("a")},
		"general-x4-detailed.gob":  {Data: []byte("a")},
		"portrait-x2-detailed.gob": {Data: []byte("a")},
		"general-x4-restore.gob":   {Data: []byte("a")},
		"portrait-x2-restore.gob":  {Data: []byte("a")},
	}
	// The JPEG-aware, Detailed-look and real-photo files are found alike.
	find := map[string]func(fs.FS, string, int) (string, bool){"Companion": Companion, "Detailed": Detailed, "Restoring": Restoring}
	for _, tc := range []struct {
		find  string
		model string
		scale int
		want  string
	}{
		{"Companion", "general", 2, "general-x2-denoise.gob"},
		{"Companion", "portrait", 2, "general-x2-denoise.gob"},
		{"Companion", "portrait", 4, "portrait-x4-denoise.gob"},
		{"Companion", "general", 4, ""},
		{"Companion", "general", 3, ""},
		{"Companion", "portrait", 3, ""},
		{"Detailed", "general", 4, "general-x4-detailed.gob"},
		{"Detailed", "portrait", 4, "general-x4-detailed.gob"},
		{"Detailed", "portrait", 2, "portrait-x2-detailed.gob"},
		{"Detailed", "general", 2, ""},
		{"Restoring", "general", 4, "general-x4-restore.gob"},
		{"Restoring", "portrait", 4, "general-x4-restore.gob"},
		{"Restoring", "portrait", 2, "portrait-x2-restore.gob"},
		{"Restoring", "general", 2, ""},
	} {
		got, ok := find[tc.find](fsys, tc.model, tc.scale)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s(%s, %d) = %q, %v; want %q", tc.find, tc.model, tc.scale, got, ok, tc.want)
		}
	}
}

// TestShippedEstimator: the shipped degradation estimator gives every
// image a strength from 0 to 1, tiny and flat ones too, reads a flat grey
// image as clean, and reads a detailed picture as more degraded once it is
// blurred, and once it has noise added.
func TestShippedEstimator(t *testing.T) {
	data, err := fs.ReadFile(FS, Estimator)
	if err != nil {
		t.Fatal(err)
	}
	est, _, err := network.LoadWeights(bytes.NewReader(data))
	if err != nil || !est.Config.Estimator {
		t.Fatalf("estimator: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// A detailed picture: random grey blocks of 1-6 pixels.
	const w, h = 300, 200
	detailed := imaging.NewPlane(w, h)
	for y := 0; y < h; y += 1 + rng.IntN(6) {
		for x := 0; x < w; x += 1 + rng.IntN(6) {
			v := rng.Float32()
			for yy := y; yy < min(h, y+6); yy++ {
				for xx := x; xx < min(w, x+6); xx++ {
					detailed.Pix[yy*w+xx] = v
				}
			}
		}
	}
	blurred := imaging.Resize(imaging.Resize(detailed, w/3, h/3, imaging.Bicubic), w, h, imaging.Bicubic)
	noisy := imaging.NewPlane(w, h)
	for i, v := range detailed.Pix {
		noisy.Pix[i] = min(1, max(0, v+float32(rng.NormFloat64()*0.04)))
	}
	grey := func(w, h int) imaging.Plane {
		p := imaging.NewPlane(w, h)
		for i := range p.Pix {
			p.Pix[i] = 0.5
		}
		return p
	}
	reads := map[string]float32{}
	for name, p := range map[string]imaging.Plane{"1x1": grey(1, 1), "grey 3x200": grey(3, 200), "grey": grey(w, h),
		"detailed": detailed, "blurred": blurred, "noisy": noisy} {
		s := core.EstimateStrength(est, p)
		if !(s >= 0 && s <= 1) {
			t.Errorf("%s reads %g", name, s)
		}
		reads[name] = s
	}
	if reads["grey"] >= core.DegradedFrom(4) || !(reads["blurred"] > reads["detailed"]) || !(reads["noisy"] > reads["detailed"]) {
		t.Errorf("readings %v: want grey under %g, blurred and noisy over detailed", reads, core.DegradedFrom(4))
	}
}
