package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
	"github.com/srcnn-web/upscaler/weights"
)

// TestMain lets a test run the command as a child process (for signals).
func TestMain(m *testing.M) {
	if os.Getenv("TRAIN_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runCmd runs the command in-process and returns its exit code and output.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	trainingtest.WriteNoiseImages(t, dir, 1, 64, 64, 1)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown verb"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-scale", "5"}, 2, "-scale 5"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob"}, 2, "exactly one of -steps and -epochs"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-lr", "-1"}, 2, "-lr"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-batch", "6", "-shard", "4"}, 2, "multiple of the shard"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "nope"}, 2, "unknown preset"},
		{[]string{"fit", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"fit", "-steps", "1", "-out", dir + "/w.gob"}, 2, "-data is required"},
		{[]string{"fit", "-data", filepath.Join(dir, "missing"), "-out", dir + "/w.gob", "-steps", "1"}, 1, "no such file"},
		{[]string{"fit", "-data", t.TempDir(), "-out", dir + "/w.gob", "-steps", "1"}, 1, "no usable training image"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-jpeg", "30-90", "-jpeg-lighter", "0.2"}, 2, "-jpeg-lighter is for -strength"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-jpeg-lighter", "2"}, 2, "-jpeg-lighter 2"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-val-jpeg", "50"}, 2, "-val-jpeg needs -val and -strength"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-val-jpeg", "101"}, 2, "-val-jpeg 101"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-degrade"}, 2, "-degrade needs -strength"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-degrade", "-strength", "-jpeg", "30-90"}, 2, "instead of -jpeg"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-degrade-clean", "1.5"}, 2, "-degrade-clean 1.5"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-strength", "-val", dir, "-val-pairs", dir}, 2, "LR/ and HR/"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-val-pairs", dir}, 2, "-val-pairs needs -val and -strength"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-pairs-strength", "1.5"}, 2, "-pairs-strength 1.5"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-val-strength", "2"}, 2, "-val-strength 2"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-act", "gelu"}, 2, "-act \"gelu\""},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-target-sharpen", "1"}, 2, "-target-sharpen \"1\""},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-target-sharpen", "1,0"}, 2, "-target-sharpen \"1,0\""},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-ssim", "1"}, 2, "-ssim 1: want"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-scale", "4", "-residual", "-ssim", "-1"}, 2, "-ssim -1: want"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-anchor", "nearest"}, 2, "-anchor \"nearest\""},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-anchor", "repeat"}, 2, "anchor \"repeat\""}, // srcnn-915 runs after bicubic
		{[]string{"eval", "-scale", "9", dir}, 2, "-scale 9"},
		{[]string{"eval"}, 2, "at least one folder"},
		{[]string{"eval", "-model", "anime", dir}, 2, "-model"},
		{[]string{"eval", "-jpeg", "101", dir}, 2, "-jpeg 101"},
		{[]string{"eval", "-look", "shiny", dir}, 2, "-look \"shiny\""},
		{[]string{"upscale", "-scale", "3", "-look", "detailed", filepath.Join(dir, "imga.png"), filepath.Join(dir, "out.png")}, 1, "no Detailed-look network ships for general x3"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-gan", "hinge"}, 2, "GAN loss \"hinge\""},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-gan", "standard", "-gan-d", "8,x"}, 2, "-gan-d"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-gan", "standard", "-gan-floor", "-1"}, 2, "loss floor >= 0"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-gan", "standard", "-gan-grid", "-2"}, 2, "grid weights and the grid's flatness limit >= 0"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-preset", "ecb-m4c16", "-gan", "standard", "-gan-grid-flat", "0.03"}, 2, "without a grid weight"},
		{[]string{"fit", "-data", dir, "-out", dir + "/w.gob", "-steps", "1", "-gan", "standard"}, 1, "residual low-resolution network"},
		{[]string{"eval", "-denoise", "2", dir}, 2, "-denoise"},
		{[]string{"upscale", "in.png"}, 2, "want an input and an output"},
		{[]string{"fit", "-h"}, 0, "-lr-decay-every"},
		{[]string{"eval", "-h"}, 0, "-json"},
		{[]string{"upscale", "-h"}, 0, "-scale"},
	}
	for _, tc := range cases {
		code, _, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// strengthNet writes two test images into a new folder and trains a
// network with a strength input on them for one step; it returns the
// folder and the weights file.
func strengthNet(t *testing.T, seed uint64) (data, weights string) {
	t.Helper()
	data = t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 72, 72, seed)
	weights = filepath.Join(t.TempDir(), "w.gob")
	if code, _, e := runCmd(fitArgs(data, weights, "-preset", "ecb-m4c16", "-jpeg", "30-90", "-strength", "-steps", "1")...); code != 0 {
		t.Fatal(e)
	}
	return data, weights
}

func fitArgs(data, out string, extra ...string) []string {
	return append([]string{"fit", "-data", data, "-out", out, "-patch", "16", "-batch", "4", "-shard", "2",
		"-preset", "srcnn-915", "-quiet"}, extra...)
}

func loadParams(t *testing.T, path string) [][]float32 {
	t.Helper()
	m, _, err := network.LoadWeightsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m.ParamData()
}

func sameParams(a, b [][]float32) bool {
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return len(a) == len(b)
}

func TestFitReducesLossAndSkipsCorruptImages(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 3, 48, 48, 2)
	os.WriteFile(filepath.Join(data, "broken.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	out := filepath.Join(t.TempDir(), "w.gob")
	code, stdout, stderr := runCmd(fitArgs(data, out, "-steps", "60", "-val-every", "20", "-lr", "3e-3")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "skipping") || !strings.Contains(stderr, "broken.png") {
		t.Errorf("no warning about the corrupt image: %s", stderr)
	}
	var losses []float64
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var step int
		var epoch, loss float64
		if _, err := fmtSscanf(line, &step, &epoch, &loss); err == nil {
			losses = append(losses, loss)
		}
	}
	if len(losses) != 3 || !(losses[2] < losses[0]) {
		t.Fatalf("losses %v: want three reports, decreasing\n%s", losses, stdout)
	}
	for _, f := range []string{"w.gob", "w.ckpt", "w.csv", "w.png"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// TestResumeMatchesUninterrupted: a run stopped and resumed reaches exactly
// the parameters of a run that was never stopped, whatever the workers:
// for a network after bicubic and for a re-parameterized one at the
// input's resolution (whose checkpoint keeps the branches), and for an
// adversarial run of it, whose checkpoint must restore the discriminator,
// its optimizer and the generator's running average as well (each shapes
// the generator's later steps), and which differs from the plain run;
// feature matching, the grid term and its flatness limit each change what
// it learns.
func TestResumeMatchesUninterrupted(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 40, 40, 3)
	lowRes := []string{"-preset", "ecb-m4c16", "-loss", "l1"}
	var results [][][]float32
	gan := append(slices.Clone(lowRes), "-gan", "relativistic", "-gan-d", "4,4", "-gan-weight", "0.5", "-gan-ema", "0.5")
	for _, kind := range [][]string{nil, lowRes, gan, append(slices.Clone(gan), "-gan-feature", "1"), append(slices.Clone(gan), "-gan-spectral"), append(slices.Clone(gan), "-gan-grid", "2"), append(slices.Clone(gan), "-gan-grid", "2", "-gan-grid-flat", "0.05")} {
		args := func(out string, extra ...string) []string { return fitArgs(data, out, append(extra, kind...)...) }
		whole := filepath.Join(t.TempDir(), "w.gob")
		if code, _, stderr := runCmd(args(whole, "-steps", "8", "-val-every", "4", "-workers", "1")...); code != 0 {
			t.Fatal(stderr)
		}
		split := filepath.Join(t.TempDir(), "w.gob")
		if code, _, stderr := runCmd(args(split, "-steps", "4", "-val-every", "4", "-workers", "2")...); code != 0 {
			t.Fatal(stderr)
		}
		if code, _, stderr := runCmd(args(split, "-steps", "8", "-val-every", "4", "-workers", "3", "-resume")...); code != 0 {
			t.Fatal(stderr)
		}
		if !sameParams(loadParams(t, whole), loadParams(t, split)) {
			t.Fatalf("%v: resumed run differs from the uninterrupted one", kind)
		}
		results = append(results, loadParams(t, whole))
		// Resuming with other settings is refused.
		if code, _, stderr := runCmd(args(split, "-steps", "9", "-val-every", "4", "-lr", "0.1", "-resume")...); code == 0 || !strings.Contains(stderr, "differ") {
			t.Errorf("%v: resume with another -lr: exit %d, %s", kind, code, stderr)
		}
	}
	if sameParams(results[1], results[2]) || sameParams(results[2], results[3]) || sameParams(results[2], results[5]) || sameParams(results[5], results[6]) {
		t.Error("the adversarial run trained the generator exactly as the plain one, or feature matching, the grid term or its flatness limit changed nothing")
	}
}

// TestGANFloor: with -gan-floor the discriminator learns only at steps
// where its loss reaches the floor: above any loss it never moves and its
// optimizer never steps, at 0 it learns at every step; the log says how
// often it learned.
func TestGANFloor(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 40, 40, 3)
	for _, c := range []struct {
		floor  string
		learns int    // optimizer steps in 4 steps
		logged string // in each report
	}{
		{"0", 4, ""},
		{"100", 0, "D learned at 0 of 2 steps"},
	} {
		var discs [][][]float32
		for _, steps := range []string{"2", "4"} {
			dir := t.TempDir()
			ckpt := filepath.Join(dir, "run.ckpt")
			code, stdout, stderr := runCmd(fitArgs(data, filepath.Join(dir, "w.gob"), "-preset", "ecb-m4c16", "-loss", "l1", "-steps", steps, "-val-every", "2",
				"-gan", "relativistic", "-gan-d", "4,4", "-gan-floor", c.floor, "-checkpoint", ckpt)...)
			if code != 0 {
				t.Fatalf("floor %s: %s", c.floor, stderr)
			}
			if c.logged != "" && !strings.Contains(stdout, c.logged) {
				t.Errorf("floor %s: the log does not say %q:\n%s", c.floor, c.logged, stdout)
			}
			ck, err := training.ReadCheckpoint(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			if steps == "4" && ck.DiscAdamStep-1 != c.learns { // spago's Adam counts from 1
				t.Errorf("floor %s: the discriminator's optimizer stepped %d times in 4 steps, want %d", c.floor, ck.DiscAdamStep-1, c.learns)
			}
			discs = append(discs, ck.Disc)
		}
		if moved := !sameParams(discs[0], discs[1]); moved != (c.learns > 0) {
			t.Errorf("floor %s: the discriminator moved between steps 2 and 4: %v, want %v", c.floor, moved, c.learns > 0)
		}
	}
}

// TestLowResFit: a re-parameterized network at the input's resolution
// learns, its weights file holds the collapsed x2 network, and a x4 run
// starts from the x2 checkpoint's head and body.
func TestLowResFit(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 3, 48, 48, 7)
	dir := t.TempDir()
	x2 := filepath.Join(dir, "x2.gob")
	for _, tc := range []struct {
		name, act, anchor string
	}{{"x2", "relu", "bicubic"}, {"x2-prelu-repeat", "prelu", "repeat"}} {
		out := filepath.Join(dir, tc.name+".gob")
		code, stdout, stderr := runCmd(fitArgs(data, out, "-preset", "ecb-m4c16", "-loss", "l1", "-steps", "40", "-val-every", "20", "-lr", "2e-3", "-val", data,
			"-act", tc.act, "-anchor", tc.anchor)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		var psnr []float64
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var v float64
			if i := strings.Index(line, "val "); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "val %f dB", &v); err == nil {
					psnr = append(psnr, v)
				}
			}
		}
		if len(psnr) != 2 || !(psnr[1] > psnr[0]) {
			t.Fatalf("%s: validation PSNR %v: want two reports, rising\n%s", tc.name, psnr, stdout)
		}
		m, wf, err := network.LoadWeightsFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if m.Branches != nil || wf.Config.Shuffle != 2 || wf.Scale != 2 || m.Config.PReLU() != (tc.act == "prelu") || m.Config.RepeatAnchor() != (tc.anchor == "repeat") {
			t.Fatalf("%s: weights hold %+v", tc.name, wf.Config)
		}
	}
	x4 := filepath.Join(dir, "x4.gob")
	code, _, stderr := runCmd(fitArgs(data, x4, "-preset", "ecb-m4c16", "-scale", "4", "-steps", "1", "-init", filepath.Join(dir, "x2.ckpt"))...)
	if code != 0 || !strings.Contains(stderr, "initialised 5 of 6 layers") {
		t.Fatalf("x4 from the x2 checkpoint: exit %d: %s", code, stderr)
	}
	if code, _, stderr = runCmd(fitArgs(data, x4, "-preset", "ecb-m4c16", "-scale", "4", "-steps", "1", "-init", x2)...); code == 0 || !strings.Contains(stderr, "checkpoint") {
		t.Errorf("x4 from a collapsed weights file: exit %d: %s", code, stderr)
	}
}

func TestInterruptWritesCheckpointAndResumes(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 40, 40, 4)
	dir := t.TempDir()
	out := filepath.Join(dir, "w.gob")
	args := fitArgs(data, out, "-steps", "100000", "-val-every", "2")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TRAIN_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "w.ckpt")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interrupted run exited with %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted at step") {
		t.Fatalf("no interruption message: %s", stderr.String())
	}
	var step int
	if _, err := fmtSscanfStep(stderr.String(), &step); err != nil {
		t.Fatal(err)
	}
	// Resume to a few steps past the interruption, and compare with a run
	// that went there directly.
	target := step + 3
	if code, _, e := runCmd(fitArgs(data, out, "-steps", itoa(target), "-val-every", "2", "-resume")...); code != 0 {
		t.Fatal(e)
	}
	direct := filepath.Join(t.TempDir(), "w.gob")
	if code, _, e := runCmd(fitArgs(data, direct, "-steps", itoa(target), "-val-every", "2")...); code != 0 {
		t.Fatal(e)
	}
	if !sameParams(loadParams(t, out), loadParams(t, direct)) {
		t.Fatal("interrupted and resumed run differs from a direct one")
	}
}

func TestNaNGuard(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 40, 40, 5)
	out := filepath.Join(t.TempDir(), "w.gob")
	code, _, stderr := runCmd(fitArgs(data, out, "-steps", "50", "-val-every", "1", "-lr", "1e30", "-residual=false")...)
	if code != 1 || !strings.Contains(stderr, "the loss became") || !strings.Contains(stderr, "last good checkpoint") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestEvalPairs: a folder with LR/ and HR/ is read as given pairs: each LR
// image enlarged as it is, against its HR image cropped to its size times
// the scale; with NIQE for the outputs and the originals.
func TestEvalPairs(t *testing.T) {
	dir := t.TempDir()
	hr, lr := filepath.Join(dir, "HR"), filepath.Join(dir, "LR")
	os.Mkdir(hr, 0o755)
	os.Mkdir(lr, 0o755)
	trainingtest.WriteNoiseImages(t, hr, 2, 202, 197, 21) // cropped to 200x196
	for _, name := range []string{"imga.png", "imgb.png"} {
		planes, err := training.LoadPlanes(filepath.Join(hr, name), 3)
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewNRGBA(image.Rect(0, 0, 100, 98))
		for c := range planes {
			// A "camera" shrink: area averaging, not the bicubic eval makes.
			small := imaging.Resize(planes[c].Crop(200, 196), 100, 98, imaging.Nearest)
			for i, v := range small.Pix {
				img.Pix[4*i+c] = uint8(imaging.Round8(v))
			}
		}
		for i := 3; i < len(img.Pix); i += 4 {
			img.Pix[i] = 255
		}
		f, _ := os.Create(filepath.Join(lr, name))
		png.Encode(f, img)
		f.Close()
	}
	code, stdout, stderr := runCmd("eval", "-scale", "2", "-json", dir)
	if code != 0 {
		t.Fatal(stderr)
	}
	var res struct {
		Sets []setResult `json:"sets"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Sets) != 1 {
		t.Fatalf("%v: %s", err, stdout)
	}
	r := res.Sets[0]
	if !r.Pairs || r.Images != 2 || r.Name != filepath.Base(dir) {
		t.Fatalf("not read as 2 pairs: %+v", r)
	}
	// Area-shrunk pairs: bicubic does worse than on its own shrink, but
	// far better than chance; every output and the original have a NIQE.
	for _, m := range []string{"bicubic", "srcnn"} {
		if s := r.Methods[m]; !(s.PSNR > 20 && s.NIQE > 0) {
			t.Errorf("%s: %+v", m, s)
		}
	}
	if s := r.Methods["original"]; !(s.NIQE > 0) {
		t.Errorf("original: %+v", s)
	}
	// fit -degrade trains a strength network on the real-photo model and
	// validates on the pairs too.
	w := filepath.Join(t.TempDir(), "w.gob")
	code, stdout, e := runCmd(fitArgs(hr, w, "-preset", "ecb-m4c16", "-strength", "-degrade", "-val", hr, "-val-pairs", dir,
		"-val-strength", "0.4", "-steps", "2", "-val-every", "2")...)
	if code != 0 || !strings.Contains(stdout, filepath.Base(dir)+" at 0.40") {
		t.Fatalf("fit -degrade: exit %d, %s %s", code, stdout, e)
	}
	if m, _, err := network.LoadWeightsFile(w); err != nil || !m.Config.Strength {
		t.Fatalf("fit -degrade wrote %v (%v)", m, err)
	}
	// fit trains on the pairs themselves: their LR images as they are.
	code, _, e = runCmd(fitArgs(dir, w, "-preset", "ecb-m4c16", "-strength", "-pairs-strength", "0.3", "-steps", "2")...)
	if code != 0 || !strings.Contains(e, "2 of the 2 training images are given LR/HR pairs") {
		t.Fatalf("fit on pairs: exit %d, %s", code, e)
	}
	code, _, e = runCmd(fitArgs(dir, w, "-preset", "estimator-c8", "-estimator", "-degrade", "-steps", "2")...)
	if code != 2 || !strings.Contains(e, "given LR/HR pairs have none") {
		t.Errorf("fit -estimator on pairs: exit %d, %s", code, e)
	}
	if code, _, e := runCmd("eval", "-scale", "2", "-jpeg", "50", dir); code == 0 || !strings.Contains(e, "given LR/HR pairs") {
		t.Errorf("-jpeg on pairs: exit %d, %q", code, e)
	}
	// An LR image without its HR image, or too large for it, is an error.
	os.Remove(filepath.Join(lr, "imgb.png"))
	if code, _, e := runCmd("eval", "-scale", "2", dir); code == 0 || !strings.Contains(e, "imgb.png") {
		t.Errorf("a missing LR image: exit %d, %q", code, e)
	}
}

func TestEvalJSONAndUpscale(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 40, 40, 6)
	w := filepath.Join(t.TempDir(), "w.gob")
	if code, _, e := runCmd(fitArgs(data, w, "-steps", "4", "-val-every", "4", "-scale", "2")...); code != 0 {
		t.Fatal(e)
	}
	if code, out, e := runCmd("info", w); code != 0 || !strings.Contains(out, "parameters  8129") || !strings.Contains(out, "srcnn-915") {
		t.Errorf("info: exit %d, %q %q", code, out, e)
	}
	if code, _, e := runCmd("info", data+"/imga.png"); code != 1 || !strings.Contains(e, "not a weights file") {
		t.Errorf("info on an image: exit %d, %q", code, e)
	}
	code, stdout, stderr := runCmd("eval", "-scale", "2", "-weights", w, "-json", data)
	if code != 0 {
		t.Fatal(stderr)
	}
	var res struct {
		Sets []setResult `json:"sets"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Sets) != 1 || res.Sets[0].Images != 2 || len(res.Sets[0].Methods) != 5 {
		t.Fatalf("unexpected JSON: %s", stdout)
	}
	if n := res.Sets[0].Methods["bicubic"].NIQE; n != 0 {
		t.Errorf("NIQE %g for 80x80 outputs, which have no two 96x96 blocks", n)
	}
	for _, m := range methodOrder[:4] {
		if s := res.Sets[0].Methods[m]; !(s.PSNR > 10 && s.SSIM > 0 && s.SSIM <= 1) {
			t.Errorf("%s: %+v", m, s)
		}
	}
	// -jpeg: the same images, their LR saved as JPEG first, score lower.
	code, stdout, stderr = runCmd("eval", "-scale", "2", "-weights", w, "-json", "-jpeg", "20", data)
	var jres struct {
		Sets []setResult `json:"sets"`
	}
	if err := json.Unmarshal([]byte(stdout), &jres); code != 0 || err != nil || len(jres.Sets) != 1 || jres.Sets[0].JPEG != 20 {
		t.Fatalf("eval -jpeg: exit %d, %v: %s %s", code, err, stdout, stderr)
	}
	for _, m := range []string{"nearest", "bilinear", "bicubic"} { // the 4-step model is no reference
		if clean, lossy := res.Sets[0].Methods[m].PSNR, jres.Sets[0].Methods[m].PSNR; !(lossy < clean-0.5) {
			t.Errorf("%s: %.2f dB with the LR as JPEG q20, %.2f without", m, lossy, clean)
		}
	}
	// Without weights it reports the interpolations and says so.
	code, stdout, stderr = runCmd("eval", "-scale", "3", "-model", "portrait", data)
	if code != 0 || !strings.Contains(stderr, "no portrait model ships for x3") || strings.Contains(stdout, "srcnn") || !strings.Contains(stdout, "bicubic") {
		t.Errorf("eval without weights: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Upscale, then check the output and the bad inputs.
	dir := t.TempDir()
	in := filepath.Join(data, "imga.png")
	out := filepath.Join(dir, "out.png")
	if code, _, e := runCmd("upscale", "-weights", w, "-quiet", in, out); code != 0 {
		t.Fatal(e)
	}
	f, _ := os.Open(out)
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 80 || img.Bounds().Dy() != 80 {
		t.Fatalf("output: %v, %v", img.Bounds(), err)
	}
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("just text"), 0o644)
	truncated := filepath.Join(dir, "cut.png")
	whole, _ := os.ReadFile(in)
	os.WriteFile(truncated, whole[:len(whole)/2], 0o644)
	badWeights := filepath.Join(dir, "bad.gob")
	os.WriteFile(badWeights, whole, 0o644)
	unwritable := filepath.Join(dir, "no", "such", "dir", "x.png")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"upscale", "-weights", w, notImage, filepath.Join(dir, "a.png")}, "not an image"},
		{[]string{"upscale", "-weights", w, truncated, filepath.Join(dir, "b.png")}, "corrupt or truncated"},
		{[]string{"upscale", "-weights", w, "-max-mp", "0.001", in, filepath.Join(dir, "c.png")}, "over the limit"},
		{[]string{"upscale", "-weights", w, filepath.Join(dir, "missing.png"), filepath.Join(dir, "d.png")}, "no such file"},
		{[]string{"upscale", "-weights", w, in, unwritable}, "no such file"},
		{[]string{"upscale", "-weights", w, in, filepath.Join(dir, "e.gif")}, "output format"},
		{[]string{"upscale", "-weights", badWeights, in, filepath.Join(dir, "f.png")}, "not a weights file"},
		{[]string{"upscale", "-weights", w, "-scale", "3", in, filepath.Join(dir, "g.png")}, "trained for x2"},
	}
	for _, tc := range cases {
		code, _, stderr := runCmd(tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line mentioning %q", tc.args[len(tc.args)-2:], code, stderr, tc.want)
		}
	}
	// No output, partial or otherwise, was left behind by the failures.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case "out.png", "notes.png", "cut.png", "bad.gob":
		default:
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestUpscaleBatch: inputs and folders into an output folder; a corrupt
// file gets its one line and does not stop the others; existing outputs
// are skipped unless -overwrite; -format jpg writes JPEGs.
func TestUpscaleBatch(t *testing.T) {
	in := t.TempDir()
	trainingtest.WriteNoiseImages(t, in, 2, 40, 36, 8)
	os.WriteFile(filepath.Join(in, "broken.jpg"), []byte("\xff\xd8\xff\xe0 not a jpeg"), 0o644)
	os.WriteFile(filepath.Join(in, "readme.txt"), []byte("not an image name"), 0o644)
	w := filepath.Join(t.TempDir(), "w.gob")
	if code, _, e := runCmd(fitArgs(in, w, "-steps", "1")...); code != 0 {
		t.Fatal(e)
	}
	out := filepath.Join(t.TempDir(), "new", "folder")
	code, _, stderr := runCmd("upscale", "-weights", w, "-quiet", in, out)
	if code != 1 || strings.Count(stderr, "\n") != 2 || !strings.Contains(stderr, "broken.jpg") || !strings.Contains(stderr, "1 of 3 images failed") {
		t.Fatalf("batch with a corrupt file: exit %d, stderr %q", code, stderr)
	}
	names := func() []string {
		es, _ := os.ReadDir(out)
		var ns []string
		for _, e := range es {
			ns = append(ns, e.Name())
		}
		return ns
	}
	if got := fmt.Sprint(names()); got != "[imga-x2.png imgb-x2.png]" {
		t.Fatalf("outputs %s", got)
	}
	stamp := func() time.Time { st, _ := os.Stat(filepath.Join(out, "imga-x2.png")); return st.ModTime() }
	before := stamp()
	time.Sleep(20 * time.Millisecond)
	one := filepath.Join(in, "imga.png")
	code, _, stderr = runCmd("upscale", "-weights", w, "-quiet", one, out)
	if code != 0 || !strings.Contains(stderr, "skipping") || !stamp().Equal(before) {
		t.Errorf("existing output: exit %d, stderr %q, rewritten %v", code, stderr, !stamp().Equal(before))
	}
	if code, _, stderr = runCmd("upscale", "-weights", w, "-quiet", "-overwrite", one, out); code != 0 || stamp().Equal(before) {
		t.Errorf("-overwrite: exit %d, stderr %q, rewritten %v", code, stderr, !stamp().Equal(before))
	}
	code, _, stderr = runCmd("upscale", "-weights", w, "-quiet", "-format", "jpg", "-quality", "80", one, filepath.Join(in, "imgb.png"), out)
	if code != 0 {
		t.Fatalf("-format jpg: exit %d, %s", code, stderr)
	}
	for _, n := range []string{"imga-x2.jpg", "imgb-x2.jpg"} {
		data, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || len(data) < 3 || string(data[:3]) != "\xff\xd8\xff" {
			t.Errorf("%s: not a JPEG (%v)", n, err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-format", "gif", one, out}, "-format"},
		{[]string{"-quality", "0", one, out}, "-quality"},
		{[]string{one, one, filepath.Join(in, "imgb.png")}, "must be a folder"},
	} {
		code, _, stderr := runCmd(append([]string{"upscale", "-weights", w, "-quiet"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error about %s", tc.args, code, stderr, tc.want)
		}
	}
}

// TestUpscaleDenoise: -denoise auto reads a JPEG's quality and says what
// it chose; on a PNG it gives exactly what none gives; a model without a
// strength input refuses a fixed level.
func TestUpscaleDenoise(t *testing.T) {
	data, w := strengthNet(t, 12)
	// -val-jpeg validates on clean and JPEG inputs and keeps their mean;
	// the JPEG inputs at the strength auto reads from them, as eval does.
	v := filepath.Join(t.TempDir(), "v.gob")
	code, stdout, e := runCmd(fitArgs(data, v, "-preset", "ecb-m4c16", "-jpeg", "30-90", "-strength",
		"-jpeg-lighter", "0.3", "-val", data, "-val-jpeg", "40", "-steps", "1", "-val-every", "1")...)
	m := regexp.MustCompile(`val [0-9.]+ dB \(clean [0-9.]+, q40 ([0-9.]+)\)`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("fit -val-jpeg: exit %d, %s %s", code, stdout, e)
	}
	code, evalOut, e := runCmd("eval", "-weights", v, "-json", "-jpeg", "40", data)
	var res struct {
		Sets []setResult `json:"sets"`
	}
	if err := json.Unmarshal([]byte(evalOut), &res); code != 0 || err != nil || len(res.Sets) != 1 {
		t.Fatalf("eval: exit %d, %v: %s", code, err, e)
	}
	if got := fmt.Sprintf("%.3f", res.Sets[0].Methods["srcnn"].PSNR); got != m[1] {
		t.Errorf("fit validated q40 at %s dB, eval -jpeg 40 (auto) gives %s", m[1], got)
	}
	src, _ := os.Open(filepath.Join(data, "imga.png"))
	img, _ := png.Decode(src)
	src.Close()
	jpg := filepath.Join(data, "photo.jpg")
	f, _ := os.Create(jpg)
	jpeg.Encode(f, img, &jpeg.Options{Quality: 50})
	f.Close()
	out := t.TempDir()
	up := func(in, name string, extra ...string) ([]byte, string) {
		t.Helper()
		args := append([]string{"upscale", "-weights", w, "-quiet"}, extra...)
		code, _, stderr := runCmd(append(args, in, filepath.Join(out, name))...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", extra, code, stderr)
		}
		b, _ := os.ReadFile(filepath.Join(out, name))
		return b, stderr
	}
	auto, said := up(jpg, "auto.png")
	if !strings.Contains(said, "JPEG quality about 50") || !strings.Contains(said, "restore 0.71 (high) for JPEG artifacts") {
		t.Errorf("auto on a q50 JPEG said %q", said)
	}
	same, _ := up(jpg, "same.png", "-denoise", fmt.Sprint(core.StrengthForQuality(50)))
	none, _ := up(jpg, "none.png", "-denoise", "none")
	if !bytes.Equal(auto, same) || bytes.Equal(auto, none) {
		t.Errorf("auto equals the strength it named: %v; differs from none: %v", bytes.Equal(auto, same), !bytes.Equal(auto, none))
	}
	// eval -denoise: auto is the strength the quality names, none is not.
	evalNet := func(denoise string) float64 {
		t.Helper()
		code, stdout, stderr := runCmd("eval", "-weights", w, "-json", "-jpeg", "50", "-denoise", denoise, data)
		var res struct {
			Sets []setResult `json:"sets"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); code != 0 || err != nil || len(res.Sets) != 1 {
			t.Fatalf("eval -denoise %s: exit %d, %v: %s", denoise, code, err, stderr)
		}
		return res.Sets[0].Methods["srcnn"].PSNR
	}
	if a, s, n := evalNet("auto"), evalNet(fmt.Sprint(core.StrengthForQuality(50))), evalNet("none"); a != s || a == n {
		t.Errorf("eval -jpeg 50: auto %.4f dB, its strength %.4f, none %.4f", a, s, n)
	}
	pngIn := filepath.Join(data, "imgb.png")
	autoPNG, said := up(pngIn, "auto-png.png")
	nonePNG, _ := up(pngIn, "none-png.png", "-denoise", "none")
	if !bytes.Equal(autoPNG, nonePNG) || said != "" {
		t.Errorf("auto on a PNG: same as none %v, said %q", bytes.Equal(autoPNG, nonePNG), said)
	}
	plain := filepath.Join(t.TempDir(), "plain.gob")
	if code, _, e := runCmd(fitArgs(data, plain, "-steps", "1")...); code != 0 {
		t.Fatal(e)
	}
	for _, tc := range []struct {
		weights, denoise, want string
	}{{plain, "medium", "no restoration control"}, {w, "1.5", "-denoise"}, {w, "strong", "-denoise"}} {
		code, _, stderr := runCmd("upscale", "-weights", tc.weights, "-quiet", "-denoise", tc.denoise, jpg, filepath.Join(out, "x.png"))
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("-denoise %s: exit %d, %q", tc.denoise, code, stderr)
		}
	}
	if code, _, stderr := runCmd("upscale", "-weights", plain, "-quiet", jpg, filepath.Join(out, "plain.png")); code != 0 || stderr != "" {
		t.Errorf("auto with a model without strength: exit %d, %q", code, stderr)
	}
	// A clean network with a JPEG-aware one beside it: the clean one runs
	// on clean inputs and at none, the JPEG-aware one above 0.
	run := func(in, name string, args ...string) ([]byte, string) {
		t.Helper()
		code, _, stderr := runCmd(append(append([]string{"upscale", "-quiet"}, args...), in, filepath.Join(out, name))...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, stderr)
		}
		b, _ := os.ReadFile(filepath.Join(out, name))
		return b, stderr
	}
	pair := []string{"-weights", plain, "-denoise-weights", w}
	cleanJPEG, _ := run(jpg, "clean-jpg.png", "-weights", plain)
	cleanPNG, _ := run(pngIn, "clean-png.png", "-weights", plain)
	for _, c := range []struct {
		name, in, denoise string
		want              []byte
		said              string
	}{
		{"auto on a PNG runs the clean network", pngIn, "auto", cleanPNG, ""},
		{"none on a JPEG runs the clean network", jpg, "none", cleanJPEG, ""},
		{"auto on a JPEG runs the JPEG-aware one", jpg, "auto", auto, "restore 0.71 (high) for JPEG artifacts"},
	} {
		got, said := run(c.in, "pair.png", append(pair, "-denoise", c.denoise)...)
		if !bytes.Equal(got, c.want) || !strings.Contains(said, c.said) || (c.said == "" && said != "") {
			t.Errorf("%s: same pixels %v, said %q", c.name, bytes.Equal(got, c.want), said)
		}
	}
	if code, _, stderr := runCmd("upscale", "-quiet", "-weights", plain, "-denoise-weights", plain, jpg, filepath.Join(out, "x.png")); code == 0 || !strings.Contains(stderr, "no strength input") {
		t.Errorf("-denoise-weights without a strength input: exit %d, %q", code, stderr)
	}
	// The shipped portrait model runs its companion (weights.Companion:
	// general's JPEG-aware network while it has none of its own), as if
	// named by the flags.
	companion, ok := weights.Companion(weights.FS, "portrait", 2)
	if !ok {
		t.Fatal("no JPEG-aware network ships for portrait x2")
	}
	shipped, said := run(jpg, "portrait.png", "-model", "portrait")
	named, _ := run(jpg, "named.png", "-weights", "../weights/portrait-x2.gob", "-denoise-weights", "../weights/"+companion)
	cleanPortrait, _ := run(jpg, "portrait-none.png", "-model", "portrait", "-denoise", "none")
	if !bytes.Equal(shipped, named) || bytes.Equal(shipped, cleanPortrait) || !strings.Contains(said, "restore 0.71") {
		t.Errorf("portrait on a JPEG: same as general's JPEG-aware network %v, differs from none %v, said %q",
			bytes.Equal(shipped, named), !bytes.Equal(shipped, cleanPortrait), said)
	}
}

// TestUpscaleExactSize: -width and -height give that size exactly, from
// the smallest scale that reaches it (shrunk with the antialiased bicubic),
// and name batch outputs by it; a size beyond the model's scale is refused.
func TestUpscaleExactSize(t *testing.T) {
	in := t.TempDir()
	trainingtest.WriteNoiseImages(t, in, 2, 40, 36, 13)
	w := filepath.Join(t.TempDir(), "w.gob")
	if code, _, e := runCmd(fitArgs(in, w, "-steps", "1")...); code != 0 {
		t.Fatal(e)
	}
	out := t.TempDir()
	size := func(path string) image.Point {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return img.Bounds().Size()
	}
	one := filepath.Join(in, "imga.png")
	for _, tc := range []struct {
		args []string
		file string
		want image.Point
	}{
		{[]string{"-weights", w, "-width", "70", one, filepath.Join(out, "a.png")}, "a.png", image.Pt(70, 63)},
		{[]string{"-weights", w, "-height", "50", "-width", "33", one, filepath.Join(out, "b.png")}, "b.png", image.Pt(33, 50)},
		{[]string{"-width", "150", one, filepath.Join(out, "c.png")}, "c.png", image.Pt(150, 135)}, // the shipped x4
		{[]string{"-weights", w, "-width", "60", in, out}, "imgb-w60.png", image.Pt(60, 54)},
	} {
		if code, _, stderr := runCmd(append([]string{"upscale", "-quiet"}, tc.args...)...); code != 0 {
			t.Fatalf("%v: exit %d, %s", tc.args, code, stderr)
		}
		if got := size(filepath.Join(out, tc.file)); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.args, got, tc.want)
		}
	}
	if code, _, stderr := runCmd("upscale", "-quiet", "-weights", w, "-width", "100", one, filepath.Join(out, "d.png")); code != 1 || !strings.Contains(stderr, "more than 2 times") {
		t.Errorf("beyond the scale: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCmd("upscale", "-quiet", "-width", "-3", one, filepath.Join(out, "e.png")); code != 2 {
		t.Errorf("a negative width: exit %d, %q", code, stderr)
	}
}

// TestUpscaleFromAnotherFolder: the shipped weights are inside the program,
// so it upscales from any working directory without -weights.
func TestUpscaleFromAnotherFolder(t *testing.T) {
	in := t.TempDir()
	trainingtest.WriteNoiseImages(t, in, 1, 20, 16, 9)
	cmd := exec.Command(os.Args[0], "upscale", "-quiet", "-scale", "3", "imga.png", "out.png")
	cmd.Dir = in
	cmd.Env = append(os.Environ(), "TRAIN_TEST_MAIN=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(filepath.Join(in, "out.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 60 || img.Bounds().Dy() != 48 {
		t.Fatalf("output %v, %v", img.Bounds(), err)
	}
}

func fmtSscanf(line string, step *int, epoch, loss *float64) (int, error) {
	return fmt.Sscanf(line, "step %d  epoch %g  loss %g", step, epoch, loss)
}

func fmtSscanfStep(stderr string, step *int) (int, error) {
	i := strings.Index(stderr, "interrupted at step")
	if i < 0 {
		return 0, fmt.Errorf("no step in %q", stderr)
	}
	return fmt.Sscanf(stderr[i:], "interrupted at step %d", step)
}

func itoa(i int) string { return fmt.Sprint(i) }

// TestUpscaleEstimator: with an estimator and a real-photo network (or a
// network that reads a strength itself), auto reads a PNG's pixels too,
// says what it read, and runs that network at core.RestoreStrength: the
// pixels -denoise with that strength gives; without one it reads the file
// alone.
func TestUpscaleEstimator(t *testing.T) {
	data, w := strengthNet(t, 31)
	// An estimator that reads every image as 0.7 (degraded at x2 as at x4).
	m := trainingtest.ConstantEstimator(t, 0.7)
	est := filepath.Join(t.TempDir(), "est.gob")
	f, _ := os.Create(est)
	if err := network.SaveWeights(f, m, 2, network.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, out := filepath.Join(data, "imga.png"), t.TempDir()
	run := func(name string, extra ...string) ([]byte, string) {
		t.Helper()
		args := append([]string{"upscale", "-quiet", "-weights", w, "-denoise-weights", w, "-restore-weights", w}, extra...)
		code, _, stderr := runCmd(append(args, in, filepath.Join(out, name))...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", extra, code, stderr)
		}
		b, _ := os.ReadFile(filepath.Join(out, name))
		return b, stderr
	}
	auto, said := run("auto.png", "-estimator-weights", est)
	if !strings.Contains(said, "looks degraded (0.70): restore 0.50 (medium) for blur and noise") {
		t.Errorf("auto with the estimator said %q", said)
	}
	fixed, _ := run("fixed.png", "-denoise", "0.5")
	plain, _ := run("plain.png", "-estimator-weights", "none")
	if !bytes.Equal(auto, fixed) || bytes.Equal(auto, plain) {
		t.Errorf("auto with the estimator: the pixels of -denoise 0.5 %v, of auto without it %v", bytes.Equal(auto, fixed), bytes.Equal(auto, plain))
	}
	// A network that reads a strength, given alone, restores blur and
	// noise itself (as a Detailed network trained on real-photo
	// degradations does): the same reading and pixels.
	alone, said := run("alone.png", "-restore-weights", "", "-denoise-weights", "", "-estimator-weights", est)
	if !strings.Contains(said, "looks degraded (0.70)") || !bytes.Equal(alone, fixed) {
		t.Errorf("a strength network alone: said %q, the pixels of -denoise 0.5 %v", said, bytes.Equal(alone, fixed))
	}
	// Without a network that restores blur and noise (a clean network and
	// a JPEG-aware one) the pixels are not read: auto is the file's
	// reading alone.
	clean := filepath.Join(t.TempDir(), "clean.gob")
	if code, _, e := runCmd(fitArgs(data, clean, "-preset", "ecb-m4c16", "-steps", "1")...); code != 0 {
		t.Fatal(e)
	}
	code, _, said := runCmd("upscale", "-quiet", "-weights", clean, "-denoise-weights", w, "-estimator-weights", est, in, filepath.Join(out, "norestore.png"))
	noRestore, _ := os.ReadFile(filepath.Join(out, "norestore.png"))
	code2, _, _ := runCmd("upscale", "-quiet", "-weights", clean, "-denoise-weights", w, "-estimator-weights", "none", in, filepath.Join(out, "cleanplain.png"))
	cleanPlain, _ := os.ReadFile(filepath.Join(out, "cleanplain.png"))
	if code != 0 || code2 != 0 || said != "" || !bytes.Equal(noRestore, cleanPlain) {
		t.Errorf("auto without a network that restores: exit %d, said %q, the pixels of auto without the estimator %v", code, said, bytes.Equal(noRestore, cleanPlain))
	}
	if code, _, e := runCmd("upscale", "-quiet", "-estimator-weights", w, in, filepath.Join(out, "x.png")); code == 0 || !strings.Contains(e, "not a degradation estimator") {
		t.Errorf("-estimator-weights with a strength network: exit %d, %q", code, e)
	}
}

// TestExport: train export writes the checkpoint's own step (not the run's
// pick by validation) with its run's record, info says so, and a missing
// or damaged checkpoint is a clear error that writes nothing.
func TestExport(t *testing.T) {
	data := t.TempDir()
	trainingtest.WriteNoiseImages(t, data, 2, 48, 48, 4)
	dir := t.TempDir()
	best := filepath.Join(dir, "w.gob")
	// Validation every 20 steps: the run keeps its best, the checkpoint its last step.
	if code, _, stderr := runCmd(fitArgs(data, best, "-steps", "30", "-val", data, "-val-every", "10", "-lr", "3e-2")...); code != 0 {
		t.Fatal(stderr)
	}
	exported := filepath.Join(dir, "step30.gob")
	if code, _, stderr := runCmd("export", "-checkpoint", filepath.Join(dir, "w.ckpt"), "-out", exported); code != 0 {
		t.Fatal(stderr)
	}
	c, err := training.ReadCheckpoint(filepath.Join(dir, "w.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameParams(loadParams(t, exported), c.Params) {
		t.Error("the exported weights are not the checkpoint's")
	}
	_, info, _ := runCmd("info", exported)
	if !strings.Contains(info, "not scored: step 30 exported from its checkpoint") || !strings.Contains(info, "-steps 30") || strings.Contains(info, "(0.0 epochs") {
		t.Errorf("info of the exported file:\n%s", info)
	}
	// A weights file again, now sharpening its output: the same weights and
	// record, and info says what the mask costs.
	sharp := filepath.Join(dir, "sharp.gob")
	if code, _, stderr := runCmd("export", "-weights", exported, "-sharpen", "0.3,2", "-out", sharp); code != 0 {
		t.Fatal(stderr)
	}
	m, wf, err := network.LoadWeightsFile(sharp)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Sharpen != (imaging.UnsharpMask{Amount: 0.3, Sigma: 2}) || !sameParams(loadParams(t, sharp), c.Params) || wf.Training.Steps != 30 {
		t.Errorf("re-exported with a mask: %+v, steps %d", m.Config.Sharpen, wf.Training.Steps)
	}
	if _, info, _ := runCmd("info", sharp); !strings.Contains(info, "unsharp mask 0.30, sigma 2 output pixels (26 more multiply-adds") {
		t.Errorf("info of the sharpening file:\n%s", info)
	}
	os.WriteFile(filepath.Join(dir, "bad.ckpt"), []byte("not a checkpoint"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-checkpoint", filepath.Join(dir, "bad.ckpt"), "-out", filepath.Join(dir, "x.gob")}, 1, "not a readable checkpoint"},
		{[]string{"-checkpoint", filepath.Join(dir, "none.ckpt"), "-out", filepath.Join(dir, "x.gob")}, 1, "no such file"},
		{[]string{"-checkpoint", filepath.Join(dir, "w.ckpt")}, 2, "name -checkpoint or -weights, and -out"},
		{[]string{"-checkpoint", filepath.Join(dir, "w.ckpt"), "-weights", exported, "-out", filepath.Join(dir, "x.gob")}, 2, "name -checkpoint or -weights"},
		{[]string{"-weights", exported, "-sharpen", "3,2", "-out", filepath.Join(dir, "x.gob")}, 2, "unsharp mask amount 3"},
		{[]string{"-weights", exported, "-sharpen", "strong", "-out", filepath.Join(dir, "x.gob")}, 2, "want AMOUNT,SIGMA"},
		{[]string{"-weights", filepath.Join(dir, "bad.ckpt"), "-out", filepath.Join(dir, "x.gob")}, 1, "not a weights file"},
	} {
		code, _, stderr := runCmd(append([]string{"export"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gob")); err == nil {
		t.Error("a failed export wrote its output")
	}
}
