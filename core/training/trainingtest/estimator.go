package trainingtest

import (
	"math/rand/v2"
	"testing"

	"github.com/srcnn-web/upscaler/core/network"
)

// ConstantEstimator is a degradation estimator (estimator-c8) that reads
// every image as v: its last layer's weights are zero, its value bias v.
func ConstantEstimator(tb testing.TB, v float32) *network.Model {
	tb.Helper()
	cfg, err := network.Preset("estimator-c8", 2, false)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := network.NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		tb.Fatal(err)
	}
	last := len(m.Weights) - 1
	clear(m.Weights[last].Value().Data().F32())
	m.Biases[last].Value().Data().F32()[0] = v
	m.Biases[last].Value().Data().F32()[1] = 0
	return m
}
