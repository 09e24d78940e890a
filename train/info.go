package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/srcnn-web/upscaler/core/network"
)

// runInfo prints what a weights file holds: the network, its cost and how
// it was trained.
func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", "FILE...", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one weights file")
	}
	for _, path := range fs.Args() {
		m, wf, err := network.LoadWeightsFile(path)
		if err != nil {
			return err
		}
		c, t := m.Config, wf.Training
		var layers []string
		in := c.Channels
		for _, l := range c.Layers {
			layers = append(layers, fmt.Sprintf("%dx%d %d->%d", l.Size, l.Size, in, l.Filters))
			in = l.Filters
		}
		channels := "Y"
		if c.Channels == 3 {
			channels = "RGB"
		}
		runs := "after bicubic enlargement"
		if c.LowRes() {
			runs = fmt.Sprintf("at the input's resolution, depth-to-space by %d", c.Shuffle)
			switch {
			case c.RepeatAnchor():
				runs += ", repeated-input anchor"
			case c.Residual:
				runs += ", bicubic anchor"
			}
		}
		if c.PReLU() {
			runs += ", PReLU"
		}
		fmt.Fprintf(stdout, "%s\n  preset      %s (%s, residual %v)\n  runs        %s\n  layers      %s\n  parameters  %d\n  cost        %.0f multiply-adds (%.0f FLOPs) per output pixel\n  scale       x%d\n",
			path, c.Preset, channels, c.Residual, runs, strings.Join(layers, ", "), c.ParamCount(), c.MACsPerOutputPixel(), 2*c.MACsPerOutputPixel(), wf.Scale)
		if u := c.Sharpen; u.Radius() > 0 {
			fmt.Fprintf(stdout, "  sharpens    its output: unsharp mask %.2f, sigma %g output pixels (%d more multiply-adds per output pixel)\n", u.Amount, u.Sigma, 2*(2*u.Radius()+1))
		}
		// The validation score: PSNR-Y, or for an adversarial run (-gan)
		// its negated NIQE, or for an estimator its negated mean error; with
		// -val-pairs the mean of -val's and the pairs'.
		score := fmt.Sprintf("%.3f dB PSNR-Y", t.ValPSNR)
		switch {
		case c.Estimator:
			score = fmt.Sprintf("mean error %.3f", -t.ValPSNR)
		case strings.Contains(t.Command, " -gan "):
			score = fmt.Sprintf("NIQE %.3f", -t.ValPSNR)
		}
		if !c.Estimator && strings.Contains(t.Command, " -val-pairs ") {
			score = "mean " + score + " with -val-pairs"
		}
		if t.Exported {
			score = fmt.Sprintf("not scored: step %d exported from its checkpoint", t.Steps)
		} else {
			score += " at the end"
		}
		fmt.Fprintf(stdout, "  data        %s\n  validation  %s (%s)\n  steps       %d (%.1f epochs of the data's pixels)\n  wall time   %s\n  command     %s\n",
			strings.Join(t.Data, ", "), t.Val, score, t.Steps, t.Epochs, t.WallTime.Round(1e9), t.Command)
	}
	return nil
}
