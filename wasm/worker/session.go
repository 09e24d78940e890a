package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/srcnn-web/upscaler/core"
	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/kernels"
	"github.com/srcnn-web/upscaler/core/network"
)

// Limits of the page: larger images would not fit a browser tab's memory.
const (
	// MaxInputPixels is the largest image the page accepts.
	MaxInputPixels = 16_000_000
	// MaxOutputPixels is the largest result the page makes.
	MaxOutputPixels = 64_000_000
	// PageTile is the side of the tiles the page hands to its workers: small
	// enough for smooth progress and a prompt cancel.
	PageTile = 256
)

// Session is one worker's state: the models it has loaded and the images
// it is working on. The page talks to it through messages (see main.go);
// everything here is plain Go so that it can be tested natively too.
type Session struct {
	models map[string]*network.Model
	scales map[string]int
	jobs   map[int]*job
}

type job struct {
	img      image.Image
	quality  int // the file's JPEG quality, 0 if it is no JPEG
	planes   imaging.Planes
	enhancer *core.Enhancer
}

// NewSession returns an empty session.
func NewSession() *Session {
	return &Session{models: map[string]*network.Model{}, scales: map[string]int{}, jobs: map[int]*job{}}
}

// LoadModel reads a weights file the page fetched and keeps it under name.
func (s *Session) LoadModel(name string, data []byte) error {
	m, f, err := network.LoadWeights(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("the %s weights failed to load: %v", name, err)
	}
	s.models[name], s.scales[name] = m, f.Scale
	return nil
}

// OpenInfo tells the page about an opened image.
type OpenInfo struct {
	Size image.Point
	// Quality is the JPEG quality read from the file (0: not a JPEG), and
	// Auto the denoise strength that the "auto" setting gives it.
	Quality int
	Auto    float32
}

// PreviewSide is the longest side of the preview of an opened image: about
// what the compare view shows of a whole image.
const PreviewSide = 1024

// Preview returns the image shrunk to fit PreviewSide (as it is if it
// fits), as non-premultiplied RGBA, for the page to show at once.
func (s *Session) Preview(id int) (*image.NRGBA, error) {
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("no image %d is open", id)
	}
	b := j.img.Bounds()
	f := min(1, float64(PreviewSide)/float64(max(b.Dx(), b.Dy())))
	dst := image.NewNRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*f+0.5)), max(1, int(float64(b.Dy())*f+0.5))))
	xdraw.ApproxBiLinear.Scale(dst, dst.Rect, j.img, b, xdraw.Src, nil)
	return dst, nil
}

// Open decodes an image file (applying EXIF orientation) and keeps it as
// job id.
func (s *Session) Open(id int, file []byte) (OpenInfo, error) {
	img, _, err := imaging.Decode(bytes.NewReader(file), MaxInputPixels)
	if err != nil {
		return OpenInfo{}, err
	}
	auto, q := core.AutoStrength(file)
	s.jobs[id] = &job{img: img, quality: q}
	return OpenInfo{Size: img.Bounds().Size(), Quality: q, Auto: auto}, nil
}

// StartInfo tells the page the size of the result and its tiles.
type StartInfo struct {
	Width, Height int
	Tiles         []image.Rectangle
	Strength      float32 // the restoration strength used (0 for networks without the control)
	Restore       bool    // the real-photo network ran (blur and noise), not the JPEG-aware one
	Reading       string  // what auto read (core.Reading's words) when it restores; "" otherwise
	Opaque        bool    // the image has no transparency (nor will the result)
	Detailed      bool    // the Detailed look's network itself ran (not a JPEG-aware or real-photo one beside it)
}

// Start prepares job id for enhancement with a loaded model and a
// restoration setting (core.ParseDenoise's: auto, a level or a strength).
// Above strength 0 the model's JPEG-aware network, loaded as
// <model>-denoise, or its real-photo one, loaded as <model>-restore, runs
// instead where there is one (core.Networks); a model named
// <name>-detailed is a Detailed-look network, beside which the JPEG-aware
// one takes only hard JPEGs. Auto reads the file's JPEG quality and, with
// the degradation estimator loaded as "estimator", the image's pixels
// (core.ReadImage).
func (s *Session) Start(id int, model, denoise string) (StartInfo, error) {
	j, ok := s.jobs[id]
	if !ok {
		return StartInfo{}, fmt.Errorf("no image %d is open", id)
	}
	m, ok := s.models[model]
	if !ok {
		return StartInfo{}, fmt.Errorf("model %s is not loaded", model)
	}
	scale := s.scales[model]
	b := j.img.Bounds()
	w, h := b.Dx()*scale, b.Dy()*scale
	if int64(w)*int64(h) > MaxOutputPixels {
		return StartInfo{}, fmt.Errorf("the result would be %dx%d (%.0f megapixels), over the page's limit of %.0f megapixels: choose a smaller scale or image",
			w, h, float64(w)*float64(h)/1e6, float64(MaxOutputPixels)/1e6)
	}
	level, auto, err := core.ParseDenoise(denoise)
	if err != nil {
		return StartInfo{}, err
	}
	r := core.Chosen(j.quality, level)
	said := ""
	nets := core.Networks{Clean: m, Denoise: s.models[model+"-denoise"], Restore: s.models[model+"-restore"], Detailed: strings.HasSuffix(model, "-detailed")}
	if auto {
		r = nets.ReadImage(j.quality, j.img, s.models["estimator"], scale)
	}
	m, strength := nets.For(r)
	if auto && strength > 0 {
		said = r.String() // as train upscale says it: only when it restores
	}
	j.enhancer = core.NewEnhancer(m, scale)
	j.enhancer.Tile = PageTile
	j.enhancer.Strength = strength
	j.planes = j.enhancer.Prepare(j.img)
	return StartInfo{Width: w, Height: h, Tiles: j.enhancer.Tiles(w, h), Strength: strength, Restore: r.Restore && strength > 0, Reading: said, Opaque: j.planes.Alpha == nil,
		Detailed: nets.Detailed && m == nets.Clean}, nil
}

// Tile computes one tile of job id: the enhanced pixels as RGBA (not
// premultiplied), row by row.
func (s *Session) Tile(id int, r image.Rectangle) ([]byte, error) {
	j, err := s.startedTile(id, r)
	if err != nil {
		return nil, err
	}
	enh := image.NewNRGBA(r)
	j.enhancer.RenderTile(j.planes, r, enh)
	return enh.Pix, nil
}

// GPULayer is one convolution of a network for the GPU: Out filters of
// In x Size x Size weights ([Out][In][Size][Size]), a bias per filter, and
// after it ReLU, PReLU with Slope (per filter), or, for the last layer,
// nothing.
type GPULayer struct {
	Size, In, Out int
	Weight, Bias  []float32
	Slope         []float32 // nil: ReLU
	Last          bool
}

// GPULayers returns the layers of the network job id runs (after Start),
// and a key naming that network, for the page to upload it to a GPU once.
// Networks at the input's resolution only; others have none (nil).
func (s *Session) GPULayers(id int) (key string, layers []GPULayer, err error) {
	j, ok := s.jobs[id]
	if !ok || j.enhancer == nil {
		return "", nil, fmt.Errorf("image %d is not started", id)
	}
	m := j.enhancer.Model
	if m == nil || !m.Config.LowRes() {
		return "", nil, nil
	}
	in := m.Config.Inputs()
	for i, l := range m.Config.Layers {
		w, b := m.Kernel(i)
		layers = append(layers, GPULayer{Size: l.Size, In: in, Out: l.Filters, Weight: w, Bias: b, Slope: m.Slope(i), Last: i == len(m.Config.Layers)-1})
		in = l.Filters
	}
	return fmt.Sprintf("%p", m), layers, nil
}

// TileInput returns the network's input for tile r of job id (see
// core.Enhancer.TileInput), for a GPU to run.
func (s *Session) TileInput(id int, r image.Rectangle) (core.NetInput, error) {
	j, err := s.startedTile(id, r)
	if err != nil {
		return core.NetInput{}, err
	}
	return j.enhancer.TileInput(j.planes, r), nil
}

// TileFrom is Tile with the network's result computed by a GPU: out holds
// its last layer's planes over rect (in the coordinates of TileInput's
// planes), tight.
func (s *Session) TileFrom(id int, r image.Rectangle, out []float32, rect image.Rectangle) ([]byte, error) {
	j, err := s.startedTile(id, r)
	if err != nil {
		return nil, err
	}
	in := j.enhancer.TileInput(j.planes, r)
	layers := j.enhancer.Model.Config.Layers
	channels := layers[len(layers)-1].Filters
	if !rect.In(image.Rect(0, 0, in.W, in.H)) || len(out) != channels*rect.Dx()*rect.Dy() {
		return nil, fmt.Errorf("the network's result (%d values over %v) does not fit tile %v", len(out), rect, r)
	}
	enh := image.NewNRGBA(r)
	j.enhancer.RenderTileFrom(j.planes, r, enh, in, network.NewMaps(out, channels, rect))
	return enh.Pix, nil
}

// startedTile checks that job id is started and r is a tile of its result.
func (s *Session) startedTile(id int, r image.Rectangle) (*job, error) {
	j, ok := s.jobs[id]
	if !ok || j.enhancer == nil {
		return nil, fmt.Errorf("image %d is not started", id)
	}
	w, h := j.enhancer.OutputSize(j.planes.C[0].W, j.planes.C[0].H)
	if !r.In(image.Rect(0, 0, w, h)) || r.Empty() {
		return nil, fmt.Errorf("tile %v is outside the %dx%d result", r, w, h)
	}
	return j, nil
}

// Source returns job id's image as decoded (upright), as non-premultiplied
// RGBA: the compare view enlarges it with bicubic itself.
func (s *Session) Source(id int) (*image.NRGBA, error) {
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("no image %d is open", id)
	}
	b := j.img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(dst, dst.Rect, j.img, b.Min, xdraw.Src)
	return dst, nil
}

// Close forgets job id.
func (s *Session) Close(id int) { delete(s.jobs, id) }

// KernelShape is a GEMM: M filters, K inputs x k x k, N pixels; Side is
// the convolution's k (0 for a product with no convolution behind it).
type KernelShape struct {
	Name          string
	M, K, N, Side int
}

// KernelShapes are the GEMMs of SRCNN layers on a 140x140 tile (a 128 tile
// and its halo).
var KernelShapes = []KernelShape{
	{"9x9x1to64", 64, 81, 19600, 9}, {"1x1x64to32", 32, 64, 19600, 1}, {"5x5x64to32", 32, 1600, 19600, 5},
	{"3x3x16to16", 16, 144, 19600, 3}, {"3x3x128to64", 64, 1152, 19600, 3},
}

// BenchKernels times the active matrix kernel and the pure-Go one on each
// layer shape, and the active convolution kernel ("conv") where there is
// one and the shape has a convolution side, and returns GFLOP/s, as
// "shape/kernel" -> value: the numbers of the browser this runs in.
func BenchKernels(shapes []KernelShape, minTime time.Duration) map[string]float64 {
	out := map[string]float64{}
	for _, s := range shapes {
		a, b, c := make([]float32, s.M*s.K), make([]float32, s.K*s.N), make([]float32, s.M*s.N)
		for i := range b {
			b[i] = float32(i%13) * 0.1
		}
		for i := range a {
			a[i] = float32(i%7) * 0.1
		}
		for _, k := range []struct {
			name string
			f    kernels.MatMulFunc
		}{{"active", kernels.ActiveMatMul()}, {"go", kernels.MatMulGo}} {
			k.f(s.M, s.N, s.K, a, s.K, b, s.N, c, s.N) // warm up
			start := time.Now()
			runs := 0
			for time.Since(start) < minTime || runs < 2 {
				k.f(s.M, s.N, s.K, a, s.K, b, s.N, c, s.N)
				runs++
			}
			out[s.Name+"/"+k.name] = 2 * float64(s.M*s.N*s.K) * float64(runs) / time.Since(start).Seconds() / 1e9
		}
		if conv := kernels.ActiveConv(); conv != nil && s.Side > 0 {
			out[s.Name+"/conv"] = benchConv(conv, s, minTime)
		}
	}
	return out
}

// benchConv times a convolution the way inference runs it: the product
// reads the rows of B at offsets into the input maps (a 140x140 tile with
// its border, no im2col), with bias and ReLU.
func benchConv(conv kernels.ConvFunc, s KernelShape, minTime time.Duration) float64 {
	const side = 140
	k := s.Side
	stride, in := side+k-1, s.K/(k*k)
	maps := make([]float32, in*stride*stride)
	for i := range maps {
		maps[i] = float32(i%11) * 0.1
	}
	boff := make([]int32, s.K)
	for p := range boff {
		c, dy, dx := p/(k*k), p/k%k, p%k
		boff[p] = int32(c*stride*stride + dy*stride + dx)
	}
	a, bias := make([]float32, s.M*s.K), make([]float32, s.M)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	n := (side-1)*stride + side
	out := make([]float32, s.M*side*stride)
	conv(s.M, n, s.K, a, s.K, maps, boff, out, side*stride, bias, true) // warm up
	start := time.Now()
	runs := 0
	for time.Since(start) < minTime || runs < 2 {
		conv(s.M, n, s.K, a, s.K, maps, boff, out, side*stride, bias, true)
		runs++
	}
	return 2 * float64(s.M*s.K*side*side) * float64(runs) / time.Since(start).Seconds() / 1e9
}

// enhanceAll runs every tile of a started job, as the page's pool does, and
// assembles the result (used by tests).
func (s *Session) enhanceAll(ctx context.Context, id int, info StartInfo) (*image.NRGBA, error) {
	out := image.NewNRGBA(image.Rect(0, 0, info.Width, info.Height))
	for _, r := range info.Tiles {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		enh, err := s.Tile(id, r)
		if err != nil {
			return nil, err
		}
		for y := 0; y < r.Dy(); y++ {
			copy(out.Pix[out.PixOffset(r.Min.X, r.Min.Y+y):][:4*r.Dx()], enh[y*4*r.Dx():][:4*r.Dx()])
		}
	}
	return out, nil
}
