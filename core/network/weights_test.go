package network

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srcnn-web/upscaler/core/imaging"
)

func savedWeights(t *testing.T) []byte {
	t.Helper()
	m := smallModel(t, tinyY, 6)
	var buf bytes.Buffer
	if err := SaveWeights(&buf, m, 3, TrainingInfo{Data: []string{"T91"}, Steps: 10, WallTime: time.Minute, ValPSNR: 30.5}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWeightsRoundTrip(t *testing.T) {
	data := savedWeights(t)
	m, f, err := LoadWeights(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := smallModel(t, tinyY, 6)
	if f.Scale != 3 || f.Training.Steps != 10 || f.Training.ValPSNR != 30.5 || f.Config.Preset != "tiny-y" || !f.Config.Residual {
		t.Errorf("metadata not kept: %+v", f)
	}
	for i, p := range want.ParamData() {
		got := m.ParamData()[i]
		for j := range p {
			if got[j] != p[j] {
				t.Fatalf("param %d value %d: %g, want %g", i, j, got[j], p[j])
			}
		}
	}
}

// reenvelope rewrites a weights file with a changed body or version.
func reenvelope(t *testing.T, data []byte, edit func(f *WeightsFile, env *envelope)) []byte {
	t.Helper()
	var env envelope
	if err := gob.NewDecoder(bytes.NewReader(data[len(WeightsMagic):])).Decode(&env); err != nil {
		t.Fatal(err)
	}
	var f WeightsFile
	if err := gob.NewDecoder(bytes.NewReader(env.Body)).Decode(&f); err != nil {
		t.Fatal(err)
	}
	edit(&f, &env)
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(&f); err != nil {
		t.Fatal(err)
	}
	env.Body, env.CRC = body.Bytes(), crc32.ChecksumIEEE(body.Bytes())
	var out bytes.Buffer
	out.WriteString(WeightsMagic)
	if err := gob.NewEncoder(&out).Encode(&env); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWeightsBadFiles(t *testing.T) {
	good := savedWeights(t)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-20] ^= 0x40
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a weights file"},
		{"png", []byte("\x89PNG\r\n\x1a\n...."), "not a weights file"},
		{"magic only", []byte(WeightsMagic), "truncated or corrupt"},
		{"truncated", good[:len(good)/2], "truncated or corrupt"},
		{"flipped bit", flipped, "corrupt"},
		{"newer version", reenvelope(t, good, func(f *WeightsFile, e *envelope) { e.Version = WeightsVersion + 1 }), fmt.Sprintf("format version %d", WeightsVersion+1)},
		{"shape mismatch", reenvelope(t, good, func(f *WeightsFile, e *envelope) { f.Weights[1] = f.Weights[1][1:] }), "layer 1 has"},
		{"missing layer", reenvelope(t, good, func(f *WeightsFile, e *envelope) { f.Biases = f.Biases[:2] }), "bias arrays"},
		{"bad config", reenvelope(t, good, func(f *WeightsFile, e *envelope) { f.Config.Layers[0].Size = 4 }), "kernel size 4"},
		{"bad scale", reenvelope(t, good, func(f *WeightsFile, e *envelope) { f.Scale = 7 }), "scale 7"},
		{"shuffle not the scale", reenvelope(t, good, func(f *WeightsFile, e *envelope) {
			f.Config.Shuffle = 2
			f.Config.Layers[2].Filters = 4
		}), "rearranges its output by 2"},
		{"nan", reenvelope(t, good, func(f *WeightsFile, e *envelope) { f.Biases[0][0] = float32(nan()) }), "NaN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := LoadWeights(bytes.NewReader(tc.data))
			if err == nil || m != nil {
				t.Fatalf("loaded a bad file (err %v)", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// savedAsVersion saves m and checks that the file says format version want.
func savedAsVersion(t *testing.T, m *Model, scale int, info TrainingInfo, want int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := SaveWeights(&buf, m, scale, info); err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := gob.NewDecoder(bytes.NewReader(buf.Bytes()[len(WeightsMagic):])).Decode(&env); err != nil || env.Version != want {
		t.Fatalf("envelope version %d (err %v), want %d", env.Version, err, want)
	}
	return buf.Bytes()
}

// TestWeightsLowResRoundTrip: a network at the input's resolution is saved
// collapsed, as format version 2, and loads back as the same plain network.
func TestWeightsLowResRoundTrip(t *testing.T) {
	cfg, err := Preset("ecb-m4c16", 4, true)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewECBModel(cfg, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		t.Fatal(err)
	}
	buf := savedAsVersion(t, m, 4, TrainingInfo{Steps: 1}, 2)
	got, f, err := LoadWeights(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	if f.Config.Shuffle != 4 || got.Branches != nil || f.Config.Layers[len(f.Config.Layers)-1].Filters != 16 {
		t.Fatalf("loaded %+v", f.Config)
	}
	for i := range cfg.Layers {
		w, b := m.Kernel(i)
		gw, gb := got.Kernel(i)
		if fmt.Sprint(w, b) != fmt.Sprint(gw, gb) {
			t.Fatalf("layer %d differs after the round trip", i)
		}
	}
}

// TestWeightsPReLURepeatRoundTrip: a PReLU network with the repeated-input
// anchor is written as version 3 and reads back with its slopes; a file
// whose slopes do not fit its layers is refused.
func TestWeightsPReLURepeatRoundTrip(t *testing.T) {
	cfg, err := Preset("ecb-m4c16", 2, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Activation, cfg.Anchor = "prelu", "repeat"
	m, err := NewECBModel(cfg, rand.New(rand.NewPCG(7, 9)))
	if err != nil {
		t.Fatal(err)
	}
	m.Slopes[2].Value().Data().F32()[5] = -0.75
	buf := savedAsVersion(t, m, 2, TrainingInfo{}, 3)
	got, f, err := LoadWeights(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Config.PReLU() || !got.Config.RepeatAnchor() || len(got.Slopes) != len(cfg.Layers)-1 || got.slope(2)[5] != -0.75 {
		t.Fatalf("loaded %+v with %d slope arrays", f.Config, len(got.Slopes))
	}
	for _, tc := range []struct {
		name   string
		mangle func(*WeightsFile)
		want   string
	}{
		{"missing slopes", func(f *WeightsFile) { f.Slopes = nil }, "slope arrays"},
		{"slopes for ReLU", func(f *WeightsFile) { f.Config.Activation = "" }, "slope arrays"},
		{"short slopes", func(f *WeightsFile) { f.Slopes[1] = f.Slopes[1][:3] }, "layer 1 has 3 PReLU slopes"},
		{"NaN slope", func(f *WeightsFile) { f.Slopes[0][0] = float32(math.NaN()) }, "NaN or infinite slope"},
		{"unknown activation", func(f *WeightsFile) { f.Config.Activation = "gelu" }, "activation \"gelu\""},
		{"unknown anchor", func(f *WeightsFile) { f.Config.Anchor = "nearest" }, "anchor \"nearest\""},
	} {
		_, f, _ := LoadWeights(bytes.NewReader(buf))
		tc.mangle(f)
		if _, err := f.Model(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestWeightsSharpenRoundTrip: a network that sharpens its output is
// written as version 4 (older builds refuse it rather than give other
// pixels) and reads back with its mask; a mask out of range is refused.
func TestWeightsSharpenRoundTrip(t *testing.T) {
	cfg, err := Preset("ecb-m4c16", 4, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sharpen = imaging.UnsharpMask{Amount: 0.3, Sigma: 2}
	m, err := NewECBModel(cfg, rand.New(rand.NewPCG(7, 10)))
	if err != nil {
		t.Fatal(err)
	}
	buf := savedAsVersion(t, m, 4, TrainingInfo{}, 4)
	got, f, err := LoadWeights(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Sharpen != cfg.Sharpen {
		t.Fatalf("loaded mask %+v, want %+v", got.Config.Sharpen, cfg.Sharpen)
	}
	for _, tc := range []struct {
		name string
		u    imaging.UnsharpMask
	}{{"amount 5", imaging.UnsharpMask{Amount: 5, Sigma: 2}}, {"no sigma", imaging.UnsharpMask{Amount: 0.3}}, {"NaN", imaging.UnsharpMask{Amount: float32(math.NaN()), Sigma: 2}}} {
		f.Config.Sharpen = tc.u
		if _, err := f.Model(); err == nil || !strings.Contains(err.Error(), "unsharp mask") {
			t.Errorf("%s: %v, want an error about the unsharp mask", tc.name, err)
		}
	}
}

// TestOldWeightsStillLoad: a version-1 file as the product shipped it
// (vdsr16-8 at x2, after bicubic) loads and runs.
func TestOldWeightsStillLoad(t *testing.T) {
	f, err := os.Open("../../weights/legacy/vdsr16-8-general-x2.gob")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, wf, err := LoadWeights(f)
	if err != nil {
		t.Fatal(err)
	}
	if wf.Config.Preset != "vdsr16-8" || wf.Config.LowRes() || wf.Scale != 2 || m.Config.MACsPerPixel() != 14112 {
		t.Fatalf("loaded %+v at x%d", wf.Config, wf.Scale)
	}
	x := randSlice(rand.New(rand.NewPCG(1, 1)), 18*14)
	if out := m.Infer(x, 14, 18); len(out) != len(x) {
		t.Fatalf("the old weights give %d values for %d inputs", len(out), len(x))
	}
}
