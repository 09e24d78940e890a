package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// Layer is one convolution of a network: a Size x Size kernel (odd) and its
// number of output Filters.
type Layer struct {
	Size    int
	Filters int
}

// Config describes a network: its convolutions in order (ReLU between
// them), the image channels it works on (1: Y, 3: RGB), and whether it
// learns a residual (output = pre-upsampled input + network output).
type Config struct {
	Preset   string
	Layers   []Layer
	Channels int
	Residual bool
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

// Preset returns the named preset's config, with residual learning as asked.
func Preset(name string, residual bool) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (known: %v)", name, PresetNames())
	}
	c.Layers = slices.Clone(c.Layers)
	c.Residual = residual
	return c, nil
}

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
	if last := c.Layers[len(c.Layers)-1].Filters; last != c.Channels {
		return fmt.Errorf("model: last layer has %d filters, want %d (the channels)", last, c.Channels)
	}
	return nil
}

// Radius is how far, in pixels, an output pixel sees into its input: the
// halo a tile needs.
func (c Config) Radius() int {
	r := 0
	for _, l := range c.Layers {
		r += l.Size / 2
	}
	return r
}

// MACsPerPixel is the number of multiply-adds per output pixel.
func (c Config) MACsPerPixel() int {
	n, in := 0, c.Channels
	for _, l := range c.Layers {
		n += in * l.Size * l.Size * l.Filters
		in = l.Filters
	}
	return n
}

// ParamCount is the number of weights and biases.
func (c Config) ParamCount() int {
	return c.MACsPerPixel() + c.biasCount()
}

func (c Config) biasCount() int {
	n := 0
	for _, l := range c.Layers {
		n += l.Filters
	}
	return n
}

// Model is an SRCNN as a spago module. Weights[i] is [filters][in*size*size]
// and Biases[i] is [filters][1].
type Model struct {
	nn.Module
	Config  Config
	Weights []*nn.Param
	Biases  []*nn.Param
}

// NewModel returns a model with He-initialised weights drawn from rng. The
// last layer starts small, so that a residual model starts as bicubic.
func NewModel(c Config, rng *rand.Rand) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	in := c.Channels
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
	return m, nil
}

func newParam(data []float32, rows, cols int) *nn.Param {
	return nn.NewParam(mat.NewDense[float32](mat.WithShape(rows, cols), mat.WithBacking(data)))
}

// Params lists the parameters, layer by layer, weights before bias.
func (m *Model) Params() []*nn.Param {
	var ps []*nn.Param
	for i := range m.Weights {
		ps = append(ps, m.Weights[i], m.Biases[i])
	}
	return ps
}

// Clone returns a model with copies of m's parameters (without gradients or
// optimizer state).
func (m *Model) Clone() *Model {
	c := &Model{Config: m.Config}
	c.Config.Layers = slices.Clone(m.Config.Layers)
	for i := range m.Weights {
		c.Weights = append(c.Weights, nn.NewParam(m.Weights[i].Value().(mat.Matrix)))
		c.Biases = append(c.Biases, nn.NewParam(m.Biases[i].Value().(mat.Matrix)))
	}
	return c
}

// Forward builds the autograd graph of the network over a batch of
// pre-upsampled inputs x ([channels][batch*h*w]) and returns its output.
func (m *Model) Forward(x mat.Tensor, batch, h, w int) mat.Tensor {
	y := x
	for i, l := range m.Config.Layers {
		y = Conv2D(y, m.Weights[i], m.Biases[i], batch, h, w, l.Size)
		if i < len(m.Config.Layers)-1 {
			y = ReLU(y)
		}
	}
	if m.Config.Residual {
		y = ag.Add(y, x)
	}
	return y
}

// layers returns the parameters as plain slices for inference.
func (m *Model) layers() []convLayer {
	ls := make([]convLayer, len(m.Config.Layers))
	in := m.Config.Channels
	for i, l := range m.Config.Layers {
		ls[i] = convLayer{in: in, out: l.Filters, k: l.Size,
			weight: m.Weights[i].Value().Data().F32(), bias: m.Biases[i].Value().Data().F32()}
		in = l.Filters
	}
	return ls
}
