// Command upscaler serves the in-browser upscaler on loopback:
//
//	go run .                  build the wasm programs if needed, serve on 127.0.0.1:8080
//	go run . -addr :9000      another address
//	go run . -dist DIR        write the static site to DIR and exit
//
// The page, its wasm and the weights are held in memory, precompressed, and
// served with GET and HEAD only; nothing else on disk can be reached.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/weights"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	dist := flag.String("dist", "", "write the static site to this folder and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "upscaler: unexpected argument %q (see -h)\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(*addr, *dist); err != nil {
		fmt.Fprintln(os.Stderr, "upscaler:", err)
		os.Exit(1)
	}
}

func run(addr, dist string) error {
	if err := buildWasm("."); err != nil {
		return err
	}
	s, err := loadSite("site", weights.FS, log.Printf)
	if err != nil {
		return err
	}
	if dist != "" {
		if err := s.export(dist); err != nil {
			return err
		}
		fmt.Printf("wrote the static site to %s (%d files)\n", dist, len(s.assets))
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("serving the upscaler at http://%s/\n", ln.Addr())
	return http.Serve(ln, s)
}

// ---- building the wasm programs ----------------------------------------

// wasmPrograms are built into site/gen as name.wasm.
var wasmPrograms = map[string]string{"worker": "./wasm/worker", "viewer": "./wasm/viewer"}

// buildWasm builds the js/wasm programs and copies wasm_exec.js into
// site/gen, unless the Go sources and toolchain are unchanged since the
// last build (a hash kept in site/gen/stamp).
func buildWasm(root string) error {
	gen := filepath.Join(root, "site", "gen")
	stamp, err := sourceStamp(root)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(filepath.Join(gen, "stamp")); err == nil && string(old) == stamp {
		return nil
	}
	if err := os.MkdirAll(gen, 0o755); err != nil {
		return err
	}
	for name, pkg := range wasmPrograms {
		cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(gen, name+".wasm"), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s for the browser: %v\n%s", pkg, err, out)
		}
	}
	support, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("wasm_exec.js from the Go installation: %v", err)
	}
	if err := os.WriteFile(filepath.Join(gen, "wasm_exec.js"), support, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(gen, "stamp"), []byte(stamp), 0o644)
}

// goTool is the go command of the toolchain running this program.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// wasmSourceDirs lists the folders of this module's packages the wasm
// programs are built from (go list -deps for js/wasm), so that training
// code, which they never import, does not rebuild them.
func wasmSourceDirs(root string) ([]string, error) {
	args := []string{"list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}"}
	for _, pkg := range wasmPrograms {
		args = append(args, pkg)
	}
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the wasm programs' packages: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, d := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if d == abs || strings.HasPrefix(d, abs+string(filepath.Separator)) {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// sourceStamp hashes what the wasm programs are built from.
func sourceStamp(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	dirs, err := wasmSourceDirs(root)
	if err != nil {
		return "", err
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasSuffix(name, "_test.go") || (filepath.Ext(name) != ".go" && filepath.Ext(name) != ".s") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return "", err
			}
			rel, _ := filepath.Rel(root, filepath.Join(dir, name))
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(data))
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ---- the site in memory --------------------------------------------------

// asset is one file of the site, with its precompressed forms.
type asset struct {
	body, gzip, brotli []byte
	contentType, etag  string
	key                string // hash of the body, naming its compressed forms
}

// site maps URL paths (relative: "index.html", "gen/worker.wasm") to assets.
type site struct {
	assets   map[string]*asset
	cacheDir string // where compressed forms are kept between runs ("": none)
}

// pageFiles are the site's own files; sw.js is generated from a template.
var pageFiles = []string{"index.html", "app.js", "style.css", "favicon.svg", "manifest.webmanifest", "worker.js",
	"gemm-simd.wasm", "viewer.html", "viewer.js", "viewer.css", "gpu.js", "bench.html", "bench.js"}

// weightsEntry describes shipped weights in weights/index.json.
type weightsEntry struct {
	Model   string  `json:"model"`
	Scale   int     `json:"scale"`
	Preset  string  `json:"preset"`
	File    string  `json:"file"`
	ValPSNR float64 `json:"valPSNR"`
	Denoise bool    `json:"denoise"` // the network takes a denoise strength
	// Companion is the JPEG-aware file that takes over from a clean
	// network above denoise strength 0 (weights.Companion), if one is served.
	Companion string `json:"companion,omitempty"`
	// Look is "detailed" for a Detailed-look network; Detailed names the
	// Detailed-look file for a faithful network (weights.Detailed), if one
	// is served.
	Look     string `json:"look,omitempty"`
	Detailed string `json:"detailed,omitempty"`
	// Restore is the real-photo file that takes over from a clean network
	// on blurred and noisy pixels (weights.Restoring), if one is served.
	Restore string `json:"restore,omitempty"`
	// RealPhoto marks a real-photo network's own entry.
	RealPhoto bool `json:"realPhoto,omitempty"`
	// Estimator marks the degradation estimator's entry (model "estimator").
	Estimator bool `json:"estimator,omitempty"`
}

// loadSite reads the page and its built wasm from siteDir, the shipped
// weights in weightsFS that load (weights.FS: the embedded set), and
// generates weights/index.json and sw.js.
func loadSite(siteDir string, weightsFS fs.FS, logf func(string, ...any)) (*site, error) {
	s := &site{assets: map[string]*asset{}, cacheDir: filepath.Join(siteDir, "gen", "compressed")}
	for _, f := range pageFiles {
		if err := s.addFile(f, filepath.Join(siteDir, f)); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"worker.wasm", "viewer.wasm", "wasm_exec.js"} {
		if err := s.addFile("gen/"+f, filepath.Join(siteDir, "gen", f)); err != nil {
			return nil, err
		}
	}
	// The installed app's icons (the manifest lists them).
	for _, side := range iconSizes {
		s.add(fmt.Sprintf("icon-%d.png", side), iconPNG(side))
	}
	// wasm_exec.js is loaded from the page's folder by worker.js and viewer.html.
	s.assets["wasm_exec.js"] = s.assets["gen/wasm_exec.js"]
	delete(s.assets, "gen/wasm_exec.js")

	entries, err := weights.List(weightsFS)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	index := []weightsEntry{}
	for _, e := range entries {
		data, err := fs.ReadFile(weightsFS, e.File)
		if err != nil {
			return nil, err
		}
		model, wf, err := network.LoadWeights(bytes.NewReader(data))
		if err != nil {
			logf("warning: not serving %s: %v", e.File, err)
			continue
		}
		if wf.Scale != e.Scale {
			logf("warning: not serving %s: it holds x%d weights", e.File, wf.Scale)
			continue
		}
		s.add("weights/"+e.File, data)
		if math.IsNaN(wf.Training.ValPSNR) || math.IsInf(wf.Training.ValPSNR, 0) {
			wf.Training.ValPSNR = 0 // trained without validation; JSON has no NaN
		}
		index = append(index, weightsEntry{Model: e.Model, Scale: wf.Scale, Preset: model.Config.Preset, File: "weights/" + e.File, ValPSNR: wf.Training.ValPSNR, Denoise: model.Config.Strength && !e.Restore, Look: e.Look, RealPhoto: e.Restore})
	}
	jpegAware, detailed, restoring := map[string]bool{}, map[string]bool{}, map[string]bool{} // the companions served
	for _, e := range index {
		jpegAware[e.File] = e.Denoise && e.Look == ""
		detailed[e.File] = e.Look == "detailed"
		restoring[e.File] = e.RealPhoto
	}
	for i, e := range index {
		if e.Denoise || e.Look != "" || e.RealPhoto {
			continue
		}
		if name, ok := weights.Restoring(weightsFS, e.Model, e.Scale); ok && restoring["weights/"+name] {
			index[i].Restore = "weights/" + name
		}
		if name, ok := weights.Companion(weightsFS, e.Model, e.Scale); ok && jpegAware["weights/"+name] {
			index[i].Companion = "weights/" + name
		}
		if name, ok := weights.Detailed(weightsFS, e.Model, e.Scale); ok && detailed["weights/"+name] {
			index[i].Detailed = "weights/" + name
		}
	}
	// The degradation estimator automatic restoration reads pixels with.
	if data, err := fs.ReadFile(weightsFS, weights.Estimator); err == nil {
		if m, _, err := network.LoadWeights(bytes.NewReader(data)); err != nil || !m.Config.Estimator {
			logf("warning: not serving %s: not a loadable degradation estimator (%v)", weights.Estimator, err)
		} else {
			s.add("weights/"+weights.Estimator, data)
			index = append(index, weightsEntry{Model: "estimator", Preset: m.Config.Preset, File: "weights/" + weights.Estimator, Estimator: true})
		}
	}
	sort.Slice(index, func(i, j int) bool { return index[i].File < index[j].File })
	js, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return nil, err
	}
	s.add("weights/index.json", js)

	// The service worker caches everything, under a version that changes
	// whenever any file does.
	tmpl, err := os.ReadFile(filepath.Join(siteDir, "sw.js"))
	if err != nil {
		return nil, err
	}
	paths := s.paths()
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s %s\n", p, s.assets[p].etag)
	}
	list, _ := json.Marshal(append([]string{"./"}, paths...))
	sw := strings.Replace(string(tmpl), "__VERSION__", hex.EncodeToString(h.Sum(nil))[:16], 1)
	sw = strings.Replace(sw, "__ASSETS__", string(list), 1)
	s.add("sw.js", []byte(sw))
	s.pruneCache()
	return s, nil
}

func (s *site) addFile(urlPath, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%v (is the page built? go run . builds it)", err)
	}
	s.add(urlPath, data)
	return nil
}

// compressible lists the types worth sending compressed.
var compressible = map[string]bool{".html": true, ".js": true, ".css": true, ".svg": true, ".json": true, ".webmanifest": true, ".wasm": true, ".gob": true}

func (s *site) add(urlPath string, data []byte) {
	ext := path.Ext(urlPath)
	ctype := mime.TypeByExtension(ext)
	switch ext {
	case ".wasm":
		ctype = "application/wasm"
	case ".gob":
		ctype = "application/octet-stream"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".webmanifest":
		ctype = "application/manifest+json"
	}
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	a := &asset{body: data, contentType: ctype, etag: `"` + key[:16] + `"`, key: key}
	if compressible[ext] {
		a.gzip = s.compressed(key+".gz", data, func(w io.Writer) io.WriteCloser {
			zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
			return zw
		})
		a.brotli = s.compressed(key+".br", data, func(w io.Writer) io.WriteCloser {
			return brotli.NewWriterLevel(w, brotli.BestCompression)
		})
	}
	s.assets[urlPath] = a
}

// compressed returns data compressed by the writer that newWriter makes,
// from the cache folder when an earlier run left it there: the best brotli
// level takes most of a minute on the wasm.
func (s *site) compressed(name string, data []byte, newWriter func(io.Writer) io.WriteCloser) []byte {
	file := filepath.Join(s.cacheDir, name)
	if s.cacheDir != "" {
		if c, err := os.ReadFile(file); err == nil {
			return c
		}
	}
	var buf bytes.Buffer
	w := newWriter(&buf)
	w.Write(data)
	w.Close()
	if s.cacheDir != "" && os.MkdirAll(s.cacheDir, 0o755) == nil {
		os.WriteFile(file, buf.Bytes(), 0o644)
	}
	return buf.Bytes()
}

// pruneCache deletes compressed files that no asset uses any more.
func (s *site) pruneCache() {
	used := map[string]bool{}
	for _, a := range s.assets {
		used[a.key+".gz"], used[a.key+".br"] = true, true
	}
	entries, _ := os.ReadDir(s.cacheDir)
	for _, e := range entries {
		if !used[e.Name()] {
			os.Remove(filepath.Join(s.cacheDir, e.Name()))
		}
	}
}

func (s *site) paths() []string {
	var ps []string
	for p := range s.assets {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// securityHeaders go on every response. The page needs nothing from other
// origins and sends nothing anywhere: connect-src 'self' keeps it so.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
		"connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; frame-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), interest-cohort=()",
	"X-Frame-Options":              "SAMEORIGIN",
}

// ServeHTTP serves the assets: GET and HEAD only, no listings, nothing
// outside the map.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == "" {
		p = "index.html"
	}
	a, ok := s.assets[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	// Files keep their names across versions, so caches must revalidate;
	// an unchanged file costs a 304.
	h.Set("Cache-Control", "no-cache")
	if p == "sw.js" {
		h.Set("Cache-Control", "no-cache, no-store")
	}
	body := a.body
	if a.gzip != nil {
		h.Set("Vary", "Accept-Encoding")
		switch enc := r.Header.Get("Accept-Encoding"); {
		case acceptsEncoding(enc, "br"):
			h.Set("Content-Encoding", "br")
			body = a.brotli
		case acceptsEncoding(enc, "gzip"):
			h.Set("Content-Encoding", "gzip")
			body = a.gzip
		}
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// acceptsEncoding reports whether an Accept-Encoding header allows enc.
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// export writes the site as plain files, for any static host. Every URL in
// the page is relative, so it works from a sub-path too.
func (s *site) export(dir string) error {
	for p, a := range s.assets {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, a.body, 0o644); err != nil {
			return err
		}
	}
	return nil
}
