package network

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"

	"github.com/srcnn-web/upscaler/core/imaging"
)

// Layer is one convolution of a network: a Size x Size kernel (odd) and its
// number of output Filters.
type Layer struct {
	Size    int
	Filters int
}

// Config describes a network: its convolutions in order (ReLU between
// them), the image channels it works on (1: Y, 3: RGB), and whether it
// learns a residual over the bicubic enlargement.
//
// With Shuffle 0 the network runs on the bicubic enlargement itself (SRCNN,
// VDSR): every layer on every output pixel, and a residual network adds
// its input. With Shuffle s > 0 it runs on the low-resolution image
// (FSRCNN, ESPCN, ECBSR): its last layer has Channels*s*s outputs, which
// depth-to-space rearranges into s x s output pixels each (channel
// c*s*s + dy*s + dx becomes pixel (dx, dy) of the block), and a residual
// network adds them to the bicubic enlargement (the anchor).
type Config struct {
	Preset   string
	Layers   []Layer
	Channels int
	Residual bool
	Shuffle  int
	// Strength: the network takes one more input plane, constant over the
	// image, the denoise strength from 0 (a clean input) to 1 (the
	// strongest compression artifacts); see StrengthForQuality.
	Strength bool
	// Activation between layers: "" (ReLU) or "prelu" (PReLU: negative
	// values times a learned slope per channel).
	Activation string
	// Anchor of a residual network at the input's resolution: "" (the
	// bicubic enlargement) or "repeat" (each input pixel repeated over its
	// s x s output pixels, as ABPN's anchor).
	Anchor string
	// Estimator: the network reads an image rather than enlarging it: at
	// every input pixel a value and a weight, pooled by the weights'
	// softmax into one number (core.EstimateStrength).
	Estimator bool
	// Sharpen is applied to the network's output planes, after the anchor
	// is added (the x4 Detailed networks' finish: see imaging.UnsharpMask); the
	// zero value does nothing.
	Sharpen imaging.UnsharpMask
}

// PReLU reports whether the network's activation is PReLU.
func (c Config) PReLU() bool { return c.Activation == "prelu" }

// RepeatAnchor reports whether the network's anchor is the repeated input.
func (c Config) RepeatAnchor() bool { return c.Anchor == "repeat" }

// Inputs is the number of planes the network reads: the channels, and the
// strength plane if any.
func (c Config) Inputs() int {
	if c.Strength {
		return c.Channels + 1
	}
	return c.Channels
}

// Presets are the networks the product knows by name.
var Presets = map[string]Config{
	// SRCNN 9-1-5 (Dong et al. 2016), on Y.
	"srcnn-915": {Preset: "srcnn-915", Channels: 1, Layers: []Layer{{9, 64}, {1, 32}, {5, 1}}},
	// SRCNN 9-5-5, the paper's best, on Y.
	"srcnn-955": {Preset: "srcnn-955", Channels: 1, Layers: []Layer{{9, 64}, {5, 32}, {5, 1}}},
	// FSRCNN's shape (Dong et al. 2016: extract, shrink, map, expand) run at
	// output resolution after bicubic: a deeper net for 9-1-5's cost.
	"fsrcnn-hr": {Preset: "fsrcnn-hr", Channels: 1, Layers: []Layer{{5, 32}, {1, 12}, {3, 12}, {3, 12}, {3, 12}, {3, 12}, {1, 32}, {5, 1}}},
	// Thin VDSR-like stacks (Kim et al. 2016): 3x3 layers of 16 filters,
	// six or eight deep. Depth buys more than width at this cost.
	"vdsr16-6": {Preset: "vdsr16-6", Channels: 1, Layers: thinStack(6, 16)},
	"vdsr16-8": {Preset: "vdsr16-8", Channels: 1, Layers: thinStack(8, 16)},
	// The original student project's network: 3x3 x3, 128/64 filters, RGB.
	"seed": {Preset: "seed", Channels: 3, Layers: []Layer{{3, 128}, {3, 64}, {3, 3}}},
	// ECBSR-shaped networks at the input's resolution (Zhang et al. 2021):
	// a 3x3 head to C channels, M 3x3 body layers of C, a 3x3 tail to
	// scale² channels, depth-to-space. Named ecb-m<M>c<C>; the tail's
	// width is set by the scale (see Preset).
	"ecb-m4c16": lrStack(4, 16),
	"ecb-m4c24": lrStack(4, 24),
	"ecb-m4c32": lrStack(4, 32),
	"ecb-m6c16": lrStack(6, 16),
	// Real-ESRGAN compact's width (64) at six body layers: 14,472
	// multiply-adds per output pixel at x4, under the Detailed look's cap
	// of 20,000. Cheap to train with the AVX kernels (a generator this size
	// costs a GAN step little beside the discriminator), but twenty times
	// ecb-m4c16's cost in the page, for no better NIQE (model card, session 21).
	"ecb-m6c64": lrStack(6, 64),
	// Deeper and narrower for about ecb-m4c16's cost: a receptive field of
	// 19 input pixels instead of 13, for artifacts that span JPEG blocks.
	"ecb-m7c12": lrStack(7, 12),
	// The degradation estimator: five 3x3 layers of 8 channels on the
	// low-resolution Y, two outputs per pixel: how degraded the image looks
	// there, and how much that pixel's reading counts (see
	// core.EstimateStrength). Trained with -estimator.
	"estimator-c8": {Preset: "estimator-c8", Channels: 1, Shuffle: 1, Estimator: true,
		Layers: []Layer{{3, 8}, {3, 8}, {3, 8}, {3, 8}, {3, 2}}},
}

// lrStack is an ECBSR-shaped network of m body layers of c channels on Y;
// its tail's width is filled in for a scale by Preset.
func lrStack(m, c int) Config {
	return Config{Preset: fmt.Sprintf("ecb-m%dc%d", m, c), Channels: 1, Shuffle: -1, Layers: thinStack(m+2, c)}
}

// thinStack is n 3x3 layers of `filters` filters ending in one output.
func thinStack(n, filters int) []Layer {
	ls := make([]Layer, n)
	for i := range ls {
		ls[i] = Layer{3, filters}
	}
	ls[n-1].Filters = 1
	return ls
}

// PresetNames lists the preset names in order.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named preset's config for a scale, with residual
// learning as asked.
func Preset(name string, scale int, residual bool) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (known: %v)", name, PresetNames())
	}
	c.Layers = slices.Clone(c.Layers)
	c.Residual = residual
	if c.Shuffle < 0 {
		c.Shuffle = scale
		c.Layers[len(c.Layers)-1].Filters = c.Channels * scale * scale
	}
	return c, nil
}

// LowRes reports whether the network runs at the input's resolution.
func (c Config) LowRes() bool { return c.Shuffle > 0 }

// Validate reports whether the config describes a network this package runs.
func (c Config) Validate() error {
	if c.Channels != 1 && c.Channels != 3 {
		return fmt.Errorf("model: %d channels, want 1 (Y) or 3 (RGB)", c.Channels)
	}
	if len(c.Layers) == 0 || len(c.Layers) > 64 {
		return fmt.Errorf("model: %d layers, want 1 to 64", len(c.Layers))
	}
	for i, l := range c.Layers {
		if l.Size < 1 || l.Size > 15 || l.Size%2 == 0 {
			return fmt.Errorf("model: layer %d has kernel size %d, want an odd size up to 15", i, l.Size)
		}
		if l.Filters < 1 || l.Filters > 1024 {
			return fmt.Errorf("model: layer %d has %d filters, want 1 to 1024", i, l.Filters)
		}
	}
	if c.Strength && (!c.LowRes() || c.Channels != 1) {
		return fmt.Errorf("model: a strength input needs a network on Y at the input's resolution")
	}
	if c.Activation != "" && c.Activation != "prelu" {
		return fmt.Errorf("model: activation %q, want \"\" (ReLU) or prelu", c.Activation)
	}
	if c.Anchor != "" && (c.Anchor != "repeat" || !c.LowRes() || !c.Residual) {
		return fmt.Errorf("model: anchor %q, want \"\" (bicubic) or repeat (a residual network at the input's resolution)", c.Anchor)
	}
	if c.Shuffle < 0 || c.Shuffle > 8 {
		return fmt.Errorf("model: depth-to-space factor %d, want 0 (none) to 8", c.Shuffle)
	}
	if err := c.Sharpen.Check(); err != nil {
		return fmt.Errorf("model: %v", err)
	}
	if c.Estimator {
		if c.Sharpen.Amount > 0 {
			return fmt.Errorf("model: an estimator does not sharpen")
		}
		if c.Channels != 1 || c.Shuffle != 1 || c.Strength || c.Residual || c.Layers[len(c.Layers)-1].Filters != 2 {
			return fmt.Errorf("model: an estimator reads Y at its resolution (depth-to-space 1, no strength, no residual) and gives 2 outputs")
		}
		return nil
	}
	if last, want := c.Layers[len(c.Layers)-1].Filters, c.Channels*max(1, c.Shuffle*c.Shuffle); last != want {
		return fmt.Errorf("model: last layer has %d filters, want %d (the channels times the depth-to-space factor squared)", last, want)
	}
	return nil
}

// Radius is how far, in pixels of the network's input, an output pixel
// sees into it: the halo a tile needs.
func (c Config) Radius() int {
	r := 0
	for _, l := range c.Layers {
		r += l.Size / 2
	}
	return r
}

// MACsPerPixel is the number of multiply-adds per pixel of the network's
// input (the output pixel for a network that runs after bicubic).
func (c Config) MACsPerPixel() int {
	n, in := 0, c.Inputs()
	for _, l := range c.Layers {
		n += in * l.Size * l.Size * l.Filters
		in = l.Filters
	}
	return n
}

// MACsPerOutputPixel is the number of multiply-adds per output pixel.
func (c Config) MACsPerOutputPixel() float64 {
	return float64(c.MACsPerPixel()) / float64(max(1, c.Shuffle*c.Shuffle))
}

// ParamCount is the number of weights, biases and PReLU slopes.
func (c Config) ParamCount() int {
	n := c.MACsPerPixel() + c.biasCount()
	if c.PReLU() {
		n += c.biasCount() - c.Layers[len(c.Layers)-1].Filters
	}
	return n
}

func (c Config) biasCount() int {
	n := 0
	for _, l := range c.Layers {
		n += l.Filters
	}
	return n
}

// Model is a network as a spago module. Weights[i] is [filters][in*size*size]
// and Biases[i] is [filters][1]. A model being trained with
// re-parameterized layers has Branches[i] set for those layers instead: its
// kernel and bias are then the collapse of the branches. A PReLU network
// has Slopes[i] ([filters][1]) for every layer but the last.
type Model struct {
	nn.Module
	Config   Config
	Weights  []*nn.Param
	Biases   []*nn.Param
	Branches []*ECB
	Slopes   []*nn.Param
}

// initialSlope is where PReLU slopes start (PyTorch's default).
const initialSlope = 0.25

// newSlopes returns a PReLU network's slopes at their initial value.
func newSlopes(c Config) []*nn.Param {
	if !c.PReLU() {
		return nil
	}
	var ps []*nn.Param
	for _, l := range c.Layers[:len(c.Layers)-1] {
		a := make([]float32, l.Filters)
		for i := range a {
			a[i] = initialSlope
		}
		ps = append(ps, newParam(a, l.Filters, 1))
	}
	return ps
}

// slope returns layer i's PReLU slopes, nil for ReLU or the last layer.
// Slope returns layer i's PReLU slopes (one per filter), or nil for a
// ReLU network. The last layer has no activation.
func (m *Model) Slope(i int) []float32 { return m.slope(i) }

func (m *Model) slope(i int) []float32 {
	if i >= len(m.Slopes) {
		return nil
	}
	return m.Slopes[i].Value().Data().F32()
}

// NewModel returns a model with He-initialised weights drawn from rng. The
// last layer starts small, so that a residual model starts as bicubic.
func NewModel(c Config, rng *rand.Rand) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	in := c.Inputs()
	for i, l := range c.Layers {
		fanIn := in * l.Size * l.Size
		std := math.Sqrt(2 / float64(fanIn))
		if i == len(c.Layers)-1 {
			std = math.Sqrt(1/float64(fanIn)) * 0.1
		}
		w := make([]float32, l.Filters*fanIn)
		for j := range w {
			w[j] = float32(rng.NormFloat64() * std)
		}
		m.Weights = append(m.Weights, newParam(w, l.Filters, fanIn))
		m.Biases = append(m.Biases, newParam(make([]float32, l.Filters), l.Filters, 1))
		in = l.Filters
	}
	m.Slopes = newSlopes(c)
	return m, nil
}

// NewECBModel returns a model for training whose layers are all
// re-parameterized 3x3 blocks (ECB), drawn from rng; the last starts
// small. Its weights files hold the collapsed plain network.
func NewECBModel(c Config, rng *rand.Rand) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, Weights: make([]*nn.Param, len(c.Layers)), Biases: make([]*nn.Param, len(c.Layers))}
	in := c.Inputs()
	for i, l := range c.Layers {
		if l.Size != 3 {
			return nil, fmt.Errorf("model: layer %d is %dx%d; re-parameterized layers are 3x3", i, l.Size, l.Size)
		}
		gain := 1.0
		if i == len(c.Layers)-1 {
			gain = 0.05
		}
		// The identity branch belongs to the body: in the tail (x4: 16 to
		// 16 channels) it would add the features themselves to the output.
		body := i > 0 && i < len(c.Layers)-1
		m.Branches = append(m.Branches, NewECB(in, l.Filters, body, gain, rng))
		in = l.Filters
	}
	m.Slopes = newSlopes(c)
	return m, nil
}

func newParam(data []float32, rows, cols int) *nn.Param {
	return nn.NewParam(mat.NewDense[float32](mat.WithShape(rows, cols), mat.WithBacking(data)))
}

// reparam reports whether layer i is trained as branches.
func (m *Model) reparam(i int) bool { return i < len(m.Branches) && m.Branches[i] != nil }

// Params lists the parameters, layer by layer: weights before bias, or a
// re-parameterized layer's branch parameters, then its PReLU slopes.
func (m *Model) Params() []*nn.Param {
	var ps []*nn.Param
	for i := range m.Config.Layers {
		if m.reparam(i) {
			ps = append(ps, m.Branches[i].Params()...)
		} else {
			ps = append(ps, m.Weights[i], m.Biases[i])
		}
		if i < len(m.Slopes) {
			ps = append(ps, m.Slopes[i])
		}
	}
	return ps
}

// copyParams returns new parameters holding copies of ps's values.
func copyParams(ps []*nn.Param) []*nn.Param {
	var out []*nn.Param
	for _, p := range ps {
		out = append(out, nn.NewParam(p.Value().(mat.Matrix).Clone()))
	}
	return out
}

// Clone returns a model with copies of m's parameters (without gradients or
// optimizer state).
func (m *Model) Clone() *Model {
	c := &Model{Config: m.Config, Weights: make([]*nn.Param, len(m.Weights)), Biases: make([]*nn.Param, len(m.Biases))}
	c.Config.Layers = slices.Clone(m.Config.Layers)
	for i := range m.Config.Layers {
		if m.reparam(i) {
			c.Branches = append(c.Branches, m.Branches[i].Clone())
			continue
		}
		if m.Branches != nil {
			c.Branches = append(c.Branches, nil)
		}
		c.Weights[i] = nn.NewParam(m.Weights[i].Value().(mat.Matrix))
		c.Biases[i] = nn.NewParam(m.Biases[i].Value().(mat.Matrix))
	}
	c.Slopes = copyParams(m.Slopes)
	return c
}

// Forward builds the autograd graph of the network over a batch of inputs
// x ([channels][batch*h*w]) and returns its output: for a network after
// bicubic, the output image (with the input added for a residual one); for
// a low-resolution network, its last layer's Maps before depth-to-space
// (the caller adds the anchor).
func (m *Model) Forward(x mat.Tensor, batch, h, w int) mat.Tensor {
	y := x
	for i, l := range m.Config.Layers {
		wt, b := mat.Tensor(m.Weights[i]), mat.Tensor(m.Biases[i])
		if m.reparam(i) {
			wt, b = m.Branches[i].Weight(), m.Branches[i].Bias()
		}
		y = Conv2D(y, wt, b, batch, h, w, l.Size)
		switch {
		case i == len(m.Config.Layers)-1:
		case m.Config.PReLU():
			y = PReLU(y, m.Slopes[i])
		default:
			y = ReLU(y)
		}
	}
	if m.Config.Residual && !m.Config.LowRes() {
		y = ag.Add(y, x)
	}
	return y
}

// Kernel returns layer i's weights ([filters][in*size*size]) and bias as
// plain slices: a re-parameterized layer's collapse.
func (m *Model) Kernel(i int) (w, b []float32) {
	if m.reparam(i) {
		return m.Branches[i].Collapse()
	}
	return m.Weights[i].Value().Data().F32(), m.Biases[i].Value().Data().F32()
}

// Plain returns the model as plain convolutions: re-parameterized layers
// collapsed into their kernels. A plain model is returned as it is.
func (m *Model) Plain() *Model {
	if m.Branches == nil {
		return m
	}
	p := &Model{Config: m.Config}
	p.Config.Layers = slices.Clone(m.Config.Layers)
	for i, l := range m.Config.Layers {
		w, b := m.Kernel(i)
		p.Weights = append(p.Weights, newParam(slices.Clone(w), l.Filters, len(w)/l.Filters))
		p.Biases = append(p.Biases, newParam(slices.Clone(b), l.Filters, 1))
	}
	p.Slopes = copyParams(m.Slopes)
	return p
}

// layers returns the parameters as plain slices for inference.
func (m *Model) layers() []convLayer {
	ls := make([]convLayer, len(m.Config.Layers))
	in := m.Config.Inputs()
	for i, l := range m.Config.Layers {
		w, b := m.Kernel(i)
		ls[i] = convLayer{in: in, out: l.Filters, k: l.Size, weight: w, bias: b, slope: m.slope(i)}
		in = l.Filters
	}
	return ls
}
