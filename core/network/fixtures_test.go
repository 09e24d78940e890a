package network

import (
	"math/rand/v2"
	"testing"
)

// Tiny networks after bicubic, on Y and on RGB.
var (
	tinyY   = Config{Preset: "tiny-y", Channels: 1, Residual: true, Layers: []Layer{{5, 8}, {1, 4}, {3, 1}}}
	tinyRGB = Config{Preset: "tiny-rgb", Channels: 3, Layers: []Layer{{3, 8}, {3, 3}}}
)

// smallModel is a model of cfg whose last layer has full-size weights, so
// that its output matters (NewModel starts it near zero).
func smallModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := NewModel(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	last := m.Weights[len(m.Weights)-1].Value().Data().F32()
	for i := range last {
		last[i] *= 10
	}
	return m
}
