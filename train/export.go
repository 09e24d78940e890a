package main

import (
	"fmt"
	"io"

	"github.com/srcnn-web/upscaler/core/imaging"
	"github.com/srcnn-web/upscaler/core/network"
	"github.com/srcnn-web/upscaler/core/training"
)

// runExport writes a weights file: a checkpoint's current weights with its
// run's record, to ship a step that was picked by eye or by other measures
// than the run's own validation; or a weights file again. Either way
// -sharpen sets the unsharp mask the network applies to its output (the
// x4 Detailed networks' finish, network.Config.Sharpen).
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "-checkpoint FILE | -weights FILE [-sharpen AMOUNT,SIGMA] -out FILE", stderr)
	ckpt := fs.String("checkpoint", "", "the run's checkpoint (train fit -checkpoint)")
	from := fs.String("weights", "", "a weights file, instead of a checkpoint")
	sharpen := fs.String("sharpen", "", "the unsharp mask the network applies to its output, AMOUNT,SIGMA (SIGMA in output pixels; 0,0: none); default: as the checkpoint's or weights file's network does")
	out := fs.String("out", "", "the weights file to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*ckpt == "") == (*from == "") || *out == "" || fs.NArg() > 0 {
		return usagef("name -checkpoint or -weights, and -out, and nothing else")
	}
	set := func(*network.Model) error { return nil }
	if *sharpen != "" {
		var u imaging.UnsharpMask
		if _, err := fmt.Sscanf(*sharpen, "%g,%g", &u.Amount, &u.Sigma); err != nil {
			return usagef("-sharpen %q: want AMOUNT,SIGMA like 0.3,2", *sharpen)
		}
		if err := u.Check(); err != nil {
			return usagef("-sharpen: %v", err)
		}
		set = func(m *network.Model) error {
			m.Config.Sharpen = u
			return m.Config.Validate()
		}
	}
	var err error
	if *ckpt != "" {
		err = training.Export(*ckpt, *out, set, func(s string) {})
	} else {
		err = exportWeights(*from, *out, set)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// exportWeights writes weights file from again as out, with its training
// record, after set has changed its network.
func exportWeights(from, out string, set func(*network.Model) error) error {
	m, wf, err := network.LoadWeightsFile(from)
	if err != nil {
		return err
	}
	if err := set(m); err != nil {
		return err
	}
	return training.WriteAtomic(out, func(w io.Writer) error { return network.SaveWeights(w, m, wf.Scale, wf.Training) })
}
