package network

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The networks of the seeds: on the bicubic enlargement, and at the
// input's resolution.
var (
	seedY  = Config{Preset: "seed-y", Channels: 1, Residual: true, Layers: []Layer{{5, 8}, {1, 4}, {3, 1}}}
	seedLR = Config{Preset: "seed-lr-x3", Channels: 1, Residual: true, Shuffle: 3, Layers: []Layer{{3, 4}, {3, 9}}}
)

// weightsSeeds are weights files of both kinds (after bicubic, version 1;
// at the input's resolution, version 2).
func weightsSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		cfg   Config
		scale int
	}{{seedY, 2}, {seedLR, 3}} {
		m, err := NewModel(c.cfg, rng)
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		if err := SaveWeights(&buf, m, c.scale, TrainingInfo{Steps: 1}); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, buf.Bytes())
	}
	return seeds
}

// FuzzLoadWeights: any bytes load as a valid model or give an error, never
// a panic; a small loaded model runs.
func FuzzLoadWeights(f *testing.F) {
	for _, s := range weightsSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := LoadWeights(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := m.Config.Validate(); err != nil {
			t.Fatalf("loaded an invalid config: %v", err)
		}
		if m.Config.MACsPerPixel() > 1<<16 || m.Config.Radius() > 16 {
			return // valid, but too slow to run here
		}
		const h, w = 2, 3
		out := m.Infer(make([]float32, m.Config.Inputs()*h*w), h, w)
		want := h * w * m.Config.Channels * max(1, m.Config.Shuffle*m.Config.Shuffle)
		if len(out) != want {
			t.Fatalf("%d outputs for a %dx%d input, want %d", len(out), w, h, want)
		}
	})
}
