package main

// Tests in a real browser: Debian's Chromium, headless, driven by chromedp
// against the server of `go run .` (and a static export). They skip when no
// Chromium is installed, unless UPSCALER_REQUIRE_BROWSER=1 (as in CI).

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"golang.org/x/image/webp"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

// chromium returns the browser to drive, or skips the test.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("UPSCALER_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found, and UPSCALER_REQUIRE_BROWSER=1: install it with apt-get install -y chromium")
	}
	t.Skip("skipping browser test: no Chromium found (apt-get install -y chromium to run it)")
	return ""
}

// browser starts a headless Chromium with a fresh profile; console errors
// and uncaught exceptions are collected.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string // console errors and uncaught exceptions
	all    []string // every console message, for failure reports
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	return startBrowser(t, chromedp.DisableGPU)
}

// newWebGPUBrowser is newBrowser with WebGPU on SwiftShader, Chromium's
// GPU on the CPU: correct, and slow.
func newWebGPUBrowser(t testing.TB) *browser {
	t.Helper()
	return startBrowser(t, chromedp.Flag("enable-unsafe-webgpu", true), chromedp.Flag("use-webgpu-adapter", "swiftshader"))
}

func startBrowser(t testing.TB, gpu ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	opts = append(opts, gpu...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	b := &browser{ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			b.report(t)
		}
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.all = append(b.all, m.String())
			if m.IsException() || m.Type == "error" {
				b.errors = append(b.errors, m.String())
			}
			b.mu.Unlock()
		}
	}()
	return b
}

// report logs what the page showed and said, to explain a failure.
func (b *browser) report(t testing.TB) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({status: document.getElementById("status")?.textContent,
		alert: document.getElementById("alert")?.textContent, progress: document.getElementById("progress")?.getAttribute("aria-valuetext")})`))
	t.Logf("page state: %s", state)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.all {
		t.Logf("console: %s", m)
	}
}

// enhanceSteps chooses an image file and enhances it, waiting for the
// Download link.
func enhanceSteps(file string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		waitJS(`!document.getElementById("enhance").disabled`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`!document.getElementById("download").hidden`),
	)
}

// do runs steps in the browser's tab.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) error {
	return chromedp.Do(b.ctx, steps...)
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	v, _ := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	return v
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// requestLog wraps a handler and records every request.
type requestLog struct {
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, fmt.Sprintf("%s %s %d %s", r.Method, r.URL.Path, r.ContentLength, r.Header.Get("Origin")))
	l.mu.Unlock()
	l.h.ServeHTTP(w, r)
}

func (l *requestLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen[n:]...)
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// testImagePNG writes a w x h test picture with soft edges and text-like
// detail, and returns its path.
func testImagePNG(t testing.TB, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8((x * 255) / max(1, w-1))
			img.Pix[i+1] = uint8(((x / 5) ^ (y / 5)) % 2 * 200)
			img.Pix[i+2] = uint8((y * 255) / max(1, h-1))
			img.Pix[i+3] = 255
		}
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// benchPhoto writes a w x h JPEG (quality 92) for benchmarks: a mosaic of
// the held-out real portraits in ../shared/data/val/Faces where they are
// (photo content, as people bring), else testImagePNG's picture.
func benchPhoto(t testing.TB, dir, name string, w, h int) string {
	t.Helper()
	faces, _ := filepath.Glob("../shared/data/val/Faces/*.jpg")
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	decode := func(path string) image.Image {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imaging.Decode(bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	if len(faces) == 0 {
		draw.Draw(img, img.Rect, decode(testImagePNG(t, dir, "synthetic-"+name+".png", w, h)), image.Point{}, draw.Src)
	}
	for i, y := 0, 0; y < h && len(faces) > 0; {
		rowH := 0
		for x := 0; x < w; i++ {
			f := decode(faces[i%len(faces)])
			b := f.Bounds()
			draw.Draw(img, image.Rect(x, y, x+b.Dx(), y+b.Dy()), f, b.Min, draw.Src)
			x += b.Dx()
			rowH = max(rowH, b.Dy())
		}
		y += rowH
	}
	p := filepath.Join(dir, name)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pollTimeout bounds every wait for the page.
var pollTimeout = 90 * time.Second

// waitJS waits until a JavaScript condition holds in the page.
func waitJS(cond string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(pollTimeout))
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := poll(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", cond, err)
		}
		return nil
	})
}

// runJS is a step that runs a JavaScript statement in the page.
func runJS(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js)(ctx, t)
		return err
	})
}

// download clicks the Download link and returns the saved file's name and
// bytes, as a person would get them.
func download(t *testing.T, b *browser) ([]byte, string, error) {
	return downloadFrom(t, b, "#download")
}

// downloadFrom clicks the element the CSS selector names and returns the
// file it saves.
func downloadFrom(t *testing.T, b *browser, selector string) ([]byte, string, error) {
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
	if err != nil {
		return nil, "", err
	}
	if err := b.do(chromedp.Click(chromedp.CSS(selector))); err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(pollTimeout)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".crdownload") {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				return data, e.Name(), err
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("no download within %v", pollTimeout)
}

// nativeUpscale is `train upscale`'s path: decode, enhance, the NRGBA it encodes.
func nativeUpscale(t *testing.T, m *network.Model, scale int, path string, strength float32) *image.NRGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := imaging.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := core.NewEnhancer(m, scale)
	e.Strength = strength
	out, err := e.Image(context.Background(), img, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrowserEnhanceDownloadMatchesNative: the page's download is the
// command line's result pixel for pixel, for a network after bicubic and
// for one at the input's resolution.
func TestBrowserEnhanceDownloadMatchesNative(t *testing.T) {
	withStrength := widenedWithStrength(t, tinyLowResModel(t, 8))
	clean := tinyLowResModel(t, 9)
	restoring := widenedWithStrength(t, tinyLowResModel(t, 12))
	for _, tc := range []matchCase{
		{name: "after-bicubic", model: tinyModel(t, 7)},
		{name: "low-res", model: tinyLowResModel(t, 7)},
		{name: "denoise-high", model: withStrength, jpeg: 50, denoise: "high", strength: 0.8},
		{name: "denoise-auto", model: withStrength, jpeg: 50, denoise: "auto", strength: core.StrengthForQuality(50)},
		// A clean network and its JPEG-aware companion (general-x2-denoise):
		// the companion above strength 0, the clean one at none.
		{name: "companion-auto", model: clean, companion: withStrength, jpeg: 50, denoise: "auto", strength: core.StrengthForQuality(50)},
		{name: "companion-none", model: clean, companion: withStrength, jpeg: 50, denoise: "none"},
		// A portrait network without a JPEG-aware one of its own: general's
		// takes over above strength 0.
		{name: "portrait-companion", shipAs: "portrait", model: clean, companion: withStrength, jpeg: 50, denoise: "auto", strength: core.StrengthForQuality(50)},
		// Look Detailed: its network on a PNG and a light JPEG, the
		// JPEG-aware companion on a hard JPEG at auto, as at Faithful
		// (train upscale -look detailed); and Faithful when a Detailed
		// network ships too.
		{name: "look-detailed", model: clean, companion: withStrength, detailed: tinyLowResModel(t, 11), denoise: "auto", look: "detailed"},
		{name: "look-detailed-jpeg", model: clean, companion: withStrength, detailed: tinyLowResModel(t, 11), jpeg: 50, denoise: "auto", look: "detailed", strength: core.StrengthForQuality(50)},
		{name: "look-detailed-light-jpeg", model: clean, companion: withStrength, detailed: tinyLowResModel(t, 11), jpeg: 90, denoise: "auto", look: "detailed"},
		// A Detailed network that sharpens its output (the x4 ones' finish):
		// the page's tiles, widened by the mask, give the command line's pixels.
		{name: "look-detailed-sharpens", model: clean, companion: withStrength, detailed: sharpening(tinyLowResModel(t, 11)), denoise: "auto", look: "detailed"},
		{name: "look-faithful", model: clean, companion: withStrength, detailed: tinyLowResModel(t, 11), jpeg: 50, denoise: "auto", look: "faithful", strength: core.StrengthForQuality(50)},
		// A Detailed network with a strength input (trained on real-photo
		// degradations) restores blur and noise itself: Auto reads the
		// pixels for it; a hard JPEG still gets the JPEG-aware network.
		{name: "look-detailed-restoring", model: clean, companion: withStrength, detailed: restoring, estimator: 0.7, denoise: "auto", look: "detailed", strength: core.DetailedRestoreStrength,
			reading: "looks degraded (0.70): restore 0.90 (high) for blur and noise"},
		{name: "look-detailed-restoring-jpeg", model: clean, companion: withStrength, detailed: restoring, estimator: 0.7, jpeg: 50, denoise: "auto", look: "detailed", strength: core.StrengthForQuality(50),
			reading: "JPEG quality about 50, looks clean (0.70): restore 0.71 (high) for JPEG artifacts"},
		{name: "look-detailed-restoring-beside-restore", model: clean, companion: withStrength, restore: withStrength, detailed: restoring, estimator: 0.7, denoise: "auto", look: "detailed", strength: core.DetailedRestoreStrength,
			reading: "looks degraded (0.70): restore 0.90 (high) for blur and noise"},
		// A Detailed network without a strength input hands pixels that
		// read as degraded to the real-photo network, as at Faithful.
		{name: "look-detailed-hands-on", model: clean, companion: withStrength, restore: restoring, detailed: tinyLowResModel(t, 11), estimator: 0.7, denoise: "auto", look: "detailed", strength: core.RestoreStrength,
			reading: "looks degraded (0.70): restore 0.50 (medium) for blur and noise"},
		{name: "look-detailed-clean-beside-restore", model: clean, companion: withStrength, restore: restoring, detailed: tinyLowResModel(t, 11), estimator: 0.3, denoise: "auto", look: "detailed", reading: "none"},
		// Restore: Auto reads a PNG's pixels as degraded (the estimator
		// says 0.7) and runs the real-photo network at core.RestoreStrength;
		// a q50 JPEG keeps the JPEG-aware one (at x2 its JPEGLift puts its
		// threshold past any reading: it reads clean); one read as clean (0.3) runs
		// the clean one; a level by hand on a PNG runs the real-photo one.
		{name: "restore-auto", model: clean, companion: withStrength, restore: restoring, estimator: 0.7, denoise: "auto", strength: core.RestoreStrength,
			reading: "looks degraded (0.70): restore 0.50 (medium) for blur and noise"},
		{name: "restore-auto-jpeg", model: clean, companion: withStrength, restore: restoring, estimator: 0.7, jpeg: 50, denoise: "auto", strength: core.StrengthForQuality(50),
			reading: "JPEG quality about 50, looks clean (0.70): restore 0.71 (high) for JPEG artifacts"},
		{name: "restore-auto-clean", model: clean, companion: withStrength, restore: restoring, estimator: 0.3, denoise: "auto", reading: "none"},
		{name: "restore-high", model: clean, companion: withStrength, restore: restoring, estimator: 0.3, denoise: "high", strength: 0.8},
	} {
		t.Run(tc.name, func(t *testing.T) { testDownloadMatchesNative(t, tc) })
	}
}

// sharpening is m sharpening its output, as the x4 Detailed networks do
// (network.Config.Sharpen), with a mask wide enough to cross tiles.
func sharpening(m *network.Model) *network.Model {
	m.Config.Sharpen = imaging.UnsharpMask{Amount: 0.5, Sigma: 3}
	return m
}

// matchCase is a page-equals-command-line case: the x2 network of model
// shipAs ("": general; the only one offered) and general-x2's JPEG-aware
// companion, if any, the input (a JPEG of quality jpeg, if > 0), the
// Denoise setting and the strength it should give.
type matchCase struct {
	name             string
	shipAs           string
	model, companion *network.Model
	detailed         *network.Model // general-x2-detailed, if any
	restore          *network.Model // general-x2-restore, if any
	estimator        float32        // > 0: estimator.gob reads every image as this
	reading          string         // what the page should say Auto read ("": not checked; "none": nothing, as it did not restore)
	jpeg             int
	denoise          string
	look             string // the Look control's value ("": left as it is)
	strength         float32
}

// widenedWithStrength returns a copy of a low-resolution network that also
// reads a strength plane, with weights on it, so that the strength shows.
func widenedWithStrength(t *testing.T, m *network.Model) *network.Model {
	t.Helper()
	cfg := m.Config
	cfg.Strength = true
	w := m.Plain()
	wf := network.WeightsFile{Config: cfg, Scale: cfg.Shuffle}
	for i := range cfg.Layers {
		k, b := w.Kernel(i)
		if i == 0 { // insert the strength's 3x3 taps after each filter's Y taps
			var wide []float32
			for o := 0; o < cfg.Layers[0].Filters; o++ {
				wide = append(wide, k[o*9:(o+1)*9]...)
				for j := 0; j < 9; j++ {
					wide = append(wide, float32(o%3-1)*0.3)
				}
			}
			k = wide
		}
		wf.Weights, wf.Biases = append(wf.Weights, k), append(wf.Biases, b)
	}
	wide, err := wf.Model()
	if err != nil {
		t.Fatal(err)
	}
	return wide
}

// testImageJPEG saves the image at path as a JPEG of quality q beside it
// and returns the new file's path.
func testImageJPEG(t *testing.T, path string, q int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(path, ".png") + ".jpg"
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func testDownloadMatchesNative(t *testing.T, tc matchCase) {
	model, jpegQ, denoise, strength := tc.model, tc.jpeg, tc.denoise, tc.strength
	b := newBrowser(t)
	weights := t.TempDir()
	offered, other := "general", "portrait"
	if tc.shipAs == "portrait" {
		offered, other = other, offered
	}
	writeWeights(t, weights, offered+"-x2.gob", model, 2)
	if tc.companion != nil {
		writeWeights(t, weights, "general-x2-denoise.gob", tc.companion, 2)
	}
	if tc.detailed != nil {
		writeWeights(t, weights, "general-x2-detailed.gob", tc.detailed, 2)
	}
	if tc.restore != nil {
		writeWeights(t, weights, "general-x2-restore.gob", tc.restore, 2)
	}
	if tc.estimator > 0 {
		writeWeights(t, weights, "estimator.gob", trainingtest.ConstantEstimator(t, tc.estimator), 2)
	}
	log := &requestLog{h: testSite(t, weights)}
	srv := httptest.NewServer(log)
	defer srv.Close()
	in := testImagePNG(t, t.TempDir(), "photo.png", 150, 100)
	if jpegQ > 0 {
		in = testImageJPEG(t, in, jpegQ)
	}

	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		waitJS(fmt.Sprintf(`document.querySelector("#model option[value=%s]").disabled === false`, offered)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The other model has no weights in this test: it is not offered.
	if disabled := eval[bool](b, fmt.Sprintf(`document.querySelector("#model option[value=%s]").disabled`, other)); !disabled {
		t.Errorf("%s is offered without weights", other)
	}
	if m := eval[string](b, `document.getElementById("model").value`); m != offered {
		t.Errorf("model %q chosen, want %q", m, offered)
	}
	afterLoad := log.count()
	// The Denoise control is offered only for a network with a strength input.
	if disabled := eval[bool](b, `document.getElementById("denoise").disabled`); disabled == (model.Config.Strength || tc.companion != nil || tc.restore != nil) {
		t.Errorf("Denoise disabled %v for a network with a strength input %v (companion %v)", disabled, model.Config.Strength, tc.companion != nil)
	}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{in}),
		waitJS(`document.getElementById("status").textContent.includes("150×100")`),
	}
	if jpegQ > 0 {
		steps = append(steps, waitJS(fmt.Sprintf(`document.getElementById("status").textContent.includes("JPEG quality about %d: %s")`, jpegQ, core.DenoiseName(core.StrengthForQuality(jpegQ)))))
	}
	// The Look control is offered only where a Detailed network ships.
	if disabled := eval[bool](b, `document.getElementById("look").disabled`); disabled != (tc.detailed == nil) {
		t.Errorf("Look disabled %v with a Detailed network %v", disabled, tc.detailed != nil)
	}
	if denoise != "" {
		steps = append(steps, chromedp.SetValue(chromedp.ID("denoise"), denoise))
	}
	if tc.look != "" {
		steps = append(steps, chromedp.SetValue(chromedp.ID("look"), tc.look))
	}
	err = b.do(append(steps,
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`!document.getElementById("download").hidden`),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	data, name, err := download(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if name != "photo-x2.png" {
		t.Errorf("download name %q, want photo-x2.png", name)
	}
	got, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// The command line's choice: core.Networks for what it reads (with
	// the estimator, if any), or the Detailed look's network.
	file, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := imaging.JPEGQuality(file)
	nets := core.Networks{Clean: model, Denoise: tc.companion, Restore: tc.restore}
	if tc.look == "detailed" {
		nets = core.Networks{Clean: tc.detailed, Denoise: tc.companion, Restore: tc.restore, Detailed: true}
	}
	r := core.Chosen(q, strength)
	if denoise == "auto" {
		var est *network.Model
		if tc.estimator > 0 {
			est = trainingtest.ConstantEstimator(t, tc.estimator)
		}
		img, _, err := imaging.Decode(bytes.NewReader(file), 0)
		if err != nil {
			t.Fatal(err)
		}
		r = nets.ReadImage(q, img, est, 2)
	}
	net, s := nets.For(r)
	if s != strength {
		t.Errorf("the command line runs at strength %g, the case says %g", s, strength)
	}
	if said := eval[string](b, `document.getElementById("status").dataset.reading`); tc.reading != "" && said != strings.TrimPrefix(tc.reading, "none") {
		t.Errorf("the page says Auto read %q, want %q", said, tc.reading)
	}
	want := nativeUpscale(t, net, 2, in, strength)
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, want %v", got.Bounds(), want.Bounds())
	}
	diff := 0
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			r, g, bb, a := got.At(x, y).RGBA()
			w := want.NRGBAAt(x, y)
			if uint8(r>>8) != w.R || uint8(g>>8) != w.G || uint8(bb>>8) != w.B || uint8(a>>8) != w.A {
				diff++
			}
		}
	}
	if diff != 0 {
		t.Fatalf("%d pixels of the page's result differ from the command line's", diff)
	}
	// Since the image was chosen: only GETs of the site's own files, no
	// request with a body (the image never leaves the device).
	for _, r := range log.since(afterLoad) {
		f := strings.Fields(r) // method, path, body length[, origin]
		if f[0] != "GET" || f[2] != "0" || !strings.HasPrefix(f[1], "/") {
			t.Errorf("unexpected request after choosing the image: %q", r)
		}
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	t.Logf("page says: %s (Compute Auto chose in %s ms)", eval[string](b, `document.getElementById("status").textContent`),
		eval[string](b, `document.getElementById("status").dataset.computeChoiceMs`))
}

// TestBrowserWebGPU: with Compute = GPU on SwiftShader's WebGPU the page
// says it used WebGPU, and its download is the command line's pixels to
// within the GPU's float order (every value within 2 levels, 99.9% within
// 1), at x2 and x4 with the shipped networks (a strength network at x2
// auto on a JPEG), also when the GPU device is lost in the middle of an
// image (the remaining tiles run on wasm).
func TestBrowserWebGPU(t *testing.T) {
	b := newWebGPUBrowser(t)
	srv := httptest.NewServer(testSite(t, "weights"))
	defer srv.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		scale   int
		in      string
		network string
		lose    int  // > 0: the GPU device is destroyed after this many tiles
		look    bool // Look Detailed, restoration None (strength 0)
	}{
		{2, testImagePNG(t, dir, "photo.png", 150, 100), "general-x2.gob", 0, false},
		{4, testImagePNG(t, dir, "small.png", 90, 70), "general-x4.gob", 0, false},
		{2, testImageJPEG(t, testImagePNG(t, dir, "web.png", 120, 90), 50), "general-x2-denoise.gob", 0, false},
		{4, testImagePNG(t, dir, "lost.png", 200, 150), "general-x4.gob", 3, false},
		// The x4 Detailed network sharpens its output: tiles widened by
		// its mask on the GPU too.
		{4, testImagePNG(t, dir, "detailed.png", 90, 70), "general-x4-detailed.gob", 0, true},
	} {
		url := srv.URL + "/"
		if tc.lose > 0 {
			url += fmt.Sprintf("?gpu-lose-after=%d", tc.lose)
		}
		look, denoise := "faithful", "auto"
		if tc.look {
			look, denoise = "detailed", "none"
		}
		err := b.do(
			chromedp.Navigate(url),
			waitJS(`!document.querySelector("#model option[value=general]").disabled`),
			chromedp.SetValue(chromedp.ID("compute"), "gpu"),
			chromedp.SetValue(chromedp.ID("scale"), fmt.Sprint(tc.scale)),
			chromedp.SetValue(chromedp.ID("look"), look),
			chromedp.SetValue(chromedp.ID("denoise"), denoise),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{tc.in}),
			waitJS(`!document.getElementById("enhance").disabled`),
			chromedp.Click(chromedp.ID("enhance")),
			waitJS(`!document.getElementById("download").hidden`),
		)
		if err != nil {
			t.Fatal(err)
		}
		status := eval[string](b, `document.getElementById("status").textContent`)
		if path := eval[string](b, `document.getElementById("status").dataset.compute`); path != "webgpu" || !strings.Contains(status, "using WebGPU") {
			t.Fatalf("x%d: computed on %q: %s", tc.scale, path, status)
		}
		// A lost device: the tiles after it are the wasm kernels', and the
		// page says so; the result is whole.
		if lost := strings.Contains(status, "for 9 tiles") && strings.Contains(status, "the GPU failed"); lost != (tc.lose > 0) {
			t.Errorf("x%d: lost device %v, status %q", tc.scale, tc.lose > 0, status)
		}
		if tc.lose == 0 && strings.Contains(status, "the GPU failed") { // every tile on the GPU
			t.Errorf("x%d %s: a tile fell back to the CPU: %s", tc.scale, tc.network, status)
		}
		data, _, err := download(t, b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := network.LoadWeightsFile(filepath.Join("weights", tc.network))
		if err != nil {
			t.Fatal(err)
		}
		var strength float32
		if strings.HasSuffix(tc.in, ".jpg") {
			strength = core.StrengthForQuality(50)
		}
		want := nativeUpscale(t, m, tc.scale, tc.in, strength)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("x%d: size %v, want %v", tc.scale, got.Bounds(), want.Bounds())
		}
		off, n := 0, 0
		for y := 0; y < want.Rect.Dy(); y++ {
			for x := 0; x < want.Rect.Dx(); x++ {
				r, g, bb, _ := got.At(x, y).RGBA()
				w := want.NRGBAAt(x, y)
				for _, d := range []int{int(r>>8) - int(w.R), int(g>>8) - int(w.G), int(bb>>8) - int(w.B)} {
					if d > 2 || d < -2 {
						t.Fatalf("x%d: pixel (%d,%d) differs by %d levels", tc.scale, x, y, d)
					}
					if d != 0 && d != 1 && d != -1 {
						off++
					}
					n++
				}
			}
		}
		if float64(off) > 0.001*float64(n) {
			t.Errorf("x%d: %d of %d values differ by 2 levels", tc.scale, off, n)
		}
		t.Logf("x%d: %s", tc.scale, status)
	}
	// Auto measures the first run of a model on this device and keeps the
	// faster: here the CPU (SwiftShader is a GPU emulated on the CPU).
	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		chromedp.SetValue(chromedp.ID("scale"), "2"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{testImagePNG(t, dir, "auto.png", 100, 80)}),
		waitJS(`!document.getElementById("enhance").disabled`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`!document.getElementById("download").hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	remembered := eval[string](b, `localStorage.getItem("upscaler-compute:google swiftshader:general-x2")`)
	if path := eval[string](b, `document.getElementById("status").dataset.compute`); path != "wasm" || remembered != "cpu" {
		t.Errorf("auto on SwiftShader: computed on %q, remembered %q", path, remembered)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// TestBrowserGPUBenchPage: bench.html times both paths on SwiftShader's
// WebGPU and names the adapter; without WebGPU it times the CPU alone.
func TestBrowserGPUBenchPage(t *testing.T) {
	srv := httptest.NewServer(testSite(t, "weights"))
	defer srv.Close()
	for _, gpu := range []bool{true, false} {
		b := newBrowser(t)
		if gpu {
			b = newWebGPUBrowser(t)
		}
		err := b.do(
			chromedp.Navigate(srv.URL+"/bench.html?size=48"),
			chromedp.Click(chromedp.ID("run")),
			waitJS(`/done|failed/.test(document.getElementById("out").textContent)`),
		)
		if err != nil {
			t.Fatal(err)
		}
		out := eval[string](b, `document.getElementById("out").textContent`)
		for _, want := range []string{"x2 CPU (wasm)", "x4 CPU (wasm)", "MP/s", "done"} {
			if !strings.Contains(out, want) {
				t.Errorf("gpu %v: no %q in %q", gpu, want, out)
			}
		}
		if hasGPU := strings.Contains(out, "x2 GPU (webgpu)") && strings.Contains(out, "swiftshader"); hasGPU != gpu {
			t.Errorf("gpu %v: the page timed the GPU %v: %q", gpu, hasGPU, out)
		}
		t.Logf("%s", out)
	}
}

func TestBrowserCancelAndBadFile(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 8))
	defer srv.Close()
	dir := t.TempDir()
	big := testImagePNG(t, dir, "big.png", 1200, 900)
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("these are my notes, not a picture"), 0o644)

	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{notImage}),
		waitJS(`!document.getElementById("alert").hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	alert := eval[string](b, `document.querySelector("[role=alert]").textContent`)
	if !strings.Contains(alert, "not an image") || !strings.Contains(alert, "notes.png") {
		t.Errorf("alert %q", alert)
	}
	if enabled := eval[bool](b, `!document.getElementById("enhance").disabled`); enabled {
		t.Error("Enhance is enabled for a file that is not an image")
	}

	err = b.do(
		waitJS(`document.querySelector("#model option[value=general]").disabled === false`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{big}),
		waitJS(`document.getElementById("alert").hidden && !document.getElementById("enhance").disabled`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`Number(document.querySelector("[role=progressbar]").getAttribute("aria-valuenow")) >= 2`),
	)
	if err != nil {
		t.Fatal(err)
	}
	total := eval[string](b, `document.querySelector("[role=progressbar]").getAttribute("aria-valuemax")`)
	clicked := time.Now()
	err = b.do(
		chromedp.Click(chromedp.ID("cancel")),
		waitJS(`document.getElementById("status").textContent === "Cancelled."`),
	)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(clicked)
	done := eval[string](b, `document.querySelector("[role=progressbar]").getAttribute("aria-valuenow")`)
	hidden := eval[bool](b, `document.getElementById("download").hidden && document.getElementById("progress").hidden`)
	t.Logf("cancelled after %s of %s tiles; stopped %v after the click", done, total, stopped)
	if done == total || !hidden {
		t.Errorf("cancel did not stop the work: %s of %s tiles, download/progress hidden %v", done, total, hidden)
	}
	if stopped > 5*time.Second {
		t.Errorf("cancel took %v", stopped)
	}
	// The page still works after a cancel: Enhance is available again.
	if enabled := eval[bool](b, `!document.getElementById("enhance").disabled`); !enabled {
		t.Error("Enhance is not available after cancelling")
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}

func TestBrowserStaticExportFromSubPath(t *testing.T) {
	b := newBrowser(t)
	weights := t.TempDir()
	model := tinyModel(t, 9)
	writeWeights(t, weights, "general-x3.gob", model, 3)
	s := testSite(t, weights)
	dist := t.TempDir()
	if err := s.export(dist); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/some/sub/path/", http.StripPrefix("/some/sub/path/", http.FileServer(http.Dir(dist))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	in := testImagePNG(t, t.TempDir(), "tiny.png", 40, 30)
	err := b.do(
		chromedp.Navigate(srv.URL+"/some/sub/path/"),
		waitJS(`document.readyState === "complete"`),
		chromedp.SetValue(chromedp.ID("scale"), "3"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.getElementById("scale").dispatchEvent(new Event("change"))`)(ctx, t)
			return err
		}),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{in}),
		waitJS(`!document.getElementById("enhance").disabled`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`!document.getElementById("download").hidden`),
	)
	if err != nil {
		t.Fatal(err)
	}
	data, name, err := download(t, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(data))
	if err != nil || name != "tiny-x3.png" || got.Bounds().Dx() != 120 || got.Bounds().Dy() != 90 {
		t.Fatalf("download %q: %v, %v", name, got.Bounds(), err)
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}

// viewerBackground is the viewer's colour where there is no image, and
// flushWait how long it may keep tiles before drawing them.
var (
	viewerBackground = color.RGBA{0x20, 0x22, 0x26, 0xff}
	flushWait        = 400 * time.Millisecond
)

// viewerPixel returns the colour at (fx, fy), fractions of the viewer's
// width and height, in a screenshot of its frame.
func (b *browser) viewerPixel(fx, fy float64) (color.RGBA, error) {
	shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.ID("viewer")))
	if err != nil {
		return color.RGBA{}, err
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return color.RGBA{}, err
	}
	r := img.Bounds()
	x, y := r.Min.X+int(fx*float64(r.Dx())), r.Min.Y+int(fy*float64(r.Dy()))
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA), nil
}

// viewerPixelsDiffer checks that the named points of the viewer are not
// the colour c.
func (b *browser) viewerPixelsDiffer(points map[string][2]float64, c color.RGBA) error {
	for name, p := range points {
		got, err := b.viewerPixel(p[0], p[1])
		if err != nil {
			return err
		}
		if got == c {
			return fmt.Errorf("viewer %s at (%.2f, %.2f) is %v: nothing drawn there", name, p[0], p[1], got)
		}
	}
	return nil
}

// median returns the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// serveModel serves the site with m as the general x2 weights until the
// test ends.
func serveModel(t *testing.T, m *network.Model) *httptest.Server {
	t.Helper()
	weights := t.TempDir()
	writeWeights(t, weights, "general-x2.gob", m, 2)
	srv := httptest.NewServer(testSite(t, weights))
	t.Cleanup(srv.Close)
	return srv
}

// tinySite is the site with a tiny untrained model as its general x2
// weights (the seed picks it).
func tinySite(t testing.TB, seed uint64) *site {
	weights := t.TempDir()
	writeWeights(t, weights, "general-x2.gob", tinyModel(t, seed), 2)
	return testSite(t, weights)
}

// gate holds back one path until released, to load the page without it.
type gate struct {
	h       http.Handler
	path    string
	release chan struct{}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == g.path {
		<-g.release
	}
	g.h.ServeHTTP(w, r)
}

// TestBrowserWorksBeforeTheViewerLoads: the viewer's wasm is the larger
// download; the page enhances and offers the result without it, and the
// viewer shows the result once it arrives.
func TestBrowserWorksBeforeTheViewerLoads(t *testing.T) {
	b := newBrowser(t)
	g := &gate{h: tinySite(t, 10), path: "/gen/viewer.wasm", release: make(chan struct{})}
	srv := httptest.NewServer(g)
	defer srv.Close()
	released := false
	defer func() {
		if !released {
			close(g.release)
		}
	}()
	in := testImagePNG(t, t.TempDir(), "early.png", 64, 48)
	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		enhanceSteps(in),
	)
	if err != nil {
		t.Fatal(err)
	}
	if eval[bool](b, `!!document.getElementById("viewer").contentWindow.upscalerViewer`) {
		t.Fatal("the viewer loaded although its wasm was held back")
	}
	close(g.release)
	released = true
	if err := b.do(waitJS(`!!document.getElementById("viewer").contentWindow.upscalerViewer`)); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}

// BenchmarkBrowser measures the page in headless Chromium with the shipped
// general weights: x2 of a 512x512 image with one worker and with the
// pool, x4 of a 256x256 image with one worker, and the time from
// navigation to the first result for a 64x64 image.
// It prints the compressed sizes of the wasm programs too.
func BenchmarkBrowser(b *testing.B) {
	weights := os.Getenv("UPSCALER_BENCH_WEIGHTS")
	if weights == "" {
		weights = "weights"
	}
	if _, err := os.Stat(filepath.Join(weights, "general-x2.gob")); err != nil {
		b.Skip("no general-x2.gob in " + weights)
	}
	s := testSite(b, weights)
	for _, name := range []string{"gen/worker.wasm", "gen/viewer.wasm", "gemm-simd.wasm"} {
		a := s.assets[name]
		b.Logf("%s: %d bytes, gzip %d, brotli %d", name, len(a.body), len(a.gzip), len(a.brotli))
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	dir := b.TempDir()
	big := testImagePNG(b, dir, "bench.png", 512, 512)
	small := testImagePNG(b, dir, "small.png", 64, 64)
	// Without the viewer (its wasm answered with 404) the page's own cost
	// is left: the difference is what drawing the compare view takes.
	noViewer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gen/viewer.wasm" {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer noViewer.Close()
	quarter := testImagePNG(b, dir, "quarter.png", 256, 256)
	// pageSecondsAt enhances an image at a scale in a fresh page at url,
	// once to warm up (weights and wasm loaded) and once timed by the page
	// itself.
	pageSecondsWith := func(b *testing.B, br *browser, url, img string, scale int, restore string) float64 {
		if err := br.do(chromedp.Navigate(url),
			waitJS(`!document.querySelector("#model option[value=general]").disabled`),
			runJS(fmt.Sprintf(`{const s = document.getElementById("scale"); s.value = "%d"; s.dispatchEvent(new Event("change")); true}`, scale)),
			waitJS(`!document.querySelector("#model option[value=general]").disabled`),
			runJS(fmt.Sprintf(`document.getElementById("denoise").value = %q; true`, restore)),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{img}),
			waitJS(`!document.getElementById("enhance").disabled`),
			chromedp.Click(chromedp.ID("enhance")), waitJS(`!document.getElementById("download").hidden`),
			chromedp.Click(chromedp.ID("enhance")), waitJS(`document.getElementById("download").hidden`),
			waitJS(`!document.getElementById("download").hidden`)); err != nil {
			b.Fatal(err)
		}
		secs, err := strconv.ParseFloat(eval[string](br, `document.getElementById("status").dataset.seconds`), 64)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(eval[string](br, `document.getElementById("status").textContent`))
		return secs
	}
	pageSecondsAt := func(b *testing.B, br *browser, url, img string, scale int) float64 {
		return pageSecondsWith(b, br, url, img, scale, "auto")
	}
	pageSeconds := func(b *testing.B, br *browser, url string) float64 { return pageSecondsAt(b, br, url, big, 2) }
	const megapixels = 1024 * 1024 / 1e6
	// With and without the viewer in turn, so that the machine's drift
	// touches both alike.
	b.Run("x2-512/workers=1", func(b *testing.B) {
		with, without := newBrowser(b), newBrowser(b)
		var ts, tsNoViewer []float64
		for i := 0; i < b.N; i++ {
			ts = append(ts, pageSeconds(b, with, srv.URL+"/?workers=1"))
			tsNoViewer = append(tsNoViewer, pageSeconds(b, without, noViewer.URL+"/?workers=1"))
		}
		b.ReportMetric(megapixels/median(ts), "MP/s")
		b.ReportMetric(megapixels/median(tsNoViewer), "MP/s-no-viewer")
	})
	// x4 of 256x256: the same 1 MP out, from a quarter of the input.
	b.Run("x4-256/workers=1", func(b *testing.B) {
		if _, err := os.Stat(filepath.Join(weights, "general-x4.gob")); err != nil {
			b.Skip("no general-x4.gob in " + weights)
		}
		// Restore at Auto (the estimator reads the pixels) and at None (it
		// does not), in turn: the ratio is what reading the pixels costs.
		br := newBrowser(b)
		var ts, tsNone []float64
		for i := 0; i < b.N; i++ {
			ts = append(ts, pageSecondsAt(b, br, srv.URL+"/?workers=1", quarter, 4))
			tsNone = append(tsNone, pageSecondsWith(b, br, srv.URL+"/?workers=1", quarter, 4, "none"))
		}
		b.ReportMetric(megapixels/median(ts), "MP/s")
		b.ReportMetric(megapixels/median(tsNone), "MP/s-restore-none")
		b.ReportMetric(median(ts)/median(tsNone), "auto/none")
	})
	// The Detailed look as issue 28 measures it: x4 of a 256x256 image
	// (1 MP out) with the Portrait model and one worker, from navigation to the download offered:
	// in a fresh browser ("MP/s-first-visit": nothing cached, the wasm
	// programs compiled on the way), then on a fresh page of the same
	// browser ("MP/s-fresh-page": a returning visitor), then once more on
	// that page (the page's own timing of the compute: "MP/s").
	b.Run("x4-256-detailed/workers=1", func(b *testing.B) {
		if _, err := os.Stat(filepath.Join(weights, "portrait-x4-detailed.gob")); err != nil {
			b.Skip("no portrait-x4-detailed.gob in " + weights)
		}
		visit := func(br *browser) float64 {
			start := time.Now()
			if err := br.do(chromedp.Navigate(srv.URL+"/?workers=1"),
				waitJS(`!document.querySelector("#model option[value=portrait]").disabled`),
				runJS(`{const m = document.getElementById("model"); m.value = "portrait"; m.dispatchEvent(new Event("change")); true}`),
				runJS(`{const s = document.getElementById("scale"); s.value = "4"; s.dispatchEvent(new Event("change")); true}`),
				waitJS(`!document.getElementById("look").disabled`),
				runJS(`{const l = document.getElementById("look"); l.value = "detailed"; l.dispatchEvent(new Event("change")); true}`),
				chromedp.SetUploadFiles(chromedp.ID("file"), []string{quarter}),
				waitJS(`!document.getElementById("enhance").disabled`),
				chromedp.Click(chromedp.ID("enhance")), waitJS(`!document.getElementById("download").hidden`)); err != nil {
				b.Fatal(err)
			}
			secs := time.Since(start).Seconds()
			status := eval[string](br, `document.getElementById("status").textContent`)
			if !strings.Contains(status, "look Detailed") {
				b.Fatalf("not the Detailed look: %s", status)
			}
			b.Log(status)
			return secs
		}
		var first, fresh, warm []float64
		for i := 0; i < b.N; i++ {
			br := newBrowser(b)
			first = append(first, visit(br))
			fresh = append(fresh, visit(br))
			if err := br.do(chromedp.Click(chromedp.ID("enhance")), waitJS(`document.getElementById("download").hidden`),
				waitJS(`!document.getElementById("download").hidden`)); err != nil {
				b.Fatal(err)
			}
			secs, err := strconv.ParseFloat(eval[string](br, `document.getElementById("status").dataset.seconds`), 64)
			if err != nil {
				b.Fatal(err)
			}
			warm = append(warm, secs)
		}
		b.ReportMetric(megapixels/median(first), "MP/s-first-visit")
		b.ReportMetric(megapixels/median(fresh), "MP/s-fresh-page")
		b.ReportMetric(megapixels/median(warm), "MP/s")
	})
	// A photo's size: x2 of 2300x1600 (14.7 MP out). The page's compute
	// time, and from the click to the download offered (encoding included).
	photo := benchPhoto(b, dir, "photo.jpg", 2300, 1600)
	b.Run("x2-2300/workers=1", func(b *testing.B) {
		br := newBrowser(b)
		var compute, total []float64
		for i := 0; i < b.N; i++ {
			compute = append(compute, pageSecondsAt(b, br, srv.URL+"/?workers=1", photo, 2))
			secs, err := strconv.ParseFloat(eval[string](br, `document.getElementById("status").dataset.totalSeconds`), 64)
			if err != nil {
				b.Fatal(err)
			}
			total = append(total, secs)
		}
		const mp = 4600 * 3200 / 1e6
		b.ReportMetric(mp/median(compute), "MP/s")
		b.ReportMetric(mp/median(total), "MP/s-to-download")
		b.ReportMetric(median(total)/median(compute), "download/compute")
	})
	// Peak memory of the browser's processes (summed PSS) for a real
	// photo's size, in a fresh browser each time: x2 of 2300x1600 (14.7 MP
	// out) and x4 of 1382x1868 (41 MP out), with the click-to-download time.
	for _, c := range []struct {
		name        string
		w, h, scale int
	}{{"memory/x2-256x256", 256, 256, 2}, {"memory/x2-2300x1600", 2300, 1600, 2}, {"memory/x4-1382x1868", 1382, 1868, 4}} {
		b.Run(c.name, func(b *testing.B) {
			img := benchPhoto(b, dir, c.name[len("memory/"):]+".jpg", c.w, c.h)
			var peaks, totals []float64
			for i := 0; i < b.N; i++ {
				br := newBrowser(b)
				m := watchMemory(br)
				pageSecondsAt(b, br, srv.URL+"/?workers=1", img, c.scale)
				peaks = append(peaks, float64(m.Stop())/1e6)
				b.Logf("peak %.0f MB: %v", float64(m.peak)/1e6, m.parts)
				secs, _ := strconv.ParseFloat(eval[string](br, `document.getElementById("status").dataset.totalSeconds`), 64)
				totals = append(totals, secs)
			}
			b.ReportMetric(median(peaks), "MB-peak")
			b.ReportMetric(float64(c.w*c.h*c.scale*c.scale)/1e6/median(totals), "MP/s-to-download")
		})
	}
	// Cold against warm: x2 of a 512x512 photo right after the page loads
	// (its code compiling, the viewer loading), then again on that page;
	// click to Download offered, as the page times it.
	b.Run("x2-512/cold-warm", func(b *testing.B) {
		img := benchPhoto(b, dir, "cold.jpg", 512, 512)
		var cold, warm []float64
		total := func(br *browser) float64 {
			secs, err := strconv.ParseFloat(eval[string](br, `document.getElementById("status").dataset.totalSeconds`), 64)
			if err != nil {
				b.Fatal(err)
			}
			return secs
		}
		for i := 0; i < b.N; i++ {
			br := newBrowser(b)
			if err := br.do(chromedp.Navigate(srv.URL+"/?workers=1"),
				waitJS(`!document.querySelector("#model option[value=general]").disabled`),
				chromedp.SetUploadFiles(chromedp.ID("file"), []string{img}),
				waitJS(`!document.getElementById("enhance").disabled`),
				chromedp.Click(chromedp.ID("enhance")), waitJS(`!document.getElementById("download").hidden`)); err != nil {
				b.Fatal(err)
			}
			cold = append(cold, total(br))
			if err := br.do(chromedp.Click(chromedp.ID("enhance")), waitJS(`document.getElementById("download").hidden`),
				waitJS(`!document.getElementById("download").hidden`)); err != nil {
				b.Fatal(err)
			}
			warm = append(warm, total(br))
			b.Logf("cold %.2f s, warm %.2f s", cold[i], warm[i])
		}
		b.ReportMetric(median(cold), "s-cold")
		b.ReportMetric(median(warm), "s-warm")
		b.ReportMetric(median(cold)/median(warm), "cold/warm")
	})
	b.Run("x2-512/pool", func(b *testing.B) {
		br := newBrowser(b)
		var ts []float64
		for i := 0; i < b.N; i++ {
			ts = append(ts, pageSeconds(b, br, srv.URL+"/"))
		}
		b.ReportMetric(megapixels/median(ts), "MP/s")
	})
	b.Run("kernels", func(b *testing.B) {
		br := newBrowser(b)
		for i := 0; i < b.N; i++ {
			if err := br.do(chromedp.Navigate(srv.URL + "/")); err != nil {
				b.Fatal(err)
			}
			res, err := chromedp.Run(br.ctx, chromedp.Evaluate[map[string]float64](`new Promise((resolve, reject) => {
				const w = new Worker("worker.js");
				w.onmessage = (e) => {
					if (e.data.op === "booted") w.postMessage({op: "bench", id: 0});
					else if (e.data.op === "bench") { resolve(e.data.gflops); w.terminate(); }
					else reject(new Error(JSON.stringify(e.data)));
				};
			})`, chromedp.EvalAwaitPromise))
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, 0, len(res))
			for k := range res {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b.Logf("Chromium worker GEMM %-24s %6.1f GFLOP/s", k, res[k])
			}
		}
	})
	b.Run("first-result-64", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			br := newBrowser(b)
			start := time.Now()
			if err := br.do(chromedp.Navigate(srv.URL+"/"),
				waitJS(`!document.querySelector("#model option[value=general]").disabled`),
				chromedp.SetUploadFiles(chromedp.ID("file"), []string{small}),
				waitJS(`!document.getElementById("enhance").disabled`),
				chromedp.Click(chromedp.ID("enhance")),
				waitJS(`!document.getElementById("download").hidden`)); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s-to-first-result")
		}
	})
}

// TestBrowserWorksOffline: after one visit the service worker has cached
// everything; with the server gone the page still loads and enhances.
func TestBrowserWorksOffline(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 11))
	in := testImagePNG(t, t.TempDir(), "offline.png", 40, 40)
	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		// The service worker controls the page once it has installed, that
		// is once every file is in its cache.
		waitJS(`navigator.serviceWorker.controller !== null`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	srv.Close() // offline from here on
	err = b.do(
		chromedp.Reload(),
		enhanceSteps(in),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval[string](b, `document.getElementById("download").download`); got != "offline-x2.png" {
		t.Errorf("download name %q", got)
	}
}

// viewState reads the compare viewer's state.
type viewState struct {
	Zoom    float64 `json:"zoom"`
	OffsetX float64 `json:"offsetX"`
	OffsetY float64 `json:"offsetY"`
	Divider float64 `json:"divider"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	CursorX int     `json:"cursorX"`
	ScreenW int     `json:"screenW"`
}

func (b *browser) viewer() viewState {
	v, _ := chromedp.Run(b.ctx, chromedp.Evaluate[viewState](`document.getElementById("viewer").contentWindow.upscalerViewer.state()`))
	return v
}

// TestBrowserViewer drives the compare view as a person would: it fits the
// result, the divider drags, the wheel zooms around the pointer, a drag
// pans, 1:1 and Fit do what they say.
func TestBrowserViewer(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 12))
	defer srv.Close()
	in := testImagePNG(t, t.TempDir(), "view.png", 300, 200)
	if err := b.do(chromedp.Navigate(srv.URL+"/"), enhanceSteps(in),
		waitJS(`(() => { const v = document.getElementById("viewer").contentWindow.upscalerViewer; return !!v && v.state().width === 600; })()`)); err != nil {
		t.Fatal(err)
	}
	// Where the frame is on the page.
	box, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("viewer").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	left, top, w, h := box[0], box[1], box[2], box[3]
	waitFrames := func() { time.Sleep(200 * time.Millisecond) } // ebiten reads input once a frame
	fitted := b.viewer()
	if want := min(w/600, h/400); fitted.Zoom < want*0.99 || fitted.Zoom > want*1.01 || fitted.Divider != 0.5 {
		t.Fatalf("not fitted: %+v (want zoom %.3f)", fitted, min(w/600, h/400))
	}
	// Both halves show the image: the viewer draws the tiles it was sent.
	time.Sleep(2 * flushWait)
	if err := b.viewerPixelsDiffer(map[string][2]float64{"bicubic side": {0.3, 0.5}, "enhanced side": {0.7, 0.5}}, viewerBackground); err != nil {
		t.Error(err)
	}
	mouse := func(typ input.DispatchMouseEventType, x, y float64, opts ...chromedp.MouseOption) chromedp.Action[chromedp.Void] {
		return chromedp.MouseEvent(typ, left+x, top+y, opts...)
	}
	// Drag the divider from the middle to a quarter of the width.
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseMoved, w/2, h/2), mouse(input.DispatchMouseEventTypeMousePressed, w/2, h/2, chromedp.ButtonLeft)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseMoved, w/4, h/2, chromedp.ButtonLeft)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseReleased, w/4, h/2, chromedp.ButtonLeft)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if d := b.viewer().Divider; d < 0.2 || d > 0.3 {
		t.Errorf("divider at %.2f after dragging it to a quarter", d)
	}
	// The screen was redrawn: the divider's handle is at its new place.
	if c, _ := b.viewerPixel(0.25, 0.5); c.R < 0xc0 || c.G < 0xc0 || c.B < 0xc0 {
		t.Errorf("no divider handle at a quarter of the width after the drag: %v", c)
	}
	// Wheel up over a point: zoom in, that image point stays under the pointer.
	px, py := math.Round(w*0.7), math.Round(h*0.4) // ebiten's cursor is in whole pixels
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseMoved, px, py)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	before := b.viewer()
	imgX := (px - before.OffsetX) / before.Zoom
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseMoved, px, py)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseWheel, px, py, func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 1e-9, -300 })); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	after := b.viewer()
	if !(after.Zoom > before.Zoom*1.05) {
		t.Fatalf("wheel did not zoom in: %+v -> %+v", before, after)
	}
	if got := after.OffsetX + imgX*after.Zoom; got < px-2 || got > px+2 {
		t.Errorf("the point under the pointer moved from x=%.1f to %.1f (%+v -> %+v)", px, got, before, after)
	}
	// Drag away from the divider: pan.
	if err := b.do(mouse(input.DispatchMouseEventTypeMousePressed, px, py, chromedp.ButtonLeft)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if err := b.do(mouse(input.DispatchMouseEventTypeMouseMoved, px-40, py+25, chromedp.ButtonLeft)); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	b.do(mouse(input.DispatchMouseEventTypeMouseReleased, px-40, py+25, chromedp.ButtonLeft))
	waitFrames()
	panned := b.viewer()
	if dx, dy := panned.OffsetX-after.OffsetX, panned.OffsetY-after.OffsetY; dx > -30 || dy < 15 {
		t.Errorf("drag did not pan: moved by (%.1f, %.1f)", dx, dy)
	}
	// 1:1 and Fit.
	if err := b.do(chromedp.Click(chromedp.ID("actual"))); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if z := b.viewer().Zoom; z < 0.999 || z > 1.001 {
		t.Errorf("1:1 gives zoom %g", z)
	}
	if err := b.do(chromedp.Click(chromedp.ID("fit"))); err != nil {
		t.Fatal(err)
	}
	waitFrames()
	if z := b.viewer().Zoom; z < fitted.Zoom*0.999 || z > fitted.Zoom*1.001 {
		t.Errorf("Fit gives zoom %g, want %g", z, fitted.Zoom)
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}

// TestBrowserViewerHasNoSeams: a smooth image larger than the viewer's
// textures (1,024 pixels), zoomed out (Fit, and further with the wheel),
// shows no line where its textures meet: no screen column or row inside
// the image differs from its neighbour by much more than the image's own
// gradient does. At 2700x2700 out Fit is under 1/2, where ebiten would
// draw from mipmaps (whose edges the textures' rings do not cover: a dark
// line crossed a 675-px portrait enlarged x4 at Fit). The tiles also show
// the progress: no estimate of the time left before three tiles are done.
func TestBrowserViewerHasNoSeams(t *testing.T) {
	for _, size := range []struct{ w, h int }{{600, 560}, {1350, 1350}} { // x2: textures meet at 1,022 and 2,044
		t.Run(fmt.Sprintf("%dx%d", 2*size.w, 2*size.h), func(t *testing.T) { viewerHasNoSeams(t, size.w, size.h) })
	}
}

func viewerHasNoSeams(t *testing.T, w, h int) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 13))
	defer srv.Close()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(40 + x*160/w), uint8(40 + y*160/h), 120, 255})
		}
	}
	in := filepath.Join(t.TempDir(), "smooth.png")
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.WriteFile(in, buf.Bytes(), 0o644)
	// Every progress text is kept, to check the estimate of the time left.
	keepLabels := runJS(`{window.labels = []; new MutationObserver(() => labels.push(document.querySelector("#progress .label").textContent)).observe(document.querySelector("#progress .label"), {childList: true, characterData: true, subtree: true}); true}`)
	if err := b.do(chromedp.Navigate(srv.URL+"/"), keepLabels, enhanceSteps(in),
		waitJS(fmt.Sprintf(`(() => { const v = document.getElementById("viewer").contentWindow.upscalerViewer; return !!v && v.state().width === %d; })()`, 2*w))); err != nil {
		t.Fatal(err)
	}
	labels := eval[[]string](b, `labels`)
	estimates := 0
	for _, l := range labels {
		var done, total int
		if _, err := fmt.Sscanf(l, "%d of %d tiles", &done, &total); err != nil || !strings.Contains(l, "left") {
			continue
		}
		estimates++
		if done < 3 || done == total {
			t.Errorf("progress %q: an estimate before 3 tiles or after the last", l)
		}
	}
	t.Logf("%d progress texts, %d with an estimate", len(labels), estimates)
	time.Sleep(2 * flushWait)
	box, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("viewer").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string) {
		t.Helper()
		st := b.viewer()
		shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.ID("viewer")))
		if err != nil {
			t.Fatal(err)
		}
		s, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		// The image's part of the screen, less a margin, the labels and
		// the divider.
		sb := s.Bounds()
		x0, x1 := max(int(st.OffsetX)+3, sb.Min.X+3), min(int(st.OffsetX+float64(2*w)*st.Zoom)-3, sb.Max.X-3)
		y0, y1 := max(int(st.OffsetY)+3, sb.Min.Y+24), min(int(st.OffsetY+float64(2*h)*st.Zoom)-3, sb.Max.Y-26)
		split := int(st.Divider * float64(sb.Dx()))
		at := func(x, y int) [3]int {
			c := color.RGBAModel.Convert(s.At(x, y)).(color.RGBA)
			return [3]int{int(c.R), int(c.G), int(c.B)}
		}
		step := func(a, b [3]int) float64 {
			d := 0
			for i := range a {
				d += max(a[i]-b[i], b[i]-a[i])
			}
			return float64(d)
		}
		profile := func(n0, n1, m0, m1 int, px func(n, m int) [3]int, skip func(n int) bool) (worst float64, where int, typical float64) {
			var ds []float64
			for n := n0 + 1; n < n1; n++ {
				if skip(n) || skip(n-1) {
					continue
				}
				var sum float64
				for m := m0; m < m1; m++ {
					sum += step(px(n, m), px(n-1, m))
				}
				d := sum / float64(m1-m0)
				ds = append(ds, d)
				if d > worst {
					worst, where = d, n
				}
			}
			return worst, where, median(ds)
		}
		nearDivider := func(x int) bool { return x > split-14 && x < split+14 }
		cw, cx, cmed := profile(x0, x1, y0, y1, func(x, y int) [3]int { return at(x, y) }, nearDivider)
		rw, ry, rmed := profile(y0, y1, x0, x1, func(y, x int) [3]int {
			if nearDivider(x) {
				return [3]int{}
			}
			return at(x, y)
		}, func(int) bool { return false })
		if cw > 3*cmed+3 {
			t.Errorf("%s (zoom %.2f): column %d steps by %.1f on average, the image's columns by %.1f: a seam", name, st.Zoom, cx, cw, cmed)
		}
		if rw > 3*rmed+3 {
			t.Errorf("%s (zoom %.2f): row %d steps by %.1f on average, the image's rows by %.1f: a seam", name, st.Zoom, ry, rw, rmed)
		}
	}
	check("Fit")
	// Zoom out further with the wheel, around the middle.
	cx, cy := box[0]+box[2]/2+40, box[1]+box[3]/2
	if err := b.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, cx, cy),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, cx, cy, func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 1e-9, 200 })); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	check("zoomed out")
}

// TestBrowserPreview: choosing an image shows it at once, shrunk to the
// preview's size, with its size and the result's for the chosen scale,
// which follows the Scale control.
func TestBrowserPreview(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 14))
	defer srv.Close()
	in := testImagePNG(t, t.TempDir(), "wide.png", 1500, 1000)
	viewerWidth := `(() => { const v = document.getElementById("viewer").contentWindow.upscalerViewer; return v ? v.state().width : 0; })()`
	if err := b.do(chromedp.Navigate(srv.URL+"/"),
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		waitJS(viewerWidth+` === 0`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{in}),
		waitJS(viewerWidth+` === 1024`),
		waitJS(`document.getElementById("status").textContent.includes("1500×1000 → 3000×2000 at 2×")`)); err != nil {
		t.Fatal(err)
	}
	if st := b.viewer(); st.Height != 683 {
		t.Errorf("preview %dx%d, want 1024x683", st.Width, st.Height)
	}
	time.Sleep(2 * flushWait)
	if err := b.viewerPixelsDiffer(map[string][2]float64{"left": {0.3, 0.5}, "right": {0.7, 0.5}}, viewerBackground); err != nil {
		t.Error(err)
	}
	if !eval[bool](b, `document.getElementById("download").hidden`) {
		t.Error("a download is offered before enhancing")
	}
	if err := b.do(runJS(`{const s = document.getElementById("scale"); s.value = "3"; s.dispatchEvent(new Event("change")); true}`),
		waitJS(`document.getElementById("status").textContent.includes("→ 4500×3000 at 3×")`)); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserInstallable: Chromium finds nothing that keeps the page from
// installing as an app (manifest, icons, service worker).
func TestBrowserInstallable(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(tinySite(t, 15))
	defer srv.Close()
	if err := b.do(chromedp.Navigate(srv.URL + "/")); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](b, `navigator.serviceWorker.ready.then(() => true)`) {
		t.Fatal("no service worker")
	}
	res, err := chromedp.Call(b.ctx, page.GetInstallabilityErrors, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.InstallabilityErrors {
		t.Errorf("not installable: %s %v", e.ErrorID, e.ErrorArguments)
	}
	m, err := chromedp.Call(b.ctx, page.GetAppManifest, page.GetAppManifestParams{})
	if err != nil || len(m.Errors) > 0 {
		t.Errorf("manifest: %v %v", err, m.Errors)
	}
}

// TestBrowserFormats: the Format control saves the result as JPEG (at the
// Quality chosen) or WebP, named for the format; changing it re-encodes
// the result in hand; PNG is the command line's pixels.
func TestBrowserFormats(t *testing.T) {
	b := newBrowser(t)
	model := tinyModel(t, 16)
	srv := serveModel(t, model)
	in := testImagePNG(t, t.TempDir(), "photo.png", 150, 100)
	want := nativeUpscale(t, model, 2, in, 0)
	psnr := func(img image.Image) float64 {
		var se float64
		for y := 0; y < 200; y++ {
			for x := 0; x < 300; x++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				w := want.NRGBAAt(x, y)
				for i, v := range []uint32{r >> 8, g >> 8, bb >> 8} {
					d := float64(v) - float64([]uint8{w.R, w.G, w.B}[i])
					se += d * d
				}
			}
		}
		return 10 * math.Log10(255*255/(se/(3*300*200)))
	}
	if err := b.do(chromedp.Navigate(srv.URL+"/"),
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		waitJS(`document.getElementById("quality").hidden`),
		chromedp.SetValue(chromedp.ID("format"), "jpeg"),
		runJS(`{document.getElementById("format").dispatchEvent(new Event("change")); true}`),
		waitJS(`!document.getElementById("quality").hidden`),
		chromedp.SetValue(chromedp.ID("quality"), "80"),
		enhanceSteps(in)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format, name string
		decode       func(io.Reader) (image.Image, error)
		minPSNR      float64
	}{
		{"jpeg", "photo-x2.jpg", jpeg.Decode, 20},
		{"webp", "photo-x2.webp", webp.Decode, 20},
		{"png", "photo-x2.png", png.Decode, math.Inf(1)},
	} {
		if tc.format != "jpeg" { // the first was chosen before enhancing
			if err := b.do(chromedp.SetValue(chromedp.ID("format"), tc.format),
				runJS(`{document.getElementById("format").dispatchEvent(new Event("change")); true}`),
				waitJS(fmt.Sprintf(`document.getElementById("download").download === %q && !document.getElementById("download").hidden`, tc.name))); err != nil {
				t.Fatal(err)
			}
		}
		data, name, err := download(t, b)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tc.decode(bytes.NewReader(data))
		if err != nil || name != tc.name || img.Bounds() != want.Bounds() {
			t.Fatalf("%s: %s, %v, %v", tc.format, name, err, img)
		}
		if p := psnr(img); p < tc.minPSNR {
			t.Errorf("%s: %.1f dB against the command line's result, want at least %.0f", tc.format, p, tc.minPSNR)
		}
		// JPEG is Go's encoder in the worker, as the command line's.
		if tc.format == "jpeg" {
			var native bytes.Buffer
			if err := imaging.EncodeQuality(&native, want, "jpeg", 80); err != nil || !bytes.Equal(native.Bytes(), data) {
				t.Errorf("the page's JPEG differs from the command line's at quality 80 (%v)", err)
			}
		}
	}
}

// TestBrowserExactSize: a Width gives that exact size (the height follows
// the aspect ratio), the pixels the command line's -width gives.
func TestBrowserExactSize(t *testing.T) {
	b := newBrowser(t)
	model := tinyModel(t, 17)
	srv := serveModel(t, model)
	in := testImagePNG(t, t.TempDir(), "photo.png", 150, 100)
	if err := b.do(chromedp.Navigate(srv.URL+"/"),
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{in}),
		waitJS(`document.getElementById("status").textContent.includes("150×100")`),
		chromedp.SendKeys(chromedp.ID("width"), "250"),
		waitJS(`document.getElementById("status").textContent.includes("→ 250×167 (the model at 2×, then shrunk)")`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`!document.getElementById("download").hidden`)); err != nil {
		t.Fatal(err)
	}
	data, name, err := download(t, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(data))
	if err != nil || name != "photo-250x167.png" {
		t.Fatalf("download %s: %v", name, err)
	}
	want := imaging.ResizeNRGBA(nativeUpscale(t, model, 2, in, 0), 250, 167)
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, want %v", got.Bounds(), want.Bounds())
	}
	for y := 0; y < 167; y++ {
		for x := 0; x < 250; x++ {
			if c := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA); c != want.NRGBAAt(x, y) {
				t.Fatalf("pixel (%d, %d): %v, the command line's %v", x, y, c, want.NRGBAAt(x, y))
			}
		}
	}
	// Beyond the largest scale with weights: said, not attempted.
	if err := b.do(chromedp.SetValue(chromedp.ID("width"), ""), chromedp.SendKeys(chromedp.ID("height"), "900"),
		waitJS(`document.getElementById("status").textContent.includes("is more than 2 times the image")`)); err != nil {
		t.Fatal(err)
	}
}

// differingPixels is how many pixels of a PNG file differ from want.
func differingPixels(t *testing.T, file []byte, want *image.NRGBA) int {
	t.Helper()
	got, err := png.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		return want.Rect.Dx() * want.Rect.Dy()
	}
	diff := 0
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			if color.NRGBAModel.Convert(got.At(x, y)) != want.NRGBAAt(x, y) {
				diff++
			}
		}
	}
	return diff
}

// TestBrowserBatch: several images chosen at once run one after another;
// a bad one fails alone with its reason; each result has its own Download
// (the command line's pixels) and Download all saves them in one zip,
// stored, under their names. Cancel stops a batch.
func TestBrowserBatch(t *testing.T) {
	b := newBrowser(t)
	model := tinyModel(t, 12)
	srv := serveModel(t, model)
	dir := t.TempDir()
	first := testImagePNG(t, dir, "first.png", 60, 40)
	second := testImageJPEG(t, testImagePNG(t, dir, "second.png", 30, 50), 80)
	notImage := filepath.Join(dir, "notes.txt")
	os.WriteFile(notImage, []byte("not a picture"), 0o644)
	err := b.do(
		chromedp.Navigate(srv.URL+"/"),
		waitJS(`!document.querySelector("#model option[value=general]").disabled`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{first, notImage, second}),
		waitJS(`document.getElementById("status").textContent.includes("first.png: 60×40 → 120×80 at 2× (and 2 more images)")`),
		waitJS(`document.querySelectorAll("#batch li").length === 3 && !document.getElementById("download-all").hidden`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`[...document.querySelectorAll("#batch li")].every((li) => li.dataset.state === "done" || li.dataset.state === "failed")`),
		waitJS(`!document.getElementById("enhance").disabled`),
	)
	if err != nil {
		t.Fatal(err)
	}
	states := eval[[]string](b, `[...document.querySelectorAll("#batch li")].map((li) => li.dataset.state + ": " + li.querySelector(".state").textContent)`)
	if len(states) != 3 || states[0] != "done: Done" || !strings.HasPrefix(states[1], "failed: ") || !strings.Contains(states[1], "not an image") || states[2] != "done: Done" {
		t.Errorf("batch states %q", states)
	}
	if status := eval[string](b, `document.getElementById("status").textContent`); !strings.Contains(status, "Done: 2 of 3 images") {
		t.Errorf("status %q", status)
	}
	wants := map[string]*image.NRGBA{"first-x2.png": nativeUpscale(t, model, 2, first, 0), "second-x2.png": nativeUpscale(t, model, 2, second, 0)}
	files := map[string][]byte{}
	for i, want := range []string{"first-x2.png", "", "second-x2.png"} {
		if want == "" {
			if shown := eval[bool](b, `!document.querySelectorAll("#batch li")[1].querySelector("a").hidden`); shown {
				t.Error("the failed image offers a download")
			}
			continue
		}
		data, name, err := downloadFrom(t, b, fmt.Sprintf("#batch li:nth-child(%d) a", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if name != want {
			t.Errorf("image %d downloaded as %q, want %q", i+1, name, want)
		}
		if n := differingPixels(t, data, wants[want]); n != 0 {
			t.Errorf("%s: %d pixels differ from the command line's", want, n)
		}
		files[want] = data
	}
	zipped, name, err := downloadFrom(t, b, "#download-all")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil || name != "upscaled.zip" || len(zr.File) != 2 {
		t.Fatalf("Download all: %q, %v, %d files", name, err, len(zr.File))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Method != zip.Store || !bytes.Equal(data, files[f.Name]) {
			t.Errorf("zip entry %q: method %d, same bytes as its download %v", f.Name, f.Method, bytes.Equal(data, files[f.Name]))
		}
	}

	// Cancel stops the batch: the image under way and those after it.
	var big []string
	for _, n := range []string{"a.png", "b.png", "c.png"} {
		big = append(big, testImagePNG(t, dir, n, 1200, 900))
	}
	err = b.do(
		chromedp.SetUploadFiles(chromedp.ID("file"), big),
		waitJS(`document.querySelectorAll("#batch li").length === 3 && !document.getElementById("enhance").disabled`),
		chromedp.Click(chromedp.ID("enhance")),
		waitJS(`Number(document.querySelector("[role=progressbar]").getAttribute("aria-valuenow")) >= 2`),
		chromedp.Click(chromedp.ID("cancel")),
		waitJS(`document.getElementById("status").textContent === "Cancelled."`),
	)
	if err != nil {
		t.Fatal(err)
	}
	states = eval[[]string](b, `[...document.querySelectorAll("#batch li")].map((li) => li.dataset.state)`)
	if !slices.Equal(states, []string{"cancelled", "cancelled", "cancelled"}) {
		t.Errorf("after Cancel: %q", states)
	}
	if ok := eval[bool](b, `!document.getElementById("enhance").disabled && document.getElementById("download").hidden`); !ok {
		t.Error("after Cancel: Enhance not offered again, or a download offered")
	}
	for _, e := range b.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}
