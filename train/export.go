package main

import (
	"fmt"
	"io"

	"github.com/srcnn-web/upscaler/core/training"
)

// runExport writes a checkpoint's current weights as a weights file, with
// its run's record: to ship a step that was picked by eye or by other
// measures than the run's own validation.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "-checkpoint FILE -out FILE", stderr)
	ckpt := fs.String("checkpoint", "", "the run's checkpoint (train fit -checkpoint)")
	out := fs.String("out", "", "the weights file to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ckpt == "" || *out == "" || fs.NArg() > 0 {
		return usagef("name -checkpoint and -out, and nothing else")
	}
	if err := training.Export(*ckpt, *out, func(s string) {}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}
