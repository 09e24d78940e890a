package network

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"time"

	"github.com/nlpodyssey/spago/mat"
)

// A weights file is the magic line, then a gob-encoded envelope holding the
// format version, a CRC-32 of the body and the body: a gob-encoded
// WeightsFile. Readers check all of it before they build a model.

// WeightsMagic starts every weights file.
const WeightsMagic = "SRCNN-GOB\n"

// WeightsVersion is the newest format version this build reads. Version 1
// holds networks that run after bicubic enlargement; version 2, written
// only for networks at the input's resolution (Config.Shuffle), adds them;
// version 3, written only for networks with PReLU or the repeated-input
// anchor (Config.Activation, Config.Anchor), adds those; version 4,
// written only for networks that sharpen their output (Config.Sharpen),
// adds that.
const WeightsVersion = 4

// maxWeightsBytes bounds the body a reader accepts (the largest preset is
// well under 1 MiB).
const maxWeightsBytes = 64 << 20

// TrainingInfo records how weights were made.
type TrainingInfo struct {
	Data     []string      // training folders
	Val      string        // validation folder
	Command  string        // the command line
	Steps    int           // optimizer steps
	Epochs   float64       // passes over the training images' area
	WallTime time.Duration // training time
	ValPSNR  float64       // validation PSNR-Y in dB at the end
	Exported bool          // a checkpoint's step written by training.Export, not the run's pick by validation (ValPSNR unset)
}

// WeightsFile is what a weights file stores.
type WeightsFile struct {
	Config   Config
	Scale    int
	Training TrainingInfo
	Weights  [][]float32
	Biases   [][]float32
	Slopes   [][]float32 // PReLU's, for every layer but the last
}

type envelope struct {
	Version int
	CRC     uint32
	Body    []byte
}

// SaveWeights writes m, trained for scale, with its training record.
func SaveWeights(w io.Writer, m *Model, scale int, info TrainingInfo) error {
	f := WeightsFile{Config: m.Config, Scale: scale, Training: info}
	for i := range m.Config.Layers {
		w, b := m.Kernel(i)
		f.Weights = append(f.Weights, append([]float32(nil), w...))
		f.Biases = append(f.Biases, append([]float32(nil), b...))
		if a := m.slope(i); a != nil {
			f.Slopes = append(f.Slopes, append([]float32(nil), a...))
		}
	}
	// Older builds cannot run what a newer version adds: they refuse it.
	version := 1
	switch {
	case m.Config.Sharpen.Amount > 0:
		version = 4
	case m.Config.Activation != "" || m.Config.Anchor != "":
		version = 3
	case m.Config.LowRes():
		version = 2
	}
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(&f); err != nil {
		return err
	}
	if _, err := io.WriteString(w, WeightsMagic); err != nil {
		return err
	}
	return gob.NewEncoder(w).Encode(&envelope{Version: version, CRC: crc32.ChecksumIEEE(body.Bytes()), Body: body.Bytes()})
}

// ErrNotWeights is returned for a file that is not a weights file at all.
var ErrNotWeights = errors.New("not a weights file")

// LoadWeights reads and checks a weights file and returns its model, the
// scale it was trained for, and its training record.
func LoadWeights(r io.Reader) (*Model, *WeightsFile, error) {
	magic := make([]byte, len(WeightsMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != WeightsMagic {
		return nil, nil, ErrNotWeights
	}
	var env envelope
	if err := gob.NewDecoder(io.LimitReader(r, maxWeightsBytes)).Decode(&env); err != nil {
		return nil, nil, fmt.Errorf("weights file is truncated or corrupt: %v", err)
	}
	if env.Version > WeightsVersion {
		return nil, nil, fmt.Errorf("weights file has format version %d; this build reads up to version %d", env.Version, WeightsVersion)
	}
	if env.Version < 1 {
		return nil, nil, fmt.Errorf("weights file has an invalid format version %d", env.Version)
	}
	if crc32.ChecksumIEEE(env.Body) != env.CRC {
		return nil, nil, errors.New("weights file is corrupt: checksum mismatch")
	}
	var f WeightsFile
	if err := gob.NewDecoder(bytes.NewReader(env.Body)).Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("weights file is corrupt: %v", err)
	}
	m, err := f.Model()
	if err != nil {
		return nil, nil, err
	}
	return m, &f, nil
}

// Model checks the stored shapes against the config and builds the model.
func (f *WeightsFile) Model() (*Model, error) {
	if err := f.Config.Validate(); err != nil {
		return nil, fmt.Errorf("weights file: %v", err)
	}
	if f.Scale < 2 || f.Scale > 4 {
		return nil, fmt.Errorf("weights file: scale %d, want 2, 3 or 4", f.Scale)
	}
	if f.Config.LowRes() && !f.Config.Estimator && f.Config.Shuffle != f.Scale { // an estimator reads images of any scale
		return nil, fmt.Errorf("weights file: a x%d network that rearranges its output by %d", f.Scale, f.Config.Shuffle)
	}
	c := f.Config
	if len(f.Weights) != len(c.Layers) || len(f.Biases) != len(c.Layers) {
		return nil, fmt.Errorf("weights file: %d weight and %d bias arrays for %d layers", len(f.Weights), len(f.Biases), len(c.Layers))
	}
	m := &Model{Config: c}
	in := c.Inputs()
	for i, l := range c.Layers {
		fanIn := in * l.Size * l.Size
		if len(f.Weights[i]) != l.Filters*fanIn || len(f.Biases[i]) != l.Filters {
			return nil, fmt.Errorf("weights file: layer %d has %d weights and %d biases, its config wants %d and %d",
				i, len(f.Weights[i]), len(f.Biases[i]), l.Filters*fanIn, l.Filters)
		}
		for _, v := range append(f.Weights[i][:len(f.Weights[i]):len(f.Weights[i])], f.Biases[i]...) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("weights file: layer %d holds a NaN or infinite value", i)
			}
		}
		m.Weights = append(m.Weights, newParam(append([]float32(nil), f.Weights[i]...), l.Filters, fanIn))
		m.Biases = append(m.Biases, newParam(append([]float32(nil), f.Biases[i]...), l.Filters, 1))
		in = l.Filters
	}
	if want := len(c.Layers) - 1; c.PReLU() != (len(f.Slopes) > 0) || (c.PReLU() && len(f.Slopes) != want) {
		return nil, fmt.Errorf("weights file: %d slope arrays for activation %q of %d layers", len(f.Slopes), c.Activation, len(c.Layers))
	}
	for i, a := range f.Slopes {
		if len(a) != c.Layers[i].Filters {
			return nil, fmt.Errorf("weights file: layer %d has %d PReLU slopes, want %d", i, len(a), c.Layers[i].Filters)
		}
		for _, v := range a {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("weights file: layer %d holds a NaN or infinite slope", i)
			}
		}
		m.Slopes = append(m.Slopes, newParam(append([]float32(nil), a...), len(a), 1))
	}
	return m, nil
}

// ParamData returns the model's parameters as plain slices, in Params order.
func (m *Model) ParamData() [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		out = append(out, p.Value().(mat.Matrix).Data().F32())
	}
	return out
}

// LoadWeightsFile reads a weights file, naming it in any error.
func LoadWeightsFile(path string) (*Model, *WeightsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	m, wf, err := LoadWeights(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return m, wf, nil
}
