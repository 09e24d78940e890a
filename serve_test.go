package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training/trainingtest"
)

// testSite builds the wasm programs (once, cached by their stamp) and
// loads the site with weights from dir.
func testSite(t testing.TB, weightsDir string) *site {
	t.Helper()
	buildOnce.Do(func() { buildErr = buildWasm(".") })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	s, err := loadSite("site", os.DirFS(weightsDir), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	buildOnce sync.Once
	buildErr  error
)

// tinyModel is a small network the tests train nothing with: it only has
// to be the same model in the page and natively.
func tinyModel(t testing.TB, seed uint64) *network.Model {
	t.Helper()
	cfg := network.Config{Preset: "tiny", Channels: 1, Residual: true,
		Layers: []network.Layer{{Size: 5, Filters: 16}, {Size: 1, Filters: 8}, {Size: 3, Filters: 1}}}
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(seed, 3)))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Weights[2].Value().Data().F32() {
		m.Weights[2].Value().Data().F32()[i] = v * 20 // make the network's part visible
	}
	return m
}

// tinyLowResModel is a small network at the input's resolution (x2,
// depth-to-space, bicubic anchor), trained as re-parameterized layers.
func tinyLowResModel(t testing.TB, seed uint64) *network.Model {
	t.Helper()
	cfg := network.Config{Preset: "tiny-lr", Channels: 1, Residual: true, Shuffle: 2,
		Layers: []network.Layer{{Size: 3, Filters: 8}, {Size: 3, Filters: 8}, {Size: 3, Filters: 4}}}
	m, err := network.NewECBModel(cfg, rand.New(rand.NewPCG(seed, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Branches[2].Params() {
		for i, v := range p.Value().Data().F32() {
			p.Value().Data().F32()[i] = v * 20 // make the network's part visible
		}
	}
	return m.Plain()
}

// writeWeights saves m as dir/name.
func writeWeights(t testing.TB, dir, name string, m *network.Model, scale int) {
	t.Helper()
	var buf bytes.Buffer
	if err := network.SaveWeights(&buf, m, scale, network.TrainingInfo{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServer(t *testing.T) {
	weights := t.TempDir()
	writeWeights(t, weights, "general-x2.gob", tinyModel(t, 1), 2)
	writeWeights(t, weights, "portrait-x3.gob", tinyModel(t, 2), 2) // wrong scale: not served
	// Trained without validation: its validation PSNR is NaN.
	var noVal bytes.Buffer
	if err := network.SaveWeights(&noVal, tinyLowResModel(t, 3), 2, network.TrainingInfo{ValPSNR: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(weights, "portrait-x2.gob"), noVal.Bytes(), 0o644)
	// general's JPEG-aware network: the companion of both x2 models.
	writeWeights(t, weights, "general-x2-denoise.gob", widenedWithStrength(t, tinyLowResModel(t, 4)), 2)
	// and its Detailed-look network: the Detailed look of both x2 models.
	writeWeights(t, weights, "general-x2-detailed.gob", tinyLowResModel(t, 5), 2)
	// and its real-photo network, and the degradation estimator.
	writeWeights(t, weights, "general-x2-restore.gob", widenedWithStrength(t, tinyLowResModel(t, 6)), 2)
	writeWeights(t, weights, "estimator.gob", trainingtest.ConstantEstimator(t, 0.5), 2)
	os.WriteFile(filepath.Join(weights, "general-x4.gob"), []byte("damaged"), 0o644)
	srv := httptest.NewServer(testSite(t, weights))
	defer srv.Close()

	get := func(method, path, enc string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", enc)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	cases := []struct {
		method, path, enc string
		status            int
		ctype, encoding   string
	}{
		{"GET", "/", "", 200, "text/html; charset=utf-8", ""},
		{"GET", "/index.html", "gzip", 200, "text/html; charset=utf-8", "gzip"},
		{"GET", "/gen/worker.wasm", "gzip, br", 200, "application/wasm", "br"},
		{"GET", "/gen/viewer.wasm", "br;q=0, gzip", 200, "application/wasm", "gzip"},
		{"GET", "/app.js", "identity", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/weights/general-x2.gob", "", 200, "application/octet-stream", ""},
		{"GET", "/weights/general-x4.gob", "", 404, "", ""},  // damaged: not served
		{"GET", "/weights/portrait-x3.gob", "", 404, "", ""}, // wrong scale: not served
		{"HEAD", "/sw.js", "", 200, "text/javascript; charset=utf-8", ""},
		{"POST", "/index.html", "", 405, "", ""},
		{"PUT", "/weights/general-x2.gob", "", 405, "", ""},
		{"GET", "/../go.mod", "", 404, "", ""},
		{"GET", "/%2e%2e/serve.go", "", 404, "", ""},
		{"GET", "/site/index.html", "", 404, "", ""},
		{"GET", "/gen/", "", 404, "", ""},
		{"GET", "/weights/", "", 404, "", ""},
		{"GET", "/gen/stamp", "", 404, "", ""},
	}
	for _, tc := range cases {
		res := get(tc.method, tc.path, tc.enc)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
			continue
		}
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), "connect-src 'self'") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: security headers missing", tc.method, tc.path)
		}
		if tc.status != 200 {
			continue
		}
		if got := res.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
		}
		if got := res.Header.Get("Content-Encoding"); got != tc.encoding {
			t.Errorf("%s %s: Content-Encoding %q, want %q", tc.method, tc.path, got, tc.encoding)
		}
		if tc.method == "HEAD" {
			if len(body) != 0 {
				t.Errorf("HEAD %s has a body", tc.path)
			}
			continue
		}
		// The compressed forms decode to the file itself.
		plain := get("GET", tc.path, "")
		want, _ := io.ReadAll(plain.Body)
		plain.Body.Close()
		var r io.Reader = bytes.NewReader(body)
		switch tc.encoding {
		case "gzip":
			r, _ = gzip.NewReader(r)
		case "br":
			r = brotli.NewReader(r)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s %s: %s body does not decode to the file (%v)", tc.method, tc.path, tc.encoding, err)
		}
	}

	// The index lists only the weights that load, at the right scale.
	res := get("GET", "/weights/index.json", "")
	index, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(index), `weights/general-x2.gob`) || !strings.Contains(string(index), `weights/portrait-x2.gob`) ||
		strings.Contains(string(index), "x4") || strings.Contains(string(index), "portrait-x3") {
		t.Errorf("weights/index.json: %s", index)
	}
	var entries []weightsEntry
	if err := json.Unmarshal(index, &entries); err != nil {
		t.Fatal(err)
	}
	listed := map[string]weightsEntry{}
	for _, e := range entries {
		listed[e.File] = e
	}
	for _, want := range []weightsEntry{
		{File: "weights/general-x2.gob", Companion: "weights/general-x2-denoise.gob", Detailed: "weights/general-x2-detailed.gob", Restore: "weights/general-x2-restore.gob"},
		// portrait has none of its own
		{File: "weights/portrait-x2.gob", Companion: "weights/general-x2-denoise.gob", Detailed: "weights/general-x2-detailed.gob", Restore: "weights/general-x2-restore.gob"},
		{File: "weights/general-x2-denoise.gob"},
		{File: "weights/general-x2-detailed.gob", Look: "detailed"},
		{File: "weights/general-x2-restore.gob", RealPhoto: true},
		{File: "weights/estimator.gob", Estimator: true},
	} {
		got, ok := listed[want.File]
		if !ok || got.Companion != want.Companion || got.Detailed != want.Detailed || got.Look != want.Look ||
			got.Restore != want.Restore || got.RealPhoto != want.RealPhoto || got.Estimator != want.Estimator {
			t.Errorf("index: %s listed %v as %+v, want %+v", want.File, ok, got, want)
		}
	}
	// The web app manifest, and the icons it lists at their sizes.
	res = get("GET", "/manifest.webmanifest", "")
	var manifest struct {
		Name, Display, StartURL string
		Icons                   []struct{ Src, Sizes, Type string }
	}
	err := json.NewDecoder(res.Body).Decode(&manifest)
	res.Body.Close()
	if err != nil || res.Header.Get("Content-Type") != "application/manifest+json" || manifest.Name == "" || manifest.Display != "standalone" || len(manifest.Icons) < 2 {
		t.Fatalf("manifest: %v, %s, %+v", err, res.Header.Get("Content-Type"), manifest)
	}
	for _, icon := range manifest.Icons {
		res := get("GET", "/"+icon.Src, "")
		img, err := png.Decode(res.Body)
		res.Body.Close()
		if err != nil || fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy()) != icon.Sizes || icon.Type != "image/png" {
			t.Errorf("icon %+v: %v", icon, err)
		}
	}
	// An unchanged file costs a 304.
	res = get("GET", "/app.js", "")
	etag := res.Header.Get("ETag")
	res.Body.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	res, _ = http.DefaultTransport.RoundTrip(req)
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
}

// TestWasmSourceDirs: the wasm programs' build stamp reads the folders of
// the packages they import, and not the training code's.
func TestWasmSourceDirs(t *testing.T) {
	dirs, err := wasmSourceDirs(".")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(".")
	has := map[string]bool{}
	for _, d := range dirs {
		rel, _ := filepath.Rel(abs, d)
		has[filepath.ToSlash(rel)] = true
	}
	for dir, want := range map[string]bool{"core": true, "core/network": true, "core/kernels": true, "core/imaging": true,
		"wasm/worker": true, "wasm/viewer": true, "wasm/simd": true, "core/training": false, "core/degrade": false, "train": false} {
		if has[dir] != want {
			t.Errorf("%s among the wasm sources: %v, want %v (all: %v)", dir, has[dir], want, dirs)
		}
	}
}

func TestWasmBuildIsCached(t *testing.T) {
	testSite(t, t.TempDir())
	before, err := os.Stat("site/gen/worker.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := buildWasm("."); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat("site/gen/worker.wasm")
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("the wasm was rebuilt although no Go source changed")
	}
}

func TestAcceptsEncoding(t *testing.T) {
	cases := []struct {
		header, enc string
		want        bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip;q=1.0, br;q=0", "br", false},
		{"gzip;q=0.5", "gzip", true},
		{"", "gzip", false},
		{"GZIP", "gzip", true},
		{"identity", "br", false},
	}
	for _, tc := range cases {
		if got := acceptsEncoding(tc.header, tc.enc); got != tc.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v", tc.header, tc.enc, got)
		}
	}
}
