package main

import (
	"io"

	"github.com/srcnn-web/upscaler/core/training"
)

// runPlot redraws a run's curves from its CSV log.
func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", "RUN.csv OUT.png", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want a CSV log and a PNG to write")
	}
	return training.PlotCurves(fs.Arg(0), fs.Arg(1))
}
